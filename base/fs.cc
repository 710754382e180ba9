// SPDX-License-Identifier: GPL-3.0-or-later
#include "base/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "base/fd.h"

namespace imager {

Result<std::string> Canonical(const std::string& path) {
  char buf[PATH_MAX];
  if (!realpath(path.c_str(), buf)) return ErrnoError(path);
  return std::string(buf);
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
  std::vector<std::string> names;
  {
    DIR* d = fdopendir(dup(fd.get()));
    if (!d) return ErrnoError("read " + shown);
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    closedir(d);
  }
  for (const auto& n : names)
    if (auto st2 = RemoveAt(fd.get(), n, shown + "/" + n, dev); !st2) return st2;
  if (unlinkat(parent, name.c_str(), AT_REMOVEDIR) != 0) return ErrnoError("remove " + shown);
  return {};
}

Status RemoveTree(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return errno == ENOENT ? Status() : ErrnoError(path);
  return RemoveAt(AT_FDCWD, path, path, st.st_dev);
}

}  // namespace imager
