// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The version 1 profile schema: reads a merged profile tree into a Profile, reporting every
/// unknown key, wrong type, bad value and missing required key to the checker, and filling the
/// defaults documented in profile.h.

#include "profiles/checker.h"
#include "profiles/profile.h"
#include "profiles/yaml_tree.h"

namespace imager::profiles {

void ReadProfile(const Node& root, Checker* c, Profile* p);

/// The default volume id for a profile name: upper-cased, [^A-Z0-9_] -> '_', at most 32 chars.
std::string DefaultVolumeId(const std::string& name);

}  // namespace imager::profiles
