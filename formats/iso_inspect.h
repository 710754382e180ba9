// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// What an ISO image is and how it boots, read without mounting it: the primary volume
/// descriptor, the El Torito boot catalog (parsed here: libcdio does not), the MBR, GPT and
/// Apple Partition Map of a hybrid image, the boot loader configurations on it, the layout it
/// follows (imager's own, Anaconda/lorax, Debian live-build, archiso) and its embedded checksums,
/// verified. The byte parsers are separate functions so the tests and the fuzzer can feed them
/// directly.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "formats/iso_read.h"

namespace imager::formats::iso {

struct BootEntry {
  int platform_id = 0;   // 0 x86 (BIOS), 0xef UEFI, 1 PowerPC, 2 Mac
  std::string platform;  // "BIOS", "UEFI", ...
  bool bootable = false;
  std::string emulation;  // "none", "1.2M floppy", "1.44M floppy", "2.88M floppy", "hard disk"
  uint16_t load_segment = 0;
  uint32_t load_sectors = 0;  // 512-byte sectors the firmware loads (0: the whole image, UEFI)
  uint32_t lba = 0;           // the image's first 2048-byte sector
  std::string image;          // its path in the ISO, "appended partition N", or ""
};

struct Partition {
  int number = 0;
  std::string type;                 // MBR: "0x17"; GPT: the type GUID; APM: "Apple_HFS", ...
  std::string type_name;            // "EFI System", "Basic data", ... when known
  uint64_t start = 0, sectors = 0;  // in 512-byte sectors
  bool bootable = false;            // MBR active flag
  std::string name;                 // GPT or APM partition name
};

struct Checksum {
  std::string kind;       // "isomd5sum" or "sha256"
  std::string source;     // the file it came from, or "primary volume descriptor"
  bool verified = false;  // it was checked (else `detail` says why not)
  bool ok = false;
  std::string detail;  // what was found: the sum, the files checked, or the mismatches
};

struct Inspection {
  std::string volume_id, system_id, publisher, application;
  std::string created, modified;  // "YYYY-MM-DD hh:mm:ss.cc +hh:mm", "" when unset
  uint64_t volume_bytes = 0;      // the volume space size of the primary volume descriptor
  uint64_t image_bytes = 0;       // the file's size
  std::string boot_catalog;       // its path, or "" when the image has no El Torito record
  std::vector<BootEntry> boot_entries;
  std::vector<Partition> mbr, gpt, apm;
  std::vector<std::string> boot_configs;  // configurations found on the medium
  std::string esp_image;  // the FAT image UEFI boots: a path in the ISO or "appended partition N"
  std::string layout;     // "imager", "anaconda", "debian-live", "archiso", "unknown"
  std::vector<std::string> layout_evidence;  // the files that decided it
  std::vector<Checksum> checksums;
  std::vector<std::string> warnings;  // parts that could not be read (a corrupt catalog, ...)
};

struct InspectOptions {
  bool verify = true;  // read every file a checksum covers
};

Result<Inspection> Inspect(const Reader& reader, const InspectOptions& o);

/// The El Torito boot catalog (its first sectors): the validation entry, the initial entry,
/// section headers and entries. Images are not resolved to paths.
Result<std::vector<BootEntry>> ParseBootCatalog(std::string_view catalog);
/// The partitions of an MBR (the image's first 512 bytes); empty without the 0x55aa signature.
std::vector<Partition> ParseMbr(std::string_view sector0);
/// The partitions of a GPT whose header is `header` (LBA 1, 512 bytes), the entries array read
/// by `read_at` (offset, size); empty without the "EFI PART" signature.
Result<std::vector<Partition>> ParseGpt(
    std::string_view header,
    const std::function<Result<std::string>(uint64_t offset, size_t size)>& read_at);

/// The partitions of an Apple Partition Map in `system_area` (the image's first 32 KiB): the
/// driver descriptor "ER" with the block size (512 or 2048), entries "PM" from block 1 on; starts
/// and sizes converted to 512-byte sectors. Empty without the signatures.
std::vector<Partition> ParseApm(std::string_view system_area);

/// An isomd5sum implant found in the application-use area of the primary volume descriptor.
struct Md5Implant {
  std::string md5;        // 32 hex digits
  int skip_sectors = 15;  // sectors at the end left out of the sum
};
std::optional<Md5Implant> ParseMd5Implant(std::string_view application_use);
/// The MD5 isomd5sum computes: the first `volume_bytes` - skip_sectors * 2048 bytes of the image
/// with the 512-byte application-use area of the primary volume descriptor read as spaces.
Result<std::string> IsoMd5(const Reader& reader, uint64_t volume_bytes, int skip_sectors);

}  // namespace imager::formats::iso
