// SPDX-License-Identifier: GPL-3.0-or-later
// The RPM family (openEuler, Fedora and their kin): one librpm transaction inside the sandbox
// (stages/rootfs_rpm.cc). Bootable media, installer layers and offline repositories are not
// implemented for it yet: those entries are empty, and the planner says so.
#include "families/rpm.h"

#include "stages/rootfs.h"

namespace imager::families {

Family RpmFamily() {
  return {
      .id = profiles::Family::kRpm,
      .name = "rpm",
      .repo_type = profiles::RepoType::kRpmMd,
      .default_arch = "x86_64",
      .default_variant = profiles::Variant::kNone,
      .packages_stage = stages::RpmPackagesStage,
      .add_packages_stage = nullptr,
      .tool_packages = nullptr,
      .unpack_tools = nullptr,
      .boot_files = {},
      .offline_repo_stage = nullptr,
      .installed_system_packages = nullptr,
  };
}

}  // namespace imager::families
