// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Signed Debian repository metadata: fetches dists/SUITE/InRelease (or Release + Release.gpg),
/// verifies its signature against the repository's keyring, and fetches the Packages indexes of
/// the requested components for one architecture (plus binary-all when the archive keeps arch:all
/// packages apart), each checked against the sha256 the signed Release lists before it is used.
/// Everything is cached under CACHE/metadata/<mirror>/ with ETag/Last-Modified beside each file;
/// a new InRelease (or Release and Release.gpg) is downloaded beside the cached one and replaces
/// it only once its signature, its Valid-Until and the Packages indexes it lists checked out.
/// Offline, only that cache is read.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "profiles/profile.h"
#include "repo/fetch.h"
#include "repo/openpgp.h"

namespace imager::repo {

/// The fields of a Release file that resolution needs.
struct ReleaseInfo {
  std::string origin, label, suite, codename, date, valid_until;
  int64_t date_unix = -1;  // -1 when absent
  int64_t valid_until_unix = -1;
  std::vector<std::string> architectures, components;
  bool acquire_by_hash = false;
  bool all_in_arch_indexes = false;  // "No-Support-for-Architecture-all: Packages"
  struct File {
    std::string sha256;
    int64_t size = -1;
  };
  std::map<std::string, File> files;  // the SHA256 list: path below dists/SUITE/ -> hash, size
};

/// Parses Release text (the signed content of InRelease, or Release); `origin` names it in errors.
Result<ReleaseInfo> ParseRelease(std::string_view text, const std::string& origin);

/// "Sat, 10 Jun 2023 08:37:11 UTC" (RFC 2822 as Release files use it) -> seconds since the epoch.
Result<int64_t> ParseReleaseDate(std::string_view text);

/// One verified Packages index on disk.
struct PackagesIndex {
  std::string component;
  std::string arch;  // the requested architecture, or "all"
  std::string name;  // as the Release lists it, e.g. "main/binary-amd64/Packages.xz"
  std::string path;  // the cached, verified file
  std::string sha256;
  int64_t size = -1;
};

struct DebianMetadata {
  std::string mirror;          // without a trailing '/'
  std::string suite;           // as requested
  std::string release_url;     // of the InRelease (or Release) file that was verified
  std::string release_sha256;  // of that file, as downloaded
  std::string release_path;    // that file in the cache
  std::string signature_path;  // Release.gpg in the cache; "" for InRelease
  ReleaseInfo release;
  std::vector<PackagesIndex> indexes;  // per component: ARCH, then all
};

struct MetadataOptions {
  std::string cache_dir;       // metadata lives in CACHE_DIR/metadata/
  bool offline = false;        // only the cache; a missing file is an error
  Fetcher* fetcher = nullptr;  // required unless offline
  OpenPgpOptions openpgp;
  int64_t now = -1;  // for Valid-Until; -1: the current time
};

/// CACHE_DIR/metadata/<mirror without scheme, '/' -> '_', other odd bytes %XX>.
std::string MetadataDir(const std::string& cache_dir, const std::string& mirror);

/// Where the metadata cache keeps a verified file by its content:
/// CACHE_DIR/metadata/sha256/<first 2 hex>/<hex>. The per-mirror copies are replaced when the
/// mirror changes; these stay, so the exact metadata a lock was solved against remains available
/// (for the installer's offline repository, which ships it verbatim).
std::string MetadataByHash(const std::string& cache_dir, const std::string& sha256);

/// Keeps copies of the signed Release file of `md` (with its Release.gpg, as HASH.gpg) and its
/// Packages indexes under MetadataByHash (once: a file already there is kept).
Status KeepMetadataByHash(const std::string& cache_dir, const DebianMetadata& md);

/// The metadata a lock was solved against, from the cache (offline): the signed Release file
/// whose sha256 is `release_sha256`, verified again with the repository's keyring, and the
/// Packages indexes it lists for the repository's components and `arch` (chosen as
/// FetchDebianMetadata chooses them), each checked against its signed sha256. The file paths
/// point into the cache. An error says which file is missing or different and that
/// 'imager resolve' (or 'imager fetch') refreshes the cache.
Result<DebianMetadata> CachedDebianMetadata(const profiles::Repository& repo,
                                            const std::string& mirror, const std::string& arch,
                                            const std::string& release_url,
                                            const std::string& release_sha256,
                                            const std::string& cache_dir,
                                            const OpenPgpOptions& openpgp = {});

/// Fetches and verifies the metadata of one deb repository (its mirror must be a URL, not
/// "auto") for `arch`. Errors name the URL: a missing suite ("suite X not found at
/// MIRROR/dists/"), a missing component (with the ones the suite has), a bad or missing
/// signature, an unknown key, an expired Release, a Packages file whose sha256 differs from the
/// signed one (both hashes).
Result<DebianMetadata> FetchDebianMetadata(const profiles::Repository& repo,
                                           const std::string& arch, const MetadataOptions& options);

}  // namespace imager::repo
