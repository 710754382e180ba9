// SPDX-License-Identifier: GPL-3.0-or-later
// The RPM family (openEuler, Fedora and their kin): one librpm transaction inside the sandbox
// (stages/rootfs_rpm.cc); live media with the boot loaders of the target's own packages, named
// as openEuler names them and found by the files they install (shim and GRUB under
// /boot/efi/EFI/<vendor>/, syslinux under /usr/share/syslinux/); an offline repository in
// rpm-md form (libcreaterepo_c). Disk images and installer layers are not implemented for it
// yet: those entries are empty, and the planner says so.
#include "families/rpm.h"

#include <algorithm>

#include "stages/offline_repo.h"
#include "stages/rootfs.h"

namespace imager::families {
namespace {

// The EFI architecture in the names of GRUB's packages (grub2-efi-x64, grub2-efi-aa64).
std::string EfiArch(const std::string& arch) {
  if (arch == "x86_64") return "x64";
  if (arch == "aarch64") return "aa64";
  return arch;
}

std::vector<std::string> RpmToolPackages(const profiles::Profile& p) {
  std::vector<std::string> tools;
  // BIOS: isolinux.bin, isohdpfx.bin and the BIOS modules, in /usr/share/syslinux.
  if (p.boot.bios) tools.push_back("syslinux");
  // UEFI: the signed shim and GRUB the distribution ships for its ESP, and what builds the
  // medium's FAT image. (Fedora names its shim package shim-x64.)
  if (p.boot.uefi)
    tools.insert(tools.end(),
                 {"dosfstools", "grub2-efi-" + EfiArch(p.distribution.arch), "mtools", "shim"});
  std::sort(tools.begin(), tools.end());
  return tools;
}

}  // namespace

Family RpmFamily() {
  return {
      .id = profiles::Family::kRpm,
      .name = "rpm",
      .repo_type = profiles::RepoType::kRpmMd,
      .default_arch = "x86_64",
      .default_variant = profiles::Variant::kNone,
      .packages_stage = stages::RpmPackagesStage,
      .add_packages_stage = nullptr,
      .tool_packages = RpmToolPackages,
      .tools_stage = stages::RpmToolsStage,
      .boot_files = {.isolinux_bin = "/syslinux/isolinux.bin",
                     .isohybrid_mbr = "/syslinux/isohdpfx.bin",
                     .syslinux_bios = "/syslinux",
                     .shim = "/shimx64.efi",
                     .mok_manager = "/mmx64.efi",
                     .grub_efi = "/grubx64.efi"},
      .offline_repo_stage = stages::RpmOfflineRepoStage,
      .installed_system_packages = nullptr,
  };
}

}  // namespace imager::families
