// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Loads a profile file and the profiles it extends into one checked Profile with every default
/// filled, and resolves `mirror: auto` from the host's apt sources.

#include <string>

#include "base/result.h"
#include "profiles/profile.h"

namespace imager::profiles {

/// Loads PATH. `extends: FILE` (relative to the extending file) is loaded first and overlaid:
/// maps merge key by key, recursively; scalars, lists and nulls override; a cycle is an error
/// naming the chain. Every problem of the merged profile is reported at once, one
/// "FILE:LINE:COL: FIELD: what is wrong (allowed: ...)" line each, in file order; non-fatal
/// remarks go to Profile::warnings. Relative paths resolve against the file that declared them.
Result<Profile> LoadProfile(const std::string& path);
/// The same, but a profile with schema errors is still returned (every valid field read, the
/// rest defaulted) with the errors in `errors`; fails only when no YAML could be read at all.
/// For `imager profile check`, which plans the build on it to report plan-time errors too.
Result<Profile> LoadProfile(const std::string& path, std::vector<std::string>* errors);

/// Replaces `mirror: auto` of every deb repository by the URI of the host's apt source for its
/// suite (see repo::AutoMirror); reports every repository that has none, with its location.
Status ResolveAutoMirrors(Profile* p, const std::string& etc_apt = "/etc/apt");

}  // namespace imager::profiles
