// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The extended attributes of a file as the image writers store them: sorted by name, without
/// overlayfs' own bookkeeping (`trusted.overlay.*`, `user.overlay.*`), which describes the layer
/// and not the image.

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

/// The attributes of `path` (not following a final symlink), overlayfs' own left out; an empty
/// list where the filesystem has none or does not support them.
Result<std::vector<Xattr>> ReadXattrs(const std::string& path);

}  // namespace imager::formats
