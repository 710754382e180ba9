// SPDX-License-Identifier: GPL-3.0-or-later
// The mount executor on the kernel's file-descriptor mount API (fsopen/fsmount/open_tree/
// move_mount/mount_setattr, Linux >= 5.12): every target is an fd opened with RESOLVE_IN_ROOT, so
// a symlink planted in an image cannot redirect a mount onto the host.
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include "base/fd.h"
#include "base/strings.h"
#include "sandbox/mount_exec.h"

namespace imager::sandbox {
namespace {

constexpr const char* kBase = "/tmp";  // any host directory; shadowed only in our namespace
constexpr const char* kNewRoot = "/newroot";
constexpr const char* kOldRoot = "/oldroot";

int SysMount(const char* src, const char* dst, const char* type, unsigned long flags,
             const void* data) {
  return static_cast<int>(syscall(SYS_mount, src, dst, type, flags, data));
}
// <sys/mount.h> and <linux/mount.h> conflict on glibc 2.36; umount2 goes through syscall too.
constexpr int kMntDetach = 2;
int SysUmountDetach(const char* path) {
  return static_cast<int>(syscall(SYS_umount2, path, kMntDetach));
}
int FsOpen(const char* fs) { return static_cast<int>(syscall(SYS_fsopen, fs, FSOPEN_CLOEXEC)); }
int FsConfig(int fd, unsigned cmd, const char* key, const char* value) {
  return static_cast<int>(syscall(SYS_fsconfig, fd, cmd, key, value, 0));
}
int FsMount(int fd, unsigned attrs) {
  return static_cast<int>(syscall(SYS_fsmount, fd, FSMOUNT_CLOEXEC, attrs));
}
int OpenTree(const char* path, unsigned flags) {
  return static_cast<int>(syscall(SYS_open_tree, AT_FDCWD, path, flags));
}
int MoveMountToFd(int from, int to) {
  return static_cast<int>(
      syscall(SYS_move_mount, from, "", to, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
}
int SetReadOnly(int fd, bool recursive) {
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY;
  unsigned flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
  return static_cast<int>(syscall(SYS_mount_setattr, fd, "", flags, &attr, sizeof attr));
}

class Executor {
 public:
  explicit Executor(std::string* err) : err_(err) {}

  bool Fail(const std::string& what, int e = errno) {
    *err_ = what + ": " + strerror(e);
    return false;
  }

  // Opens `path` (inside the new root) as an O_PATH fd without leaving the root, creating it
  // (directories along the way, then a directory or an empty file) when `create` is set.
  UniqueFd OpenInRoot(const std::string& path, bool create, bool as_dir) {
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    std::string rel =
        path.substr(path.find_first_not_of('/') == std::string::npos ? path.size()
                                                                     : path.find_first_not_of('/'));
    if (rel.empty()) rel = ".";
    int fd = static_cast<int>(syscall(SYS_openat2, root_.get(), rel.c_str(), &how, sizeof how));
    if (fd >= 0 || errno != ENOENT || !create) return UniqueFd(fd);
    size_t slash = rel.rfind('/');
    std::string parent = slash == std::string::npos ? "." : rel.substr(0, slash);
    std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
    UniqueFd pfd = OpenInRoot("/" + parent, true, true);
    if (!pfd.valid()) return pfd;
    // O_PATH fds cannot be used with mkdirat; reopen the parent as a real directory.
    UniqueFd dirfd(openat(pfd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dirfd.valid()) return dirfd;
    if (as_dir) {
      if (mkdirat(dirfd.get(), name.c_str(), 0755) != 0 && errno != EEXIST) return UniqueFd();
    } else {
      UniqueFd f(
          openat(dirfd.get(), name.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644));
      if (!f.valid() && errno != EEXIST) return UniqueFd();
    }
    fd = static_cast<int>(syscall(SYS_openat2, root_.get(), rel.c_str(), &how, sizeof how));
    return UniqueFd(fd);
  }

  bool Attach(int mount_fd, const std::string& target, bool as_dir, const std::string& what) {
    UniqueFd t = OpenInRoot(target, true, as_dir);
    if (!t.valid()) return Fail(what + ": cannot create mount point " + target);
    if (MoveMountToFd(mount_fd, t.get()) != 0) return Fail(what + ": move_mount to " + target);
    return true;
  }

  // A new filesystem instance configured with "key=value" / "flag" options.
  UniqueFd NewFs(const char* type, const std::vector<std::string>& options, unsigned attrs,
                 const std::string& what) {
    UniqueFd fs(FsOpen(type));
    if (!fs.valid()) {
      Fail(what + ": fsopen " + type);
      return fs;
    }
    for (const auto& o : options) {
      size_t eq = o.find('=');
      int rc = eq == std::string::npos
                   ? FsConfig(fs.get(), FSCONFIG_SET_FLAG, o.c_str(), nullptr)
                   : FsConfig(fs.get(), FSCONFIG_SET_STRING, o.substr(0, eq).c_str(),
                              o.substr(eq + 1).c_str());
      if (rc != 0) {
        legacy_lowerdir_ = StartsWith(o, "lowerdir+=") && errno == EINVAL;
        Fail(what + ": option " + (o.size() > 80 ? o.substr(0, 80) + "..." : o));
        return UniqueFd();
      }
    }
    if (FsConfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr) != 0) {
      Fail(what + ": create " + type);
      return UniqueFd();
    }
    UniqueFd m(FsMount(fs.get(), attrs));
    if (!m.valid()) Fail(what + ": fsmount " + type);
    return m;
  }

  UniqueFd CloneTree(const std::string& host_path, bool readonly, const std::string& what) {
    std::string src = kOldRoot + host_path;
    UniqueFd t(OpenTree(src.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
    if (!t.valid()) {
      Fail(what + ": open_tree " + host_path);
      return t;
    }
    if (readonly && SetReadOnly(t.get(), true) != 0) {
      Fail(what + ": make " + host_path + " read-only");
      return UniqueFd();
    }
    return t;
  }

  // fsconfig takes strings of at most 256 bytes: layers are passed one by one with "lowerdir+"
  // (Linux >= 6.8), falling back to one "lowerdir" list on older kernels.
  UniqueFd NewOverlay(const MountOp& op, const std::string& what) {
    std::vector<std::string> lowers;
    for (auto it = op.lowers.rbegin(); it != op.lowers.rend(); ++it)
      lowers.push_back(kOldRoot + *it);  // overlayfs lists the top layer first
    std::vector<std::string> opts;
    for (const auto& l : lowers) opts.push_back("lowerdir+=" + l);
    for (const char* o : {"userxattr", "index=off", "metacopy=off"}) opts.push_back(o);
    if (!op.upper.empty()) {
      opts.push_back("upperdir=" + std::string(kOldRoot) + op.upper);
      opts.push_back("workdir=" + std::string(kOldRoot) + op.work);
    }
    UniqueFd m = NewFs("overlay", opts, MOUNT_ATTR_NODEV, what);
    if (m.valid() || !legacy_lowerdir_) return m;
    opts.erase(opts.begin(), opts.begin() + static_cast<long>(lowers.size()));
    opts.insert(opts.begin(), "lowerdir=" + Join(lowers, ":"));
    return NewFs("overlay", opts, MOUNT_ATTR_NODEV, what);
  }

  bool MountRoot(const MountOp& op) {
    UniqueFd m;
    std::string what = op.Describe();
    if (op.kind == MountOp::Kind::kRootTmpfs)
      m = NewFs("tmpfs", {"mode=0755"}, MOUNT_ATTR_NODEV, what);
    else if (op.kind == MountOp::Kind::kRootBind)
      m = CloneTree(op.source, op.readonly, what);
    else
      m = NewOverlay(op, what);
    if (!m.valid()) return false;
    UniqueFd dir(open(kNewRoot, O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir.valid()) return Fail("open " + std::string(kNewRoot));
    if (MoveMountToFd(m.get(), dir.get()) != 0) return Fail(what + ": move_mount");
    root_.reset(open(kNewRoot, O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root_.valid()) return Fail("open new root");
    return true;
  }

  bool Apply(const MountOp& op) {
    using K = MountOp::Kind;
    const unsigned kSafe = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
    std::string what = op.Describe();
    UniqueFd m;
    bool as_dir = true;
    switch (op.kind) {
      case K::kRootTmpfs:
      case K::kRootBind:
      case K::kRootOverlay:
        return MountRoot(op);
      case K::kOverlay:
        m = NewOverlay(op, what);
        break;
      case K::kTmpfs:
        m = NewFs("tmpfs", Split(op.options, ','), MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, what);
        break;
      case K::kProc:
        m = NewFs("proc", {}, kSafe, what);
        break;
      case K::kSysfs:
        m = NewFs("sysfs", {}, kSafe | MOUNT_ATTR_RDONLY, what);
        break;
      case K::kDevpts:
        m = NewFs("devpts", Split(op.options, ','), MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, what);
        break;
      case K::kBind:
      case K::kDevBind: {
        struct stat st;
        if (stat((kOldRoot + op.source).c_str(), &st) != 0) return Fail(what + ": stat source");
        as_dir = S_ISDIR(st.st_mode);
        m = CloneTree(op.source, op.readonly, what);
        break;
      }
      case K::kSymlink: {
        size_t slash = op.target.rfind('/');
        UniqueFd p = OpenInRoot(op.target.substr(0, slash + 1), true, true);
        UniqueFd d(p.valid() ? openat(p.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1);
        if (!d.valid()) return Fail(what + ": open parent");
        if (symlinkat(op.source.c_str(), d.get(), op.target.substr(slash + 1).c_str()) != 0 &&
            errno != EEXIST)
          return Fail(what);
        return true;
      }
      case K::kRemountRo: {
        UniqueFd t = OpenInRoot(op.target, false, true);
        if (!t.valid()) return Fail(what + ": open");
        // The root's own mount: re-open it as a mount root so the attribute lands on it.
        UniqueFd tree(static_cast<int>(
            syscall(SYS_open_tree, t.get(), "", AT_EMPTY_PATH | OPEN_TREE_CLOEXEC)));
        if (!tree.valid() || SetReadOnly(tree.get(), false) != 0) return Fail(what);
        return true;
      }
    }
    if (!m.valid()) return false;
    return Attach(m.get(), op.target, as_dir, what);
  }

  bool Run(const std::vector<MountOp>& ops) {
    // Nothing we do may propagate back to the host's mounts.
    if (SysMount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      return Fail("make mounts private");
    if (SysMount("tmpfs", kBase, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0)
      return Fail(std::string("mount tmpfs on ") + kBase);
    if (chdir(kBase) != 0) return Fail("chdir base");
    if (mkdir("newroot", 0755) != 0 || mkdir("oldroot", 0755) != 0) return Fail("mkdir base");
    if (syscall(SYS_pivot_root, kBase, (std::string(kBase) + kOldRoot).c_str()) != 0)
      return Fail("pivot_root into the tmpfs base");
    if (chdir("/") != 0) return Fail("chdir /");
    for (const auto& op : ops)
      if (!Apply(op)) return false;
    // Detach the host tree, then swap the base for the new root (pivot_root(".", ".")).
    if (SysUmountDetach(kOldRoot) != 0) return Fail("detach the host tree");
    if (chdir(kNewRoot) != 0) return Fail("chdir new root");
    if (syscall(SYS_pivot_root, ".", ".") != 0) return Fail("pivot_root into the new root");
    if (SysUmountDetach(".") != 0) return Fail("detach the tmpfs base");
    if (chdir("/") != 0) return Fail("chdir /");
    return true;
  }

 private:
  std::string* err_;
  UniqueFd root_;
  bool legacy_lowerdir_ = false;  // the kernel rejected "lowerdir+": retry with "lowerdir"
};

}  // namespace

bool ExecuteMountPlan(const std::vector<MountOp>& ops, std::string* err) {
  return Executor(err).Run(ops);
}

}  // namespace imager::sandbox
