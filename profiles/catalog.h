// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Profiles found by name on a search path — the working directory, the user's
/// ($XDG_CONFIG_HOME/imager/profiles), the system's (/etc/imager/profiles), the package's
/// (/usr/share/imager/profiles) and those shipped beside the executable (`<exe dir>/../profiles`
/// in a build tree, `<exe dir>/../share/imager/profiles` when installed elsewhere) — and listed
/// with where each comes from. The first directory that has NAME.yaml wins.

#include <string>
#include <vector>

#include "base/result.h"

namespace imager::profiles {

/// One directory of the search path and what it is ("current directory", "user", ...).
struct ProfileDir {
  std::string path;
  std::string origin;
};

/// What the search path depends on, so tests can give their own.
struct SearchEnv {
  std::string xdg_config_home;  // empty: HOME/.config
  std::string home;             // empty with xdg_config_home empty: no user directory
  std::string exe;              // this executable (its shipped profiles); empty: none
  std::vector<std::string> system_dirs = {"/etc/imager/profiles", "/usr/share/imager/profiles"};
};

/// $XDG_CONFIG_HOME, $HOME and /proc/self/exe of this process.
SearchEnv ProcessSearchEnv();

/// $XDG_CONFIG_HOME/imager/profiles (or HOME/.config/...), or "" without either.
std::string UserProfileDir(const SearchEnv& env);

/// The directories that may hold shipped profiles for the executable at EXE, existing ones only.
std::vector<std::string> ShippedProfileDirs(const std::string& exe);

/// The search path in order, each directory once (whether it exists or not, except the
/// executable's, which are listed only when they exist).
std::vector<ProfileDir> ProfileSearchPath(const SearchEnv& env);

struct ListedProfile {
  std::string path;
  std::string name;  // the file's stem: what `imager build NAME` takes
  std::string description;
  std::string origin;  // the ProfileDir's
  std::string error;   // the first problem when the profile does not load
};

/// Every *.yaml directly in DIRS, loaded; sorted by name, the first directory wins a name.
std::vector<ListedProfile> ListProfiles(const std::vector<ProfileDir>& dirs);

/// ARG itself when it looks like a path (has a '/' or ends in .yaml or .yml); otherwise
/// DIR/ARG.yaml from the first directory of DIRS that has it; else an error naming the
/// directories searched.
Result<std::string> FindProfile(const std::string& arg, const std::vector<ProfileDir>& dirs);

/// FindProfile on this process's search path: what every verb taking a profile uses.
Result<std::string> ResolveProfileArg(const std::string& arg);

}  // namespace imager::profiles
