// SPDX-License-Identifier: GPL-3.0-or-later
#include "base/inroot.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/fs.h"
#include "base/strings.h"

namespace imager {
namespace {

int OpenAt2(int root, const std::string& path, int flags) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  size_t start = path.find_first_not_of('/');
  std::string rel = start == std::string::npos ? std::string(".") : path.substr(start);
  return static_cast<int>(syscall(SYS_openat2, root, rel.c_str(), &how, sizeof how));
}

Status CopyData(int in, int out, const std::string& shown) {
  char buf[1 << 16];
  for (;;) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read " + shown);
    if (n == 0) return {};
    if (!WriteAll(out, buf, static_cast<size_t>(n))) return ErrnoError("write copy of " + shown);
  }
}

// A symlink target that stays inside the tree it is in, `depth` levels below its top.
bool Confined(const std::string& target, int depth) {
  if (target.empty() || target[0] == '/') return false;
  int level = depth;
  for (const auto& part : Split(target, '/')) {
    if (part == "..") {
      if (--level < 0) return false;
    } else if (!part.empty() && part != ".") {
      ++level;
    }
  }
  return true;
}

Status CopyDir(int src_dir, int dst_dir, const std::string& shown, const CopyOptions& o,
               int depth) {
  auto names = ListDirFd(src_dir);
  if (!names) return Error{names.error() + " " + shown};
  for (const auto& n : *names)
    if (auto st = CopyEntry(src_dir, n, dst_dir, n, shown + "/" + n, o, depth); !st) return st;
  return {};
}

}  // namespace

Result<InRoot> InRoot::Open(const std::string& root) {
  InRoot r;
  r.root_ = root;
  r.fd_.reset(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!r.fd_.valid()) return ErrnoError("open image tree " + root);
  return r;
}

Result<UniqueFd> InRoot::Dir(const std::string& path, bool create) const {
  std::string sofar;
  UniqueFd fd(OpenAt2(fd_.get(), "/", O_RDONLY | O_DIRECTORY));
  if (!fd.valid()) return ErrnoError("open / of " + root_);
  for (const auto& part : Split(path, '/')) {
    if (part.empty() || part == ".") continue;
    sofar += "/" + part;
    UniqueFd next(OpenAt2(fd_.get(), sofar, O_RDONLY | O_DIRECTORY));
    if (!next.valid() && errno == ENOENT && create) {
      if (mkdirat(fd.get(), part.c_str(), 0755) != 0 && errno != EEXIST)
        return ErrnoError("create " + sofar + " in the image");
      next.reset(OpenAt2(fd_.get(), sofar, O_RDONLY | O_DIRECTORY));
    }
    if (!next.valid()) return ErrnoError("open " + sofar + " in the image");
    fd = std::move(next);
  }
  return fd;
}

bool InRoot::Exists(const std::string& path) const {
  UniqueFd fd(OpenAt2(fd_.get(), path, O_PATH));
  return fd.valid();
}

Result<mode_t> InRoot::ClearSetIds(const std::string& path, bool setuid, bool setgid) const {
  UniqueFd fd(OpenAt2(fd_.get(), path, O_PATH | O_NOFOLLOW));
  if (!fd.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) return mode_t{0};
    return ErrnoError("open " + path + " in " + root_);
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return ErrnoError("stat " + path + " in " + root_);
  if (!S_ISREG(st.st_mode)) return mode_t{0};
  mode_t take = st.st_mode & ((setuid ? S_ISUID : 0) | (setgid ? S_ISGID : 0));
  if (!take) return mode_t{0};
  // An O_PATH descriptor cannot be fchmod()ed; its /proc/self/fd link names exactly this inode.
  std::string self = "/proc/self/fd/" + std::to_string(fd.get());
  if (chmod(self.c_str(), (st.st_mode & 07777) & ~take) != 0)
    return ErrnoError("chmod " + path + " in " + root_);
  return take;
}

Result<std::optional<InRootFile>> InRoot::Lstat(const std::string& path) const {
  UniqueFd fd(OpenAt2(fd_.get(), path, O_PATH | O_NOFOLLOW));
  if (!fd.valid()) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<InRootFile>();
    return ErrnoError("open " + path + " in " + root_);
  }
  InRootFile f;
  if (fstat(fd.get(), &f.st) != 0) return ErrnoError("stat " + path + " in " + root_);
  if (!S_ISREG(f.st.st_mode) && !S_ISDIR(f.st.st_mode)) return std::optional(f);
  // An O_PATH descriptor has no xattr calls; its /proc/self/fd link, followed, is this inode.
  std::string self = "/proc/self/fd/" + std::to_string(fd.get());
  char buf[32];
  ssize_t n = getxattr(self.c_str(), kOwnerXattr, buf, sizeof buf);
  if (n > 0) f.record = ParseOwnerRecord(std::string(buf, static_cast<size_t>(n)));
  return std::optional(f);
}

Status InRoot::RecordOwner(const std::string& path, const std::optional<RecordedOwner>& owner,
                           mode_t mode) const {
  UniqueFd fd(OpenAt2(fd_.get(), path, O_PATH | O_NOFOLLOW));
  if (!fd.valid()) return ErrnoError("open " + path + " in " + root_);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return ErrnoError("stat " + path + " in " + root_);
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
    return Error{path + " in " + root_ +
                 ": only regular files and directories can record an owner"};
  std::string self = "/proc/self/fd/" + std::to_string(fd.get());
  if (!owner) {
    if (removexattr(self.c_str(), kOwnerXattr) != 0 && errno != ENODATA && errno != ENOTSUP)
      return ErrnoError("remove the owner record of " + path + " in " + root_);
    return {};
  }
  std::string value = FormatOwnerRecord(*owner);
  if (setxattr(self.c_str(), kOwnerXattr, value.data(), value.size(), 0) != 0)
    return ErrnoError("record the owner " + value + " of " + path + " in " + root_ +
                      " (the file system needs user extended attributes)");
  if (chmod(self.c_str(), mode & 07777) != 0) return ErrnoError("chmod " + path + " in " + root_);
  return {};
}

Status InRoot::Symlink(const std::string& path, const std::string& target) const {
  size_t slash = path.rfind('/');
  auto dir = Dir(path.substr(0, slash), true);
  if (!dir) return dir.take_error();
  std::string name = path.substr(slash + 1);
  if (unlinkat(dir->get(), name.c_str(), 0) != 0 && errno != ENOENT)
    return ErrnoError("replace " + path + " in the image");
  if (symlinkat(target.c_str(), dir->get(), name.c_str()) != 0)
    return ErrnoError("symlink " + path + " -> " + target + " in the image");
  return {};
}

Status CopyEntry(int src_dir, const std::string& name, int dst_dir, const std::string& dst_name,
                 const std::string& shown, const CopyOptions& o, int depth) {
  struct stat st;
  if (fstatat(src_dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return ErrnoError("stat " + shown);
  const char* dn = dst_name.c_str();
  struct stat old;
  bool exists = fstatat(dst_dir, dn, &old, AT_SYMLINK_NOFOLLOW) == 0;
  if (exists && !(S_ISDIR(st.st_mode) && S_ISDIR(old.st_mode))) {
    if (unlinkat(dst_dir, dn, S_ISDIR(old.st_mode) ? AT_REMOVEDIR : 0) != 0)
      return ErrnoError("replace " + dst_name + " with " + shown);
    exists = false;
  }
  uid_t uid = o.chown ? o.uid : static_cast<uid_t>(-1);
  gid_t gid = o.chown ? o.gid : static_cast<gid_t>(-1);
  mode_t mode = st.st_mode & 07777;
  if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = readlinkat(src_dir, name.c_str(), target.data(), target.size());
    if (n < 0) return ErrnoError("readlink " + shown);
    target.resize(static_cast<size_t>(n));
    if (o.confined_symlinks && !Confined(target, depth))
      return Error{shown + ": symlink to '" + target +
                   "' leaves the copied tree (use a relative link that stays inside it)"};
    if (symlinkat(target.c_str(), dst_dir, dn) != 0) return ErrnoError("symlink " + dst_name);
    if (o.chown) fchownat(dst_dir, dn, uid, gid, AT_SYMLINK_NOFOLLOW);
    return {};
  }
  if (S_ISDIR(st.st_mode)) {
    if (!exists && mkdirat(dst_dir, dn, 0700) != 0) return ErrnoError("create " + dst_name);
    UniqueFd in(openat(src_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    UniqueFd out(openat(dst_dir, dn, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!in.valid()) return ErrnoError("open " + shown);
    if (!out.valid()) return ErrnoError("open " + dst_name);
    if (auto r = CopyDir(in.get(), out.get(), shown, o, depth + 1); !r) return r;
    if (o.chown && fchown(out.get(), uid, gid) != 0) return ErrnoError("chown " + dst_name);
    if (fchmod(out.get(), mode) != 0) return ErrnoError("chmod " + dst_name);
    return {};
  }
  if (S_ISFIFO(st.st_mode)) {
    if (mkfifoat(dst_dir, dn, mode) != 0) return ErrnoError("mkfifo " + dst_name);
    if (o.chown) fchownat(dst_dir, dn, uid, gid, AT_SYMLINK_NOFOLLOW);
    return {};
  }
  if (!S_ISREG(st.st_mode))
    return Error{shown + ": only files, directories, symlinks and fifos can be copied"};
  UniqueFd in(openat(src_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in.valid()) return ErrnoError("open " + shown);
  UniqueFd out(openat(dst_dir, dn, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out.valid()) return ErrnoError("create " + dst_name);
  if (auto r = CopyData(in.get(), out.get(), shown); !r) return r;
  if (o.chown && fchown(out.get(), uid, gid) != 0) return ErrnoError("chown " + dst_name);
  if (fchmod(out.get(), mode) != 0) return ErrnoError("chmod " + dst_name);
  timespec times[2] = {st.st_atim, st.st_mtim};
  futimens(out.get(), times);
  return {};
}

Status CopyTree(int src_dir, int dst_dir, const std::string& shown, const CopyOptions& o) {
  return CopyDir(src_dir, dst_dir, shown, o, 0);
}

}  // namespace imager
