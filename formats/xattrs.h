// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The extended attributes of a file as the image writers store them: sorted by name, without
/// overlayfs' own bookkeeping (`trusted.overlay.*`, `user.overlay.*`) and imager's owner record
/// (`user.imager.owner`), which describe the layer and not the image.

#include <string>
#include <utility>
#include <vector>

#include "base/result.h"

namespace imager::formats {

struct Xattr {
  std::string name;
  std::string value;
  bool operator==(const Xattr&) const = default;
};

/// True for the names overlayfs uses for itself.
bool IsOverlayXattr(const std::string& name);
/// True for what describes a layer rather than the image: overlayfs' names and the owner record
/// (base/owner_record.h), which the writers apply as the owner instead.
bool IsBookkeepingXattr(const std::string& name);

/// The attributes of `path` (not following a final symlink), the bookkeeping ones left out; an
/// empty list where the filesystem has none or does not support them.
Result<std::vector<Xattr>> ReadXattrs(const std::string& path);
/// Every attribute of `path`, the bookkeeping ones included (a cache entry moved as it is).
Result<std::vector<Xattr>> ReadAllXattrs(const std::string& path);

}  // namespace imager::formats
