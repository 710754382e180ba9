// SPDX-License-Identifier: GPL-3.0-or-later
#include "sandbox/cachefs_check.h"

#include <libmount.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "base/strings.h"

namespace imager::sandbox {
namespace {

struct TableFree {
  void operator()(libmnt_table* t) const { mnt_unref_table(t); }
};
struct IterFree {
  void operator()(libmnt_iter* i) const { mnt_free_iter(i); }
};

// Whether mount point TARGET holds DIR: equal, or a directory above it.
bool Holds(const std::string& target, const std::string& dir) {
  if (target == "/") return true;
  return dir == target || (dir.starts_with(target) && dir[target.size()] == '/');
}

bool Has(const MountEntry& m, const std::string& option) {
  return std::find(m.vfs_options.begin(), m.vfs_options.end(), option) != m.vfs_options.end();
}

// Filesystems overlayfs cannot take as an upper layer: no trusted/user xattrs or no whiteouts
// (character device 0/0) there.
bool LacksOverlaySupport(const std::string& fstype) {
  for (const char* t : {"nfs", "nfs4", "cifs", "smb3", "9p", "vboxsf", "virtiofs_dax", "fuse"})
    if (fstype == t) return true;
  return fstype.starts_with("fuse.");
}

}  // namespace

Result<MountEntry> MountHolding(const std::string& mountinfo, const std::string& dir) {
  std::unique_ptr<libmnt_table, TableFree> table(mnt_new_table_from_file(mountinfo.c_str()));
  if (!table) return Error{"read the mount table " + mountinfo + ": cannot parse it"};
  std::unique_ptr<libmnt_iter, IterFree> it(mnt_new_iter(MNT_ITER_FORWARD));
  libmnt_fs* fs = nullptr;
  std::optional<MountEntry> best;
  while (mnt_table_next_fs(table.get(), it.get(), &fs) == 0) {
    const char* target = mnt_fs_get_target(fs);
    if (!target || !Holds(target, dir)) continue;
    if (best && std::string(target).size() < best->target.size()) continue;
    MountEntry m;
    m.target = target;
    if (const char* t = mnt_fs_get_fstype(fs)) m.fstype = t;
    if (const char* s = mnt_fs_get_source(fs)) m.source = s;
    if (const char* o = mnt_fs_get_vfs_options(fs)) m.vfs_options = Split(o, ',');
    best = std::move(m);
  }
  if (!best) return Error{mountinfo + ": no mount holds " + dir};
  return *best;
}

std::vector<CacheFsFinding> JudgeCacheMount(const MountEntry& m) {
  std::vector<CacheFsFinding> out;
  std::string where = m.target + " (" + m.fstype + ")";
  const std::string elsewhere =
      "use --cache-dir (or XDG_CACHE_HOME) on a local filesystem: ext4, xfs, btrfs or tmpfs";
  if (m.fstype == "overlay")
    out.push_back({true,
                   "the cache is on an overlay filesystem, " + where +
                       " (a container's root?): overlayfs refuses an upper directory there "
                       "(upperdir=...: Invalid argument)",
                   elsewhere + "; in a container, a volume (podman run -v, VOLUME)"});
  if (LacksOverlaySupport(m.fstype))
    out.push_back({true,
                   "the cache is on " + where +
                       ", which lacks the extended attributes or whiteouts overlayfs needs in "
                       "an upper directory",
                   elsewhere});
  for (const auto& [flag, what] :
       {std::pair{"noexec", "the tools tree's programs cannot be run from the cache"},
        std::pair{"nosuid", "set-id programs in a cached layer do not change ids when run there"},
        std::pair{"nodev", "device nodes in a cached layer cannot be opened there"}})
    if (Has(m, flag))
      out.push_back({std::string(flag) == "noexec",
                     "the cache's filesystem " + where + " is mounted " + flag + ": " + what,
                     elsewhere + " mounted without " + flag});
  return out;
}

}  // namespace imager::sandbox
