// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// FileLock holds an advisory flock(2) lock on a lock file through an owned fd: the lock lasts as
/// long as the object (or until Release) and dies with the process, so a crashed holder never
/// blocks anyone. Locks conflict between open file descriptions, even within one process.

#include <functional>
#include <string>

#include "base/fd.h"
#include "base/result.h"

namespace imager {

class FileLock {
 public:
  enum class Mode { kShared, kExclusive };

  FileLock() = default;

  /// Opens (creating) `path` and takes the lock; when another holder conflicts, calls `on_wait`
  /// (if set) once and then blocks until the lock is free.
  static Result<FileLock> Acquire(const std::string& path, Mode mode,
                                  const std::function<void()>& on_wait = {});
  /// Like Acquire, but returns a lock that is not held() when another holder conflicts.
  static Result<FileLock> TryAcquire(const std::string& path, Mode mode);

  bool held() const { return fd_.valid(); }
  /// Turns an exclusive lock into a shared one (not atomically: flock drops, then re-takes).
  Status Downgrade();
  void Release() { fd_.reset(); }

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace imager
