// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The stages that turn an image's layers into a bootable hybrid ISO: a tools tree from the
/// distribution's own boot packages, the booter's initramfs with the kernel taken from the image,
/// the bootloaders (isolinux for BIOS, shim + GRUB for UEFI on a FAT ESP made with the tools) and
/// the ISO itself, written in-process with libisofs. The medium and the initramfs share an
/// identity so the booter accepts only the medium it was built for:
///
///   packages ─ config ─ … ─┬─ squashfs ──────────────┐
///                          └─ initramfs ─────────────┼─ iso (+ SHA256SUMS)
///   tools ─── bootloader ────────────────────────────┘

#include <string>
#include <vector>

#include "families/family.h"
#include "profiles/profile.h"
#include "stages/build.h"
#include "stages/rootfs.h"

namespace imager::stages {

/// Where things are on the medium.
inline constexpr const char* kMediumImage = "/live/filesystem.squashfs";
/// Where the live system finds the medium (the booter mounts it there, whichever device).
inline constexpr const char* kMediumMountPoint = "/run/imager/medium";
/// Links to the images the live system runs on, wherever they are (medium or RAM): I.squashfs,
/// bottom first.
inline constexpr const char* kImageLinks = "/run/imager/images";
inline constexpr const char* kMediumKernel = "/live/vmlinuz";
inline constexpr const char* kMediumInitrd = "/live/initrd.img";
inline constexpr const char* kMediumIdFile = "/.imager-id";

/// What ties one build's initramfs, bootloader configuration and medium together.
struct BootIdentity {
  std::string id;           // the booter's `id=`, also the content of kMediumIdFile
  std::string volume_uuid;  // 16 digits, the ISO's PVD modification time: GRUB's fs-uuid
  /// GRUB's spelling of volume_uuid: "2023-06-10-48-21-39-77".
  std::string GrubUuid() const;
  static constexpr auto kFields =
      std::tuple{Field("id", &BootIdentity::id), Field("volume_uuid", &BootIdentity::volume_uuid)};
};

/// A squashfs image on the medium, written by an artifact stage.
struct MediumImage {
  std::string stage;  // the artifact stage
  std::string file;   // its name in that stage's output
  std::string path;   // where it goes on the medium
  static constexpr auto kFields =
      std::tuple{Field("stage", &MediumImage::stage), Field("file", &MediumImage::file),
                 Field("path", &MediumImage::path)};
};

/// What the medium carries besides the kernel, the initramfs and the bootloaders.
struct Medium {
  /// Stacked by the booter into the live system's root, bottom first; [0] is the root image.
  std::vector<MediumImage> images;
  /// Artifact stages whose output `tree/` is merged into the medium's root directory.
  std::vector<std::string> trees;
  /// Stages that must succeed before the medium is written (checks of what it carries).
  std::vector<std::string> checks;
  static constexpr auto kFields =
      std::tuple{Field("images", &Medium::images), Field("trees", &Medium::trees),
                 Field("checks", &Medium::checks)};
};

/// A live system's medium: the one root image (stage "squashfs") at kMediumImage.
Medium LiveMedium(const profiles::Profile& profile);
/// A live system's medium with an image per layer, bottom first: the bottom layer (packages or
/// base) whole at kMediumImage, each layer above it as an overlay layer of its own (its changes,
/// deletions kept) at /live/LAYER.squashfs, written by stages "squashfs-LAYER". A change above
/// the packages then rewrites only the small images above them. `layers` as the planner has
/// them (the bottom one has no parents).
Medium LayeredMedium(const profiles::Profile& profile, const std::vector<std::string>& layers);
/// Whether the ISO carries one merged root image (LiveMedium) rather than LayeredMedium: when
/// the squashfs output writes it anyway, or an installer copies it onto the disk.
bool MergedLiveImage(const profiles::Profile& profile);

/// The identity of a build whose root image has the stage key `image_key`.
BootIdentity MakeBootIdentity(const profiles::Profile& profile, const std::string& image_key,
                              int64_t source_date_epoch);

/// Layer "tools": the tools packages of the lock (BuildOptions::tools) unpacked, not configured:
/// boot loader files and the programs that build the ESP. No parents. The family's stage
/// (families::Family::tools_stage).
Stage ToolsStage(const profiles::Profile& profile, const PackageFiles& tools);
/// Debian's: the .debs' data unpacked by `imager internal deb-unpack`.
Stage DebToolsStage(const profiles::Profile& profile, const PackageFiles& tools);
/// The tools stage's work for any family: `imager internal HELPER... /target FILE...` in the
/// stage sandbox (`helper`: the helper's name and its options), then the mount points for
/// running the tools with the tree as "/".
Status UnpackTools(StageContext& ctx, const PackageSet& files, std::vector<std::string> helper);

/// The booter's configuration file for the profile's boot section (without module lines, which
/// the initramfs writer adds from the image's kernel).
std::string BooterConfig(const profiles::Profile& profile, const BootIdentity& id,
                         const Medium& medium);

/// The kernel modules the booter loads for the profile's probe order (those the kernel lacks
/// are skipped when the initramfs is written).
std::vector<std::string> BooterModules(const profiles::Profile& profile);

/// Artifact "initramfs": `vmlinuz` copied from the image and `initrd.img` (booter, its
/// configuration, the module closure), from the image's layers.
Stage InitramfsStage(const profiles::Profile& profile, int64_t source_date_epoch,
                     std::vector<std::string> layers, const BootIdentity& id, const Medium& medium);

/// isolinux.cfg and GRUB's grub.cfg for the medium, the same entries in both.
std::string IsolinuxConfig(const profiles::Profile& profile);
std::string GrubConfig(const profiles::Profile& profile, const BootIdentity& id);
/// The ESP's grub.cfg: find the medium by its volume UUID, then use its grub.cfg.
std::string EspGrubConfig(const BootIdentity& id);

/// boot.signing for the ESP writer: the key and certificate that sign the EFI binaries the
/// firmware loads; keyed by their content, and only when set (unsigned ESPs keep their keys).
struct EspSigning {
  ContentPath key;
  ContentPath cert;
  bool empty() const { return key.path.empty(); }
  static EspSigning Of(const profiles::Profile& p) {
    return {{p.boot.signing_key}, {p.boot.signing_cert}};
  }
  static void KeyIfSet(KeyInputs& k, const std::string& name, const ContentPath& v) {
    if (!v.path.empty()) k.Content(name, v.path);
  }
  static constexpr auto kFields = std::tuple{Field("key", &EspSigning::key, &KeyIfSet),
                                             Field("cert", &EspSigning::cert, &KeyIfSet)};
};

/// The one file below `tree` whose path ends with `suffix` (a file of the tools packages), as a
/// path from `tree` ("/usr/lib/...").
Result<std::string> FindInTree(const std::string& tree, const std::string& suffix);

/// The program `name` of the tools tree, looked up as PATH would find it there (/usr/sbin,
/// /usr/bin, /sbin, /bin: Debian's dosfstools has /sbin/mkfs.fat, Fedora's /usr/sbin/mkfs.fat),
/// as a path from `tree`.
Result<std::string> ToolProgram(const std::string& tree, const std::string& name);

/// The FAT serial (8 hex digits) of an ESP whose grub.cfg is `grub_cfg`.
std::string EspFatSerial(const std::string& grub_cfg);

/// An ESP as a FAT image file `image` (made with the parent "tools" tree's mkfs.fat and
/// mtools): shim as EFI/BOOT/BOOTX64.EFI (the removable path), GRUB and MokManager beside it,
/// `grub_cfg` as /boot/grub/grub.cfg (where Debian's signed GRUB looks) and as EFI/BOOT/grub.cfg
/// (where Fedora's and openEuler's look), every time
/// `source_date_epoch`, serial EspFatSerial(grub_cfg). With `signing`, the tools tree's sbsign
/// signs shim (BOOTX64.EFI) and MokManager with it, replacing the distribution's signatures.
Status WriteEsp(StageContext& ctx, const families::BootFiles& files, const std::string& grub_cfg,
                int64_t source_date_epoch, const std::string& image, const EspSigning& signing);

/// Artifact "bootloader": `tree/` (isolinux/, boot/grub/ for the medium), `isohdpfx.bin` (the
/// isohybrid MBR) when BIOS boot is on, `efi.img` (the ESP) when UEFI boot is on.
Stage BootloaderStage(const profiles::Profile& profile, int64_t source_date_epoch,
                      const BootIdentity& id);

/// Artifact "iso": NAME.iso from the medium's images and trees, the initramfs and bootloader
/// artifacts, and
/// SHA256SUMS beside it when the profile asks for checksums.
Stage IsoStage(const profiles::Profile& profile, int64_t source_date_epoch, const BootIdentity& id,
               const Medium& medium);

struct OutputPlan;
/// The iso output's planner (stages/outputs.cc): squashfs of the layers, the installer's stages
/// when the profile has one, tools, initramfs, bootloader and iso.
Status PlanIso(OutputPlan& plan);

}  // namespace imager::stages
