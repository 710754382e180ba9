// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Lock is the result of resolving a profile, kept as `FILE.lock` beside its `FILE.yaml` (see
/// LockPlaceFor for the other places): the request it
/// answers, the signed metadata it was solved against, and every package in install order with
/// where it comes from and its sha256. The JSON form is stable (keys sorted, 2-space indent,
/// trailing newline), so an unchanged resolution rewrites identical bytes.

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "profiles/profile.h"

namespace imager::repo {

/// What the profile asks for; a lock answers exactly one request.
struct LockRequest {
  std::string family;  // "debian", "rpm"
  std::string arch;
  std::string variant;               // "minbase", ... or "none"
  std::vector<std::string> include;  // sorted, unique
  std::vector<std::string> exclude;  // sorted, unique
  bool recommends = false;
  struct Repo {
    std::string type;  // "deb", "rpm-md"
    std::string suite;
    std::vector<std::string> components;
    bool operator==(const Repo&) const = default;
  };
  std::vector<Repo> repositories;      // mirrors are not part of the request: any mirror will do
  std::vector<std::string> tools;      // the tools tree's packages (profiles::ToolPackages), sorted
  std::vector<std::string> installer;  // the installer layer's (profiles::InstallerPackages)
  std::vector<std::string> offline;    // installer.offline_packages, sorted, unique
  bool operator==(const LockRequest&) const = default;
};

/// The metadata of one repository at the time of solving.
struct LockedRepository {
  std::string url;  // the mirror (deb) or repository URL (rpm-md)
  std::string suite;
  std::string date;     // the Release's Date (an HTTP date), or repomd's newest timestamp (seconds)
  std::string release;  // URL of the signed file that was verified (InRelease, repomd.xml)
  std::string sha256;   // of that file
};

struct LockedPackage {
  std::string name;
  std::string version;
  std::string arch;
  std::string url;
  std::string sha256;
  int64_t size = -1;
};

struct Lock {
  int version = 1;
  LockRequest request;
  std::vector<LockedRepository> repositories;
  std::vector<LockedPackage> packages;  // install order
  std::vector<LockedPackage> tools;     // the tools tree's packages, with their dependencies
  /// The installer layer on top of the target: what installing request.installer into a system
  /// of `packages` adds, in install order.
  std::vector<LockedPackage> installer;
  /// The installer's offline repository: each of request.offline with what it needs beyond
  /// `packages` (each solved on its own: they may conflict with each other).
  std::vector<LockedPackage> offline;

  int64_t TotalSize() const;
};

/// The request a profile makes (include/exclude sorted and made unique; an installer's target
/// packages, profiles::InstallerTargetPackages, are part of include).
LockRequest RequestOf(const profiles::Profile& profile);

/// Where a profile's lock file is: the one rule every verb (resolve, fetch, build, its plan)
/// uses, for reading (--locked) as for writing.
struct LockPlace {
  std::string path;
  std::string note;  // when the lock is not beside the profile because it cannot be: why
};

struct LockPlaceOptions {
  std::string explicit_path;  // --lock PATH: used as given
  std::string out_dir;        // the build's output directory: the place when the profile's is
                              // not writable
  /// Whether a directory is writable; access(W_OK) when null (tests give their own: root
  /// passes access() on read-only directories).
  bool (*writable)(const std::string& dir) = nullptr;
};

/// --lock PATH when given; else DIR/STEM.lock beside the profile's file DIR/STEM.yaml; when DIR
/// is not writable (a shipped profile under /usr/share, a read-only checkout),
/// OUT_DIR/STEM.lock, and `note` says so.
LockPlace LockPlaceFor(const profiles::Profile& profile, const LockPlaceOptions& o);

std::string LockToJson(const Lock& lock);
Result<Lock> ParseLock(const std::string& text, const std::string& origin);
Result<Lock> ReadLock(const std::string& path);
/// Writes atomically: a temporary file beside PATH, fsynced, renamed over it.
Status WriteLock(const std::string& path, const Lock& lock);

/// OK when `lock` answers `request`; else an error listing every field that differs, with the
/// lock's and the profile's values.
Status Matches(const Lock& lock, const LockRequest& request);

}  // namespace imager::repo
