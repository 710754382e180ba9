// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Partitioned disk images written into a plain file, without a loop device or a mount: a GPT
/// (protective MBR, primary and backup headers and entry arrays) around partition contents
/// made elsewhere (a FAT ESP, an ext4 root), and GRUB's BIOS boot chain — boot.img in the MBR's
/// code area, core.img in the BIOS boot partition — patched with the sectors where it lies, as
/// grub-bios-setup does for a device. Sectors are 512 bytes. Every byte comes from the inputs,
/// so the same inputs give the same image.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace imager::formats::disk {

inline constexpr uint64_t kSector = 512;
/// Partitions start on MiB boundaries (2048 sectors), as partitioning tools do.
inline constexpr uint64_t kAlign = 2048;
/// Sectors of a GPT entry array of 128 entries of 128 bytes.
inline constexpr uint64_t kEntrySectors = 32;

/// A GUID as it is written on disk (the first three fields little-endian).
using Guid = std::array<uint8_t, 16>;

/// "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" -> its on-disk bytes.
Result<Guid> ParseGuid(const std::string& text);
/// The text form of an on-disk GUID (upper case).
std::string FormatGuid(const Guid& g);
/// A version-4-shaped GUID from the first 16 bytes of sha256(seed): fixed per seed.
Guid GuidFromSeed(const std::string& seed);

/// Partition types.
inline constexpr const char* kBiosBootType = "21686148-6449-6E6F-744E-656564454649";
inline constexpr const char* kEspType = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
/// The Discoverable Partitions Specification's root partition for x86-64.
inline constexpr const char* kRootX86_64Type = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709";

struct Partition {
  Guid type{}, uuid{};
  uint64_t first_lba = 0, last_lba = 0;  // inclusive
  std::string name;                      // ASCII, up to 36 characters
  uint64_t attributes = 0;
};

/// Sector 0: a protective MBR (one 0xEE partition over the disk) with `boot_code` (up to 440
/// bytes; GRUB's boot.img) in its code area.
std::string ProtectiveMbr(uint64_t disk_sectors, const std::string& boot_code);

/// The GPT of a disk of `disk_sectors` sectors: `primary` is LBA 1 (header) and LBAs 2..33
/// (entries), `backup` the last 33 sectors (entries, then the header in the last sector).
struct GptSectors {
  std::string primary, backup;
};
Result<GptSectors> MakeGpt(uint64_t disk_sectors, const Guid& disk_guid,
                           const std::vector<Partition>& parts);

/// Where GRUB's BIOS stages go.
struct GrubBios {
  std::string boot_img;   // GRUB's boot.img (512 bytes)
  std::string core_img;   // grub-mkimage -O i386-pc output
  uint64_t core_lba = 0;  // first sector of core.img (the BIOS boot partition)
};

/// boot.img's code with core.img's first sector (`core_lba`) patched in and the drive check
/// turned off (the BIOS's boot drive is used, as grub-bios-setup does for hard disks): the 440
/// bytes for ProtectiveMbr.
Result<std::string> PatchBootImg(const GrubBios& g);
/// core.img with its first block list pointing at the sectors after its first one, where it
/// lies contiguously from `core_lba`.
Result<std::string> PatchCoreImg(const GrubBios& g);

/// A disk's layout: its size and partitions, and a file with the contents of each partition
/// (empty: none; the partition reads as zeros).
struct Layout {
  uint64_t disk_sectors = 0;
  Guid disk_guid{};
  std::vector<Partition> parts;
  std::vector<std::string> contents;  // host paths, one per partition
  /// BIOS boot (boot.img + core.img at parts[bios_part]); -1: none.
  int bios_part = -1;
  std::string boot_img, core_img;  // bytes
};

/// Writes `layout` to `path` (sparse: zero ranges of the contents stay holes).
Status Write(const Layout& layout, const std::string& path);

/// CRC-32 (IEEE 802.3, as GPT uses).
uint32_t Crc32(const void* data, size_t size, uint32_t crc = 0);

}  // namespace imager::formats::disk
