// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The owners packages ask for, checked against what a single-id build keeps: the owner recorded
/// on the file (base/owner_record.h), or 0:0 (the caller) where nothing was recorded. A set-id bit
/// on a file whose owner differs from the package's would grant another id than the package
/// meant (root's, where the owner was lost): it is taken off, as GNU tar does when it cannot
/// restore an owner.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace imager::stages {

/// An owner other than root:root that `who` (a package, dpkg-statoverride) gives `path`.
struct AskedOwner {
  std::string who;
  std::string path;                  // absolute in the image
  std::string asked;                 // as the package says it ("root:shadow", "0:42")
  std::optional<uint32_t> uid, gid;  // nullopt: a name the image's databases do not have
};

struct OwnerCheck {
  size_t recorded = 0;                // asked owners the image has
  std::vector<std::string> lost;      // "WHO: PATH should be ASKED, is U:G"
  std::vector<std::string> stripped;  // "WHO: PATH: setuid bit removed"
};

/// Checks each asked owner against the image made of `layers` (directories, top first; the
/// first is the layer being built, the only one whose set-id bits are cleared). A path no layer
/// has is skipped.
Result<OwnerCheck> CheckAskedOwners(const std::vector<std::string>& layers,
                                    const std::vector<AskedOwner>& asked);

/// Whether a file of the Debian package NAME (architecture ARCH) carries a set-uid or set-gid
/// bit in the image made of `layers` (directories, top first), by dpkg's list of the package's
/// files in the topmost layer that has one. True when no layer has the list: then only the
/// package itself tells. Paths resolve inside each layer (base/inroot.h).
Result<bool> PackageHasSetIdFile(const std::vector<std::string>& layers, const std::string& name,
                                 const std::string& arch);

}  // namespace imager::stages
