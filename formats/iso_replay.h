// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The boot setup of an imported ISO as libisofs reports it (iso_image_report_el_torito and
/// iso_image_report_system_area: the lines `xorriso -report_el_torito plain` and
/// `-report_system_area plain` print), and the plan Rewrite follows to write it again, decided
/// the way xorriso's `-boot_image any replay` decides it. No libisofs here: the tests feed it
/// report lines.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"

namespace imager::formats::iso {

/// One El Torito image of the imported catalog.
struct ReportedImage {
  int number = 0;
  std::string platform, emulation;  // "BIOS", "UEFI", ...; "none", "fd1.4", ...
  std::string path;                 // in the tree, "" when outside it
  std::string opts;                 // "boot-info-table isohybrid-suitable", ...
  bool bootable = true;
  int load_segment = 0, load_sectors = 0;
  uint64_t lba = 0;  // 2048-byte blocks
};

/// An MBR, GPT or APM partition: start and size in 512-byte blocks (APM ones converted), the
/// file it begins with when in the tree.
struct ReportedPartition {
  int number = 0, type = 0;  // MBR type byte (0xef for an appended GPT ESP)
  int status = 0;            // MBR status byte (0x80: active)
  uint64_t start = 0, blocks = 0;
  std::string path;
  std::string type_guid;  // GPT, as stored (32 hex digits)
  std::string name;       // GPT (local charset) or APM partition name
  std::string apm_type;   // "Apple_HFS", ...
};

struct BootReport {
  std::string catalog;  // the boot catalog's path, "" when it is no file in the tree
  std::vector<ReportedImage> images;
  std::vector<std::string> summary;  // the words of "System area summary"
  std::map<int, ReportedPartition> mbr, gpt, apm;
  std::string gpt_guid;           // 32 hex digits, as stored
  uint64_t image_blocks = 0;      // "ISO image size/512"
  uint32_t partition_offset = 0;  // 2048-byte blocks (xorriso -partition_offset)
  int heads_per_cyl = 0, secs_per_head = 0;
  int apm_block_size = 0;  // 512 or 2048 when there is an APM
};

/// The report lines parsed; an error for a malformed El Torito report.
Result<BootReport> ParseBootReport(const std::vector<std::string>& el_torito,
                                   const std::vector<std::string>& system_area);

/// What libisofs is told to write the boot setup again.
struct BootPlan {
  int system_area_options = 0;  // iso_write_opts_set_system_area()
  bool system_area = false;     // the input's system area is carried over
  // Per El Torito image, in catalog order: its path (a file, or the appended partition as
  // xorriso's interval) and el_torito_set_isolinux_options() bits.
  std::vector<std::string> image_paths;
  std::vector<int> isolinux_options;
  std::map<int, ReportedPartition> appended;  // partitions past the ISO filesystem, by number
  bool appended_as_gpt = false;               // iso_write_opts_set_appended_as_gpt()
  bool appended_as_apm = false;               // iso_write_opts_set_appended_as_apm()
  bool part_like_isohybrid = false;           // GPT/APM mentions without an isohybrid MBR
  // The UEFI El Torito image is also a GPT ESP (xorriso -efi-boot-part --efi-boot-image).
  bool efi_boot_part = false;
  uint32_t tail_blocks = 0;  // 2048-byte padding after the appended partitions (xorriso -padding)
};

/// The plan for `r`, or an error naming what would not be replayed (an emulated El Torito image,
/// a system area of another kind, an HFS+ filesystem in the APM, ...).
Result<BootPlan> PlanReplay(const BootReport& r);

/// The input's 32 KiB system area as libisofs is given it again: its MBR partition table, GPT
/// and APM entries cleared (libisofs writes them anew), the boot code kept.
void ClearPartitionTables(std::string* system_area);

}  // namespace imager::formats::iso
