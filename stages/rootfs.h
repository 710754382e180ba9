// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The package stage of a build: installs the lock's packages, already verified in the package
/// cache, into the stage's layer inside the sandbox. One Stage per package format; the build
/// driver (build.cc) picks one by the profile's distribution family.

#include <string>
#include <vector>

#include "profiles/profile.h"
#include "repo/lockfile.h"
#include "stages/build.h"
#include "stages/pipeline.h"

namespace imager::stages {

/// The key inputs every package stage shares: one per package (name, version, arch, sha256).
std::vector<KeyInput> PackageKeyInputs(const PackageFiles& files);

/// Debian: essential packages unpacked, then dpkg inside the sandbox installs and configures
/// every package in order (stage "packages", a layer at the bottom of the stack, or on `parents`).
Stage DebPackagesStage(const profiles::Profile& profile, const BuildOptions& options,
                       const PackageFiles& files, std::vector<std::string> parents);

/// RPM: one librpm transaction with the layer as root directory, scriptlets chrooted, inside the
/// sandbox (stage "packages").
Stage RpmPackagesStage(const profiles::Profile& profile, const BuildOptions& options,
                       const PackageFiles& files, std::vector<std::string> parents);

}  // namespace imager::stages
