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
#include <vector>

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

/// A file the rewritten image gets, new or in place of one of the input's.
struct NewFile {
  std::string host;  // the content: a file, symlink or directory (its entries not included)
  std::string path;  // absolute in the image; missing parents are made (0755, 0:0)
  uint32_t mode = 0644, uid = 0, gid = 0;
  int64_t mtime = 0;
};

struct RewriteOptions {
  std::string input;                // the ISO imported
  std::string output;               // written directly (the caller writes beside and renames)
  std::string volume_id;            // "": the input's
  std::string volume_uuid;          // 16 digits: the volume's creation and modification time
  int64_t source_date_epoch = 0;    // times of directories and the catalog made anew
  std::vector<std::string> remove;  // paths in the image, removed with what is below them
  // Replacing what is at their path; a directory onto a directory is merged into it.
  std::vector<NewFile> files;
  // The appended partition `esp_partition` gets the content of the host file `esp_image`.
  int esp_partition = 0;
  std::string esp_image;
};

/// Writes the input again with its tree changed as `o` says and its boot setup replayed from
/// what libisofs reports of the imported image (the way xorriso's `-boot_image any replay`
/// does; formats/iso_replay): the El Torito entries (platform, emulation, load size, boot info
/// table, GRUB2 boot info), an isohybrid, protective or GRUB2 MBR with its cylinder alignment
/// and partition offset, boot images named in the GPT (basic data, HFS+, the UEFI image as ESP,
/// with the input's disk GUID) and in an APM, and appended partitions (read from the input, or
/// `o.esp_image`). Other system areas (MIPS, SPARC, an HFS+ filesystem, ...) are refused by
/// name.
Result<WriteResult> Rewrite(const RewriteOptions& o);

/// The volume uuid derived from a source date epoch: "YYYYMMDDhhmmss00" in UTC.
std::string VolumeUuidFromEpoch(int64_t source_date_epoch);

}  // namespace imager::formats::iso
