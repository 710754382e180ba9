// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Hybrid ISO 9660 images (libisofs): Write() turns a directory tree into an ISO with Rock Ridge
/// and Joliet, optionally bootable by BIOS (El Torito isolinux + isohybrid MBR) and UEFI (an
/// appended ESP named by El Torito, MBR and GPT). Every time, owner, mode, GUID and the order of
/// the file data depend only on the options and the tree's names and contents, so a rebuild gives
/// the same bytes.

#include <cstdint>
#include <functional>
#include <string>

#include "base/result.h"

namespace imager::formats::iso {

struct WriteOptions {
  std::string root;    // host directory whose whole tree becomes the ISO's root
  std::string output;  // the .iso; written to OUTPUT.part, renamed when complete
  // ISO 9660 volume id: 1 to 32 characters out of A-Z 0-9 _.
  std::string volume_id;
  // Every time in the image (volume descriptors, directory records, Rock Ridge); required.
  int64_t source_date_epoch = -1;
  // 16 decimal digits YYYYMMDDhhmmsscc written as the volume's creation and modification time
  // (GRUB's iso9660 fs-uuid "YYYY-MM-DD-hh-mm-ss-cc" is read from it). Empty: the source date
  // epoch in UTC with cc = 00.
  std::string volume_uuid;
  // BIOS El Torito: path inside `root` of isolinux.bin ("isolinux/isolinux.bin"), loaded as a
  // no-emulation image (4 sectors) with its boot info table patched. The catalog goes to
  // `bios_catalog` (default: boot.cat beside the boot image), made by libisofs.
  std::string bios_boot_image;
  std::string bios_catalog;
  // Host path of syslinux's isohdpfx.bin: an isohybrid MBR so the image boots by BIOS when it is
  // written to a disk. Needs bios_boot_image.
  std::string isohybrid_mbr;
  // Host path of a FAT image (the ESP): appended as partition 2 (MBR type 0xef, in the GPT as
  // well) and named by the El Torito UEFI (platform 0xef) no-emulation entry.
  std::string efi_image;
  // Called as the image is written: bytes written so far, bytes in all.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct WriteResult {
  uint64_t bytes = 0;  // size of the image
};

/// Writes the image described by `o`. Directories get mode 0755, files 0755 when the host file
/// has any execute bit and 0644 otherwise, owners are 0:0, symlinks are kept as symlinks; device
/// nodes, fifos and sockets are refused. Nothing is left under `o.output` unless it is complete.
Result<WriteResult> Write(const WriteOptions& o);

/// The volume uuid derived from a source date epoch: "YYYYMMDDhhmmss00" in UTC.
std::string VolumeUuidFromEpoch(int64_t source_date_epoch);

}  // namespace imager::formats::iso
