// SPDX-License-Identifier: GPL-3.0-or-later
#include "base/owner_record.h"

#include <sys/xattr.h>

#include <cerrno>
#include <charconv>

namespace imager {

std::optional<RecordedOwner> ParseOwnerRecord(const std::string& value) {
  size_t colon = value.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == value.size()) return std::nullopt;
  RecordedOwner o;
  const char* end = value.data() + value.size();
  auto u = std::from_chars(value.data(), value.data() + colon, o.uid);
  auto g = std::from_chars(value.data() + colon + 1, end, o.gid);
  if (u.ec != std::errc() || u.ptr != value.data() + colon || g.ec != std::errc() || g.ptr != end)
    return std::nullopt;
  return o;
}

std::string FormatOwnerRecord(const RecordedOwner& owner) {
  return std::to_string(owner.uid) + ":" + std::to_string(owner.gid);
}

std::optional<RecordedOwner> ReadOwnerRecord(const std::string& path) {
  char buf[32];
  ssize_t n = lgetxattr(path.c_str(), kOwnerXattr, buf, sizeof buf);
  if (n <= 0) return std::nullopt;
  return ParseOwnerRecord(std::string(buf, static_cast<size_t>(n)));
}

void ApplyOwnerRecord(const std::string& path, struct stat* st) {
  // Only regular files and directories can carry user.* attributes.
  if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)) return;
  if (auto o = ReadOwnerRecord(path)) {
    st->st_uid = o->uid;
    st->st_gid = o->gid;
  }
}

}  // namespace imager
