// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The package stage of a build: installs the lock's packages, already verified in the package
/// cache, into the stage's layer inside the sandbox. One Stage per package format; the build
/// driver (build.cc) picks one by the profile's distribution family.

#include <string>
#include <vector>

#include "profiles/profile.h"
#include "repo/lockfile.h"
#include "sandbox/spec.h"
#include "stages/build.h"

namespace imager::stages {

/// The package files as a sandbox sees them: their deepest common host directory (in the
/// package cache, packages/sha256) bound read-only once at `inside_dir`, not one mount per package.
struct PackageBinds {
  sandbox::BindSpec bind;
  std::vector<std::string> inside;  // same order as the host paths
};
PackageBinds BindPackages(const std::vector<std::string>& paths, const std::string& inside_dir);

/// The package files a stage installs, as a stage option: keyed one input per package (name,
/// version, arch, sha256; the position is part of the name, since install order can change what
/// maintainer scripts do).
struct PackageSet {
  std::vector<repo::LockedPackage> packages;
  std::vector<std::string> paths;  // host path in the package cache of each package, same order
  static void Encode(KeyInputs& k, const std::string& name,
                     const std::vector<repo::LockedPackage>& packages);
  static constexpr auto kFields = std::tuple{
      Field("package", &PackageSet::packages, &PackageSet::Encode),
      Unkeyed("paths", &PackageSet::paths,
              "each package's file in the package cache is named by its sha256, which is keyed")};
};
PackageSet SetOf(const PackageFiles& files);
/// The encoding of a PackageSet field: NAME0, NAME1, ... one per package, in install order.
void KeyPackages(KeyInputs& k, const std::string& name, const PackageSet& set);

/// Debian: essential packages unpacked, then dpkg inside the sandbox installs and configures
/// every package in order (stage "packages", a layer at the bottom of the stack, or on `parents`).
Stage DebPackagesStage(const profiles::Profile& profile, const PackageFiles& files,
                       std::vector<std::string> parents);

/// Debian: more packages installed by the image's own dpkg on top of an installed system
/// (`parents`, whose dpkg database already has everything these depend on), as a layer `name`
/// of its own — the installer layer above the target of an installer image. `asked` are the
/// packages installed by name; the rest is marked automatic for apt.
Stage DebAddPackagesStage(const profiles::Profile& profile, const PackageFiles& files,
                          std::vector<std::string> parents, const std::string& name,
                          const std::vector<std::string>& asked);

/// The layer of the distribution's initramfs, above the image's layers, in the outputs that boot
/// with it (tar, squashfs, disk images, an installer's target); a live ISO's image leaves it out.
inline constexpr const char* kInitrdStage = "initrd";

/// Debian: the kernel package's initramfs step, which the packages stages skip (INITRD=No): the
/// /initrd.img links and the initramfs of each kernel, made by the image's own generator on the
/// finished image (its configuration included), as layer "initrd" on `parents`.
Stage DebInitrdStage(const profiles::Profile& profile, int64_t source_date_epoch,
                     std::vector<std::string> parents);

/// RPM: one librpm transaction with the layer as root directory, scriptlets chrooted, inside the
/// sandbox (stage "packages").
Stage RpmPackagesStage(const profiles::Profile& profile, const PackageFiles& files,
                       std::vector<std::string> parents);
/// RPM: more packages installed by one librpm transaction on top of an installed system
/// (`parents`, whose rpmdb, where the image's own rpm reads it, has what these depend on), as a
/// layer `name` of its own: `--incremental`'s added packages, an installer's layer. `asked` is
/// not recorded: rpm keeps no install reason (dnf's is in its own history database).
Stage RpmAddPackagesStage(const profiles::Profile& profile, const PackageFiles& files,
                          std::vector<std::string> parents, const std::string& name,
                          const std::vector<std::string>& asked);
/// RPM: the tools tree of a bootable medium (stage "tools"): with gpgcheck every signature
/// checked as for the packages stage, then the payloads unpacked, no scriptlet run.
Stage RpmToolsStage(const profiles::Profile& profile, const PackageFiles& tools);

}  // namespace imager::stages
