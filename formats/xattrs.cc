// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/xattrs.h"

#include <sys/xattr.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/owner_record.h"
#include "base/strings.h"

namespace imager::formats {
namespace {

bool Unsupported(int err) { return err == ENOTSUP || err == ENODATA; }

// The list of names; retried when it grows between the two calls.
Result<std::vector<std::string>> ListNames(const std::string& path) {
  for (;;) {
    ssize_t n = llistxattr(path.c_str(), nullptr, 0);
    if (n < 0 && Unsupported(errno)) return std::vector<std::string>{};
    if (n < 0) return ErrnoError("list xattrs of " + path);
    std::string buf(static_cast<size_t>(n), '\0');
    if (n > 0) n = llistxattr(path.c_str(), buf.data(), buf.size());
    if (n < 0 && errno == ERANGE) continue;
    if (n < 0) return ErrnoError("list xattrs of " + path);
    std::vector<std::string> names;
    for (size_t i = 0; i < static_cast<size_t>(n); i += strlen(&buf[i]) + 1)
      names.emplace_back(&buf[i]);
    std::sort(names.begin(), names.end());
    return names;
  }
}

}  // namespace

bool IsOverlayXattr(const std::string& name) {
  return StartsWith(name, "user.overlay.") || StartsWith(name, "trusted.overlay.");
}

bool IsBookkeepingXattr(const std::string& name) {
  return IsOverlayXattr(name) || name == kOwnerXattr;
}

namespace {

Result<std::vector<Xattr>> Read(const std::string& path, bool bookkeeping) {
  auto names = ListNames(path);
  if (!names) return names.take_error();
  std::vector<Xattr> out;
  for (auto& name : *names) {
    if (!bookkeeping && IsBookkeepingXattr(name)) continue;
    for (;;) {
      ssize_t len = lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
      if (len < 0 && errno == ENODATA) break;  // removed meanwhile
      if (len < 0) return ErrnoError("read xattr " + name + " of " + path);
      std::string value(static_cast<size_t>(len), '\0');
      if (len > 0) len = lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
      if (len < 0 && errno == ERANGE) continue;
      if (len < 0 && errno == ENODATA) break;
      if (len < 0) return ErrnoError("read xattr " + name + " of " + path);
      value.resize(static_cast<size_t>(len));
      out.push_back({std::move(name), std::move(value)});
      break;
    }
  }
  return out;
}

}  // namespace

Result<std::vector<Xattr>> ReadXattrs(const std::string& path) { return Read(path, false); }

Result<std::vector<Xattr>> ReadAllXattrs(const std::string& path) { return Read(path, true); }

}  // namespace imager::formats
