// SPDX-License-Identifier: GPL-3.0-or-later
#include "base/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "base/fd.h"

namespace imager {

Result<std::string> Canonical(const std::string& path) {
  char buf[PATH_MAX];
  if (!realpath(path.c_str(), buf)) return ErrnoError(path);
  return std::string(buf);
}

Result<std::vector<std::string>> ListDirFd(int dir_fd) {
  DIR* d = fdopendir(dup(dir_fd));
  if (!d) return ErrnoError("read directory");
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::vector<std::string>> ListDir(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError("open directory " + path);
  auto names = ListDirFd(fd.get());
  if (!names) return Error{names.error() + " " + path};
  return names;
}

Status MakeDirs(const std::string& path) {
  for (size_t i = path.find('/', 1);; i = path.find('/', i + 1)) {
    std::string part = path.substr(0, i);
    if (mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoError("create " + part);
    if (i == std::string::npos) return {};
  }
}

Result<std::string> MakeTempDir(const std::string& dir, const std::string& prefix) {
  std::string templ = dir + "/" + prefix + "XXXXXX";
  if (!mkdtemp(templ.data())) return ErrnoError("create a temporary directory in " + dir);
  return templ;
}

static Status RemoveAt(int parent, const std::string& name, const std::string& shown, dev_t dev) {
  struct stat st;
  if (fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno == ENOENT ? Status() : ErrnoError("stat " + shown);
  if (!S_ISDIR(st.st_mode)) {
    if (unlinkat(parent, name.c_str(), 0) != 0) return ErrnoError("remove " + shown);
    return {};
  }
  if (st.st_dev != dev) return Error{"refusing to remove " + shown + ": another filesystem"};
  if ((st.st_mode & S_IRWXU) != S_IRWXU) fchmodat(parent, name.c_str(), st.st_mode | S_IRWXU, 0);
  UniqueFd fd(openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError("open " + shown);
  auto names = ListDirFd(fd.get());
  if (!names) return Error{names.error() + " " + shown};
  for (const auto& n : *names)
    if (auto st2 = RemoveAt(fd.get(), n, shown + "/" + n, dev); !st2) return st2;
  if (unlinkat(parent, name.c_str(), AT_REMOVEDIR) != 0) return ErrnoError("remove " + shown);
  return {};
}

Status RemoveTree(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return errno == ENOENT ? Status() : ErrnoError(path);
  return RemoveAt(AT_FDCWD, path, path, st.st_dev);
}

static int OpenInRoot(int root, const std::string& path, int flags, mode_t mode) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string rel = path.substr(path.find_first_not_of('/'));
  return static_cast<int>(syscall(SYS_openat2, root, rel.c_str(), &how, sizeof how));
}

Status WriteInRoot(const std::string& root, const std::string& path, const std::string& content,
                   mode_t mode, uid_t uid, gid_t gid) {
  UniqueFd rootfd(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd.valid()) return ErrnoError("open " + root);
  size_t slash = path.rfind('/');
  std::string dir = path.substr(0, slash + 1), name = path.substr(slash + 1);
  UniqueFd dirfd(OpenInRoot(rootfd.get(), dir == "/" ? "/." : dir, O_RDONLY | O_DIRECTORY, 0));
  if (!dirfd.valid()) return ErrnoError("open " + dir + " in the image");
  std::string tmp = "." + name + ".imager-new";
  UniqueFd fd(openat(dirfd.get(), tmp.c_str(),
                     O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd.valid()) return ErrnoError("create " + path + " in the image");
  if (!WriteAll(fd.get(), content)) return ErrnoError("write " + path + " in the image");
  if ((uid != static_cast<uid_t>(-1) || gid != static_cast<gid_t>(-1)) &&
      fchown(fd.get(), uid, gid) != 0)
    return ErrnoError("chown " + path + " in the image");
  if (fchmod(fd.get(), mode) != 0) return ErrnoError("chmod " + path + " in the image");
  if (renameat(dirfd.get(), tmp.c_str(), dirfd.get(), name.c_str()) != 0)
    return ErrnoError("replace " + path + " in the image");
  return {};
}

Result<std::string> ReadInRoot(const std::string& root, const std::string& path) {
  UniqueFd rootfd(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd.valid()) return ErrnoError("open " + root);
  UniqueFd fd(OpenInRoot(rootfd.get(), path, O_RDONLY, 0));
  if (!fd.valid()) return ErrnoError("open " + path + " in the image");
  std::string out;
  if (!ReadAll(fd.get(), &out)) return ErrnoError("read " + path + " in the image");
  return out;
}

}  // namespace imager
