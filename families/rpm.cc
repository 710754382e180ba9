// SPDX-License-Identifier: GPL-3.0-or-later
// The RPM family (openEuler, Fedora and their kin): one librpm transaction inside the sandbox
// (stages/rootfs_rpm.cc); live media with the boot loaders of the target's own packages, asked
// for and found by the files they install (shim and GRUB under /boot/efi/EFI/<vendor>/,
// syslinux under /usr/share/syslinux/); an offline repository in
// rpm-md form (libcreaterepo_c). Disk images and installer layers are not implemented for it
// yet: those entries are empty, and the planner says so.
#include "families/rpm.h"

#include <algorithm>

#include "stages/offline_repo.h"
#include "stages/rootfs.h"

namespace imager::families {
namespace {

// The EFI architecture in the names of shim's and GRUB's files (shimx64.efi, grubaa64.efi).
std::string EfiArch(const std::string& arch) {
  if (arch == "x86_64") return "x64";
  if (arch == "aarch64") return "aa64";
  return arch;
}

std::vector<std::string> RpmToolPackages(const profiles::Profile& p) {
  std::vector<std::string> tools;
  // BIOS: isolinux.bin, isohdpfx.bin and the BIOS modules, in /usr/share/syslinux.
  if (p.boot.bios) tools.push_back("/usr/share/syslinux/isolinux.bin");
  // UEFI: the signed shim and GRUB the distribution ships for its ESP, asked for by the files
  // they install under /boot/efi/EFI/<vendor>/ (dnf's file globs; read from the repositories'
  // file lists): the package names differ (openEuler's shim is Fedora's shim-x64), the paths
  // do not. And what builds the medium's FAT image, named alike everywhere.
  if (p.boot.uefi) {
    std::string efi = EfiArch(p.distribution.arch);
    tools.insert(tools.end(), {"/boot/efi/EFI/*/grub" + efi + ".efi",
                               "/boot/efi/EFI/*/shim" + efi + ".efi", "dosfstools", "mtools"});
    // boot.signing: sbsign, packaged as sbsigntools or sbsigntool.
    if (!p.boot.signing_key.empty()) tools.push_back("/usr/bin/sbsign");
  }
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
      .add_packages_stage = stages::RpmAddPackagesStage,
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
