// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// UniqueFd owns one file descriptor and closes it when it goes out of scope; move-only.

#include <unistd.h>

#include <string>
#include <utility>

#include "base/result.h"

namespace imager {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

/// A pipe with both ends close-on-exec.
struct Pipe {
  UniqueFd read;
  UniqueFd write;
};
Result<Pipe> MakePipe();

/// write(2) of the whole buffer, retrying on EINTR and short writes.
bool WriteAll(int fd, const void* data, size_t size);
inline bool WriteAll(int fd, const std::string& s) { return WriteAll(fd, s.data(), s.size()); }
/// Reads until EOF (retrying on EINTR); false on a read error.
bool ReadAll(int fd, std::string* out);

Result<std::string> ReadFile(const std::string& path);
Status WriteFile(const std::string& path, const std::string& content);

}  // namespace imager
