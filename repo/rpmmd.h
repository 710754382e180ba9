// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Signed rpm-md repository metadata: fetches repodata/repomd.xml, verifies its detached
/// repomd.xml.asc against the repository keyring when gpgcheck is on, and fetches the primary
/// index (and the comps groups when the repository has them, the file lists when a file
/// dependency needs them), each checked against the sha256 repomd.xml lists before it is used;
/// then loads them into a Pool (repo_add_rpmmd / repo_add_comps) and expands `@group` names of a
/// request into the group's packages as dnf does. Files are cached under
/// CACHE/metadata/<url>/repodata/; offline, only that cache is read.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "profiles/profile.h"
#include "repo/debian.h"
#include "repo/solver.h"

namespace imager::repo {

/// One <data> entry of repomd.xml.
struct RpmMdFile {
  std::string type;      // "primary", "group", "group_gz", ...
  std::string location;  // href, relative to the repository URL
  std::string sha256;
  int64_t size = -1;
  std::string path;  // the cached, verified file (set once fetched)
};

/// The parts of repomd.xml resolution needs.
struct RepoMd {
  std::string revision;
  /// The newest <timestamp> of its files (Unix time; createrepo_c writes the files' mtimes):
  /// when the repository last changed, the rpm-md counterpart of a Release's Date. -1: none.
  int64_t timestamp = -1;
  std::vector<RpmMdFile> files;
  const RpmMdFile* Find(std::string_view type) const;
};

/// Parses repomd.xml text; `origin` names it in errors. Only sha256 checksums are accepted.
Result<RepoMd> ParseRepoMd(std::string_view text, const std::string& origin);

struct RpmMdMetadata {
  std::string url;            // the repository URL, without a trailing '/'
  std::string repomd_url;     // of the repomd.xml that was verified (or taken unsigned)
  std::string repomd_sha256;  // of that file, as downloaded
  RepoMd repomd;
  RpmMdFile primary;
  std::optional<RpmMdFile> comps;
  std::optional<RpmMdFile> filelists;  // fetched by AddFileListsWhenNeeded
};

/// Fetches and verifies the metadata of one rpm-md repository. Errors name the URL: a missing
/// repomd.xml, a missing or bad repomd.xml.asc (gpgcheck on), no primary entry, an index whose
/// sha256 differs from the one repomd.xml lists (both hashes).
Result<RpmMdMetadata> FetchRpmMdMetadata(const profiles::Repository& repo,
                                         const MetadataOptions& options);

/// Loads the primary index (and comps) into POOL; packages download from URL/location.
Status AddRpmMd(Pool& pool, const RpmMdMetadata& md);

/// Loads the file lists of the repositories of MDS (fetched, verified and cached like primary)
/// when the primary indexes leave a file without a provider that a package depends on or that
/// INCLUDE names: primary lists only /etc/*, *bin/* and /usr/lib/sendmail, and dnf knows every
/// file. A repository without filelists is left as it is.
Status AddFileListsWhenNeeded(Pool& pool, std::vector<RpmMdMetadata>& mds,
                              const std::vector<std::string>& include,
                              const MetadataOptions& options);

/// Replaces every "@group" of NAMES (a comps id or name) with what `dnf install @group` installs:
/// the mandatory and default packages, and each conditional one as "(pkg if condition)";
/// "@group --optional" adds the optional packages (dnf's group_package_types with optional).
/// A member no package is named after is left out with a warning, as dnf does; an unknown group
/// fails, naming it and close group ids.
Result<std::vector<std::string>> ExpandGroups(Pool& pool, const std::vector<std::string>& names,
                                              std::vector<std::string>* warnings = nullptr);

}  // namespace imager::repo
