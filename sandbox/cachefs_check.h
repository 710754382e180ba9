// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// What the filesystem under the cache directory will refuse, known before a build: the mount
/// that holds the directory is found in the mount table (read with libmount) and judged — an
/// overlay (a container's root: overlayfs refuses an upper directory there), nosuid / nodev /
/// noexec, and filesystems without the xattrs and whiteouts overlayfs needs (NFS, CIFS, FUSE).

#include <string>
#include <vector>

#include "base/result.h"

namespace imager::sandbox {

struct MountEntry {
  std::string target;  // mount point
  std::string fstype;  // "ext4", "overlay", "fuse.sshfs", ...
  std::string source;
  std::vector<std::string> vfs_options;  // per-mount flags: rw, nosuid, nodev, noexec, ...
};

/// The mount whose mount point is the longest prefix of DIR (absolute; the last such entry of
/// the table when one mount covers another), from the mountinfo file MOUNTINFO.
Result<MountEntry> MountHolding(const std::string& mountinfo, const std::string& dir);

/// One finding about the cache's filesystem; `fail` when builds cannot work there.
struct CacheFsFinding {
  bool fail = false;
  std::string detail;
  std::string hint;
};

/// Every problem of MOUNT for a cache (none: fine).
std::vector<CacheFsFinding> JudgeCacheMount(const MountEntry& mount);

}  // namespace imager::sandbox
