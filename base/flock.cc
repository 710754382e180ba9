// SPDX-License-Identifier: GPL-3.0-or-later
#include "base/flock.h"

#include <fcntl.h>
#include <sys/file.h>

namespace imager {
namespace {

int Op(FileLock::Mode mode) { return mode == FileLock::Mode::kShared ? LOCK_SH : LOCK_EX; }

int FlockRetry(int fd, int op) {
  int rc;
  do rc = flock(fd, op);
  while (rc != 0 && errno == EINTR);
  return rc;
}

Result<UniqueFd> OpenLockFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd.valid()) return ErrnoError("open lock file " + path);
  return fd;
}

}  // namespace

Result<FileLock> FileLock::Acquire(const std::string& path, Mode mode,
                                   const std::function<void()>& on_wait) {
  auto lock = TryAcquire(path, mode);
  if (!lock || lock->held()) return lock;
  if (on_wait) on_wait();
  auto fd = OpenLockFile(path);
  if (!fd) return fd.take_error();
  if (FlockRetry(fd->get(), Op(mode)) != 0) return ErrnoError("lock " + path);
  return FileLock(std::move(*fd));
}

Result<FileLock> FileLock::TryAcquire(const std::string& path, Mode mode) {
  auto fd = OpenLockFile(path);
  if (!fd) return fd.take_error();
  if (FlockRetry(fd->get(), Op(mode) | LOCK_NB) == 0) return FileLock(std::move(*fd));
  if (errno == EWOULDBLOCK) return FileLock();
  return ErrnoError("lock " + path);
}

Status FileLock::Downgrade() {
  if (FlockRetry(fd_.get(), LOCK_SH) != 0) return ErrnoError("downgrade lock");
  return {};
}

}  // namespace imager
