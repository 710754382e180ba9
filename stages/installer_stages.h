// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The stages of an installer image. The profile's packages and settings make the *target*, what
/// gets installed; the installer lives in layers above it that only the live session sees, and
/// each goes onto the medium as its own squashfs image, stacked by the booter:
///
///   target layers ─┬─ squashfs ─────────────────────────────── /live/filesystem.squashfs
///                  └─ installer-packages ─ installer-config
///                        └─ installer-squashfs ─────────────── /live/installer.squashfs
///                                          └─ installer-config-squashfs
///                                                  ─────────── /live/installer-config.squashfs
///
/// Calamares' unpackfs copies only the target image, so the installed system carries no
/// installer; a changed branding rebuilds only the small config image and the ISO.

#include <string>
#include <vector>

#include "installer/calamares.h"
#include "profiles/profile.h"
#include "stages/build.h"
#include "stages/iso_stages.h"

namespace imager::stages {

/// Layer "installer-config": the generated files (Calamares' configuration, branding, the live
/// session) written into the image as root's, on `parents`.
Stage InstallerConfigStage(std::vector<std::string> parents,
                           std::vector<installer::GeneratedFile> files);

/// Artifact "installer-check": Calamares started offscreen in the sandbox on the live session's
/// layers (`session`) must load its settings, branding and every module of the sequence; its
/// log is kept as `calamares.log`. Every command of `tools` must be on the session's PATH. The
/// ISO is not written when this fails.
Stage InstallerCheckStage(profiles::InstallerType type, std::vector<std::string> session,
                          std::vector<installer::LiveTool> tools);

/// Adds the installer's stages above the target `layers`, then its own layers to `layers` (the
/// live session's stack) and its images to `medium`; the offline repository (when the lock has
/// one) is merged into the medium's root. Without an installer nothing changes.
Status PlanInstaller(const profiles::Profile& profile, const BuildOptions& options,
                     std::vector<std::string>* layers, Pipeline* pipeline, Medium* medium);

}  // namespace imager::stages
