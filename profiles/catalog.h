// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The profiles shipped with imager, found relative to the executable (`<exe dir>/../profiles` in
/// a build tree, `<exe dir>/../share/imager/profiles` when installed), by name and description.

#include <string>
#include <vector>

namespace imager::profiles {

struct ShippedProfile {
  std::string path;
  std::string name;  // the profile's name, or the file's stem when it does not load
  std::string description;
  std::string error;  // the first problem when the profile does not load
};

/// The directories that may hold shipped profiles for the executable at EXE, existing ones only.
std::vector<std::string> ShippedProfileDirs(const std::string& exe);

/// Every *.yaml directly in DIRS, loaded; sorted by name, the first directory wins a name.
std::vector<ShippedProfile> ListShippedProfiles(const std::vector<std::string>& dirs);

/// ARG itself when it is an existing file or looks like a path (has a '/' or ends in .yaml or
/// .yml); otherwise DIR/ARG.yaml from the first directory that has it, else ARG.
std::string FindProfile(const std::string& arg, const std::vector<std::string>& dirs);

}  // namespace imager::profiles
