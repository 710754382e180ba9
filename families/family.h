// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// A distribution family: everything imager does differently for Debian and for RPM
/// distributions, as one row of a table (families.cc), in the spirit of mkosi's
/// DistributionInstaller. The planner and the lock ask the row of the profile's family and never
/// compare families themselves; adding a family is one module (families/NAME.cc) and one row.
/// An entry that is empty or null means "this family cannot do that yet": the planner then says
/// so, naming the profile field, and `imager profile check` reports it with the other errors.

#include <string>
#include <vector>

#include "profiles/profile.h"
#include "stages/build.h"

namespace imager::families {

/// The boot loader files an ISO takes from the tools tree, each as the end of a path that the
/// tools packages install (found in the unpacked tree, so the same code serves any layout:
/// Debian's /usr/lib/shim/shimx64.efi.signed, openEuler's /boot/efi/EFI/openEuler/shimx64.efi).
struct BootFiles {
  std::string isolinux_bin;   // BIOS: El Torito boot image
  std::string isohybrid_mbr;  // BIOS: the MBR that makes the ISO bootable from a USB stick
  std::string syslinux_bios;  // BIOS: directory of ldlinux.c32, menu.c32, libutil.c32
  std::string shim;           // UEFI: the first stage, signed for Secure Boot
  std::string mok_manager;    // UEFI: shim's key manager
  std::string grub_efi;       // UEFI: GRUB for removable media, signed
  static constexpr auto kFields =
      std::tuple{engine::Field("isolinux_bin", &BootFiles::isolinux_bin),
                 engine::Field("isohybrid_mbr", &BootFiles::isohybrid_mbr),
                 engine::Field("syslinux_bios", &BootFiles::syslinux_bios),
                 engine::Field("shim", &BootFiles::shim),
                 engine::Field("mok_manager", &BootFiles::mok_manager),
                 engine::Field("grub_efi", &BootFiles::grub_efi)};
};

/// What a disk image's BIOS boot takes from the tools tree: GRUB's i386-pc boot.img (its
/// directory holds the modules) and grub-mkimage, which makes core.img from them.
struct DiskBootFiles {
  std::string grub_pc_boot;
  std::string grub_mkimage;
  static constexpr auto kFields =
      std::tuple{engine::Field("grub_pc_boot", &DiskBootFiles::grub_pc_boot),
                 engine::Field("grub_mkimage", &DiskBootFiles::grub_mkimage)};
};

struct Family {
  profiles::Family id;
  const char* name;              // the profile's distribution.family
  profiles::RepoType repo_type;  // the metadata its repositories have
  const char* default_arch;
  profiles::Variant default_variant;

  /// Layer "packages": the lock's packages installed into an empty tree (or on `parents`).
  stages::Stage (*packages_stage)(const profiles::Profile&, const stages::PackageFiles&,
                                  std::vector<std::string> parents);
  /// A layer `name` of more packages installed by the image's own package manager on top of an
  /// installed system (the installer's layer); null: not yet for this family.
  stages::Stage (*add_packages_stage)(const profiles::Profile&, const stages::PackageFiles&,
                                      std::vector<std::string> parents, const std::string& name,
                                      const std::vector<std::string>& asked);
  /// Layer "initrd": the distribution's initramfs made on top of the image's layers, for the
  /// outputs that boot with it (stages::BootedLayers). Null: the packages stage makes it.
  stages::Stage (*initrd_stage)(const profiles::Profile&, int64_t source_date_epoch,
                                std::vector<std::string> parents);
  /// The tools tree for a bootable medium: its packages (boot loaders and the ESP's tools) for
  /// the profile, sorted, and the stage that unpacks them (stage "tools"). Null: this family
  /// cannot build an ISO yet.
  std::vector<std::string> (*tool_packages)(const profiles::Profile&);
  stages::Stage (*tools_stage)(const profiles::Profile&, const stages::PackageFiles&);
  BootFiles boot_files;
  /// For disk images (raw, qcow2): empty, and the planner says the family cannot build one.
  DiskBootFiles disk_boot_files;
  /// The offline package repository on an installer's medium (Debian: dists/ and pool/); null:
  /// not yet for this family.
  stages::Stage (*offline_repo_stage)(const profiles::Profile&, const std::string& cache_dir,
                                      const stages::PackageFiles& offline);
  /// What an installer adds to the target's packages so that the installed system boots from
  /// disk (boot loaders, the initramfs generator), sorted.
  std::vector<std::string> (*installed_system_packages)(const profiles::Profile&);
};

/// Every family, in the order `imager profile` lists them.
const std::vector<Family>& All();
/// The row of `id` (every profiles::Family has one).
const Family& Of(profiles::Family id);
inline const Family& Of(const profiles::Profile& p) { return Of(p.distribution.family); }

/// The tools tree's packages for the profile's outputs (empty when no output needs tools).
std::vector<std::string> ToolPackages(const profiles::Profile& profile);
/// The packages an installer needs in the target, for the profile's family (empty without an
/// installer).
std::vector<std::string> InstalledSystemPackages(const profiles::Profile& profile);

}  // namespace imager::families
