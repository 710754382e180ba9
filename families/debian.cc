// SPDX-License-Identifier: GPL-3.0-or-later
// The Debian family: dpkg inside the sandbox (stages/rootfs_deb.cc), Debian's package names for
// the tools tree and the installed system, boot files where Debian's packages put them, and an
// offline repository in Debian's dists/ + pool/ layout.
#include "families/debian.h"

#include <algorithm>

#include "stages/iso_stages.h"
#include "stages/offline_repo.h"
#include "stages/outputs.h"
#include "stages/rootfs.h"

namespace imager::families {
namespace {

using profiles::Profile;

std::vector<std::string> DebianToolPackages(const Profile& p) {
  std::vector<std::string> tools;
  // BIOS: isolinux.bin and isohdpfx.bin (isolinux), ldlinux.c32 (syslinux-common).
  if (p.boot.bios) tools.insert(tools.end(), {"isolinux", "syslinux-common"});
  // UEFI: the distribution's signed shim and GRUB, and what builds the ESP's FAT image.
  if (p.boot.uefi)
    tools.insert(tools.end(), {"dosfstools", "grub-efi-" + p.distribution.arch + "-signed",
                               "mtools", "shim-signed"});
  // boot.signing: sbsign signs the binaries the firmware loads.
  if (p.boot.uefi && !p.boot.signing_key.empty()) tools.push_back("sbsigntool");
  // A disk image's BIOS boot: GRUB's i386-pc images and modules, and grub-mkimage.
  if (p.boot.bios && stages::WantsDisk(p))
    tools.insert(tools.end(), {"grub-common", "grub-pc-bin"});
  std::sort(tools.begin(), tools.end());
  return tools;
}

std::vector<std::string> DebianInstalledSystemPackages(const Profile& p) {
  // GRUB's BIOS and UEFI images (both: the firmware is known only at install time), its
  // tools, the initramfs generator that Calamares' initramfs module runs, and locale-gen for
  // the locale its localecfg module configures.
  std::vector<std::string> out = {"efibootmgr", "grub-efi-" + p.distribution.arch + "-bin",
                                  "grub2-common", "initramfs-tools", "locales"};
  if (p.distribution.arch == "amd64") out.push_back("grub-pc-bin");
  // Debian's signed GRUB and the shim Microsoft signed: grub-install puts them on the ESP when
  // the installer runs under Secure Boot, so the installed system boots there too.
  if (p.distribution.arch == "amd64" || p.distribution.arch == "arm64")
    out.insert(out.end(), {"grub-efi-" + p.distribution.arch + "-signed", "shim-signed"});
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

Family DebianFamily() {
  return {
      .id = profiles::Family::kDebian,
      .name = "debian",
      .repo_type = profiles::RepoType::kDeb,
      .default_arch = "amd64",
      .default_variant = profiles::Variant::kMinbase,
      .packages_stage = stages::DebPackagesStage,
      .add_packages_stage = stages::DebAddPackagesStage,
      .initrd_stage = stages::DebInitrdStage,
      .tool_packages = DebianToolPackages,
      .tools_stage = stages::DebToolsStage,
      .boot_files = {.isolinux_bin = "/ISOLINUX/isolinux.bin",
                     .isohybrid_mbr = "/ISOLINUX/isohdpfx.bin",
                     .syslinux_bios = "/syslinux/modules/bios",
                     .shim = "/shim/shimx64.efi.signed",
                     .mok_manager = "/shim/mmx64.efi.signed",
                     // GRUB's signed image for removable media: its built-in configuration
                     // sources ($root)/boot/grub/grub.cfg of the device it was loaded from.
                     .grub_efi = "/x86_64-efi-signed/gcdx64.efi.signed"},
      .disk_boot_files = {.grub_pc_boot = "/usr/lib/grub/i386-pc/boot.img",
                          .grub_mkimage = "/usr/bin/grub-mkimage"},
      .offline_repo_stage = stages::OfflineRepoStage,
      .installed_system_packages = DebianInstalledSystemPackages,
  };
}

}  // namespace imager::families
