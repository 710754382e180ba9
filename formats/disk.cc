// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/disk.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/fd.h"
#include "base/sha256.h"

namespace imager::formats::disk {
namespace {

// Offsets in GRUB's boot.img (grub-core/boot/i386/pc/boot.S, include/grub/i386/pc/boot.h).
constexpr size_t kBootCodeSize = 440;    // up to the disk signature
constexpr size_t kKernelSector = 0x5c;   // 64-bit LBA of core.img's first sector
constexpr size_t kDriveCheck = 0x66;     // a short jmp that skips the boot drive check
constexpr size_t kBlocklistStart = 500;  // core.img's first sector: start LBA (64-bit),
constexpr size_t kBlocklistLen = 508;    // sector count (16-bit)
constexpr uint64_t kGptHeaderSize = 92;
constexpr uint32_t kEntries = 128, kEntrySize = 128;

void Put16(std::string* s, size_t off, uint16_t v) {
  for (int i = 0; i < 2; ++i) (*s)[off + i] = static_cast<char>(v >> (8 * i));
}
void Put32(std::string* s, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) (*s)[off + i] = static_cast<char>(v >> (8 * i));
}
void Put64(std::string* s, size_t off, uint64_t v) {
  for (int i = 0; i < 8; ++i) (*s)[off + i] = static_cast<char>(v >> (8 * i));
}
void PutGuid(std::string* s, size_t off, const Guid& g) {
  std::memcpy(s->data() + off, g.data(), g.size());
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One GPT header for the entries `entries` at `entries_lba`, itself at `lba`.
std::string Header(uint64_t disk_sectors, const Guid& disk_guid, uint64_t lba, uint64_t other,
                   uint64_t entries_lba, uint32_t entries_crc) {
  std::string h(kSector, '\0');
  std::memcpy(h.data(), "EFI PART", 8);
  Put32(&h, 8, 0x00010000);
  Put32(&h, 12, kGptHeaderSize);
  Put64(&h, 24, lba);
  Put64(&h, 32, other);
  Put64(&h, 40, 2 + kEntrySectors);
  Put64(&h, 48, disk_sectors - 2 - kEntrySectors);
  PutGuid(&h, 56, disk_guid);
  Put64(&h, 72, entries_lba);
  Put32(&h, 80, kEntries);
  Put32(&h, 84, kEntrySize);
  Put32(&h, 88, entries_crc);
  Put32(&h, 16, Crc32(h.data(), kGptHeaderSize));
  return h;
}

Status PwriteAll(int fd, const char* data, size_t size, off_t at) {
  while (size > 0) {
    ssize_t n = pwrite(fd, data, size, at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoError("write the disk image");
    data += n;
    size -= static_cast<size_t>(n);
    at += n;
  }
  return {};
}

// Copies `from` into `out` at `offset`, leaving zero runs as holes (the output is sparse).
Status CopyInto(const std::string& from, int out, uint64_t offset, uint64_t room) {
  UniqueFd in(open(from.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return ErrnoError("open " + from);
  struct stat st;
  if (fstat(in.get(), &st) != 0) return ErrnoError("stat " + from);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > room)
    return Error{from + " is " + std::to_string(size) + " bytes, its partition only " +
                 std::to_string(room)};
  std::string buf(1 << 20, '\0');
  const std::string zeros(buf.size(), '\0');
  off_t pos = 0;
  while (static_cast<uint64_t>(pos) < size) {
    off_t data = lseek(in.get(), pos, SEEK_DATA);
    if (data < 0) {
      if (errno == ENXIO) break;  // only a hole is left
      return ErrnoError("seek " + from);
    }
    off_t hole = lseek(in.get(), data, SEEK_HOLE);
    if (hole < 0) return ErrnoError("seek " + from);
    for (off_t at = data; at < hole;) {
      size_t want = static_cast<size_t>(std::min<off_t>(hole - at, buf.size()));
      ssize_t n = pread(in.get(), buf.data(), want, at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return ErrnoError("read " + from);
      if (std::memcmp(buf.data(), zeros.data(), static_cast<size_t>(n)) != 0)
        if (auto st2 =
                PwriteAll(out, buf.data(), static_cast<size_t>(n), static_cast<off_t>(offset) + at);
            !st2)
          return st2;
      at += n;
    }
    pos = hole;
  }
  return {};
}

}  // namespace

uint32_t Crc32(const void* data, size_t size, uint32_t crc) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  const auto* p = static_cast<const uint8_t*>(data);
  crc = ~crc;
  for (size_t i = 0; i < size; ++i) crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

Result<Guid> ParseGuid(const std::string& text) {
  std::string hex;
  for (char c : text)
    if (c != '-') hex += c;
  if (hex.size() != 32 || text.size() != 36 || text[8] != '-' || text[13] != '-' ||
      text[18] != '-' || text[23] != '-')
    return Error{"not a GUID: '" + text + "'"};
  uint8_t b[16];
  for (int i = 0; i < 16; ++i) {
    int hi = HexDigit(hex[2 * i]), lo = HexDigit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return Error{"not a GUID: '" + text + "'"};
    b[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  // Text order is big-endian; the first three fields are stored little-endian.
  Guid g{b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6]};
  std::copy(b + 8, b + 16, g.begin() + 8);
  return g;
}

std::string FormatGuid(const Guid& g) {
  const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    static const char* kHex = "0123456789ABCDEF";
    out += kHex[g[order[i]] >> 4];
    out += kHex[g[order[i]] & 15];
  }
  return out;
}

Guid GuidFromSeed(const std::string& seed) {
  std::string hex = Sha256Hex(seed).substr(0, 32);
  hex[12] = '4';                            // version 4
  hex[16] = "89ab"[HexDigit(hex[16]) & 3];  // RFC 4122 variant
  std::string text = hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
                     hex.substr(16, 4) + "-" + hex.substr(20);
  return *ParseGuid(text);
}

std::string ProtectiveMbr(uint64_t disk_sectors, const std::string& boot_code) {
  std::string m(kSector, '\0');
  std::memcpy(m.data(), boot_code.data(), std::min(boot_code.size(), kBootCodeSize));
  const size_t e = 0x1be;
  m[e + 1] = 0x00;  // CHS of LBA 1: head 0, sector 2, cylinder 0
  m[e + 2] = 0x02;
  m[e + 4] = static_cast<char>(0xee);
  m[e + 5] = m[e + 6] = m[e + 7] = static_cast<char>(0xff);
  Put32(&m, e + 8, 1);
  Put32(&m, e + 12, static_cast<uint32_t>(std::min<uint64_t>(disk_sectors - 1, 0xffffffffu)));
  m[510] = 0x55;
  m[511] = static_cast<char>(0xaa);
  return m;
}

Result<GptSectors> MakeGpt(uint64_t disk_sectors, const Guid& disk_guid,
                           const std::vector<Partition>& parts) {
  if (disk_sectors < 2 * (2 + kEntrySectors) + 1)
    return Error{"a disk of " + std::to_string(disk_sectors) + " sectors is too small for a GPT"};
  if (parts.size() > kEntries) return Error{"more than 128 partitions"};
  const uint64_t first = 2 + kEntrySectors, last = disk_sectors - 2 - kEntrySectors;
  std::string entries(kEntries * kEntrySize, '\0');
  for (size_t i = 0; i < parts.size(); ++i) {
    const Partition& p = parts[i];
    if (p.first_lba < first || p.last_lba > last || p.first_lba > p.last_lba)
      return Error{"partition " + std::to_string(i + 1) + " (" + p.name + ") at sectors " +
                   std::to_string(p.first_lba) + ".." + std::to_string(p.last_lba) +
                   " is outside the usable " + std::to_string(first) + ".." + std::to_string(last)};
    for (size_t j = 0; j < i; ++j)
      if (p.first_lba <= parts[j].last_lba && parts[j].first_lba <= p.last_lba)
        return Error{"partitions " + std::to_string(j + 1) + " and " + std::to_string(i + 1) +
                     " overlap"};
    if (p.name.size() > 36) return Error{"partition name longer than 36: " + p.name};
    const size_t off = i * kEntrySize;
    PutGuid(&entries, off, p.type);
    PutGuid(&entries, off + 16, p.uuid);
    Put64(&entries, off + 32, p.first_lba);
    Put64(&entries, off + 40, p.last_lba);
    Put64(&entries, off + 48, p.attributes);
    for (size_t c = 0; c < p.name.size(); ++c)
      Put16(&entries, off + 56 + 2 * c, static_cast<uint8_t>(p.name[c]));
  }
  const uint32_t crc = Crc32(entries.data(), entries.size());
  const uint64_t backup_lba = disk_sectors - 1, backup_entries = disk_sectors - 1 - kEntrySectors;
  GptSectors g;
  g.primary = Header(disk_sectors, disk_guid, 1, backup_lba, 2, crc) + entries;
  g.backup = entries + Header(disk_sectors, disk_guid, backup_lba, 1, backup_entries, crc);
  return g;
}

Result<std::string> PatchBootImg(const GrubBios& g) {
  if (g.boot_img.size() != kSector)
    return Error{"boot.img is " + std::to_string(g.boot_img.size()) + " bytes, not 512"};
  std::string code = g.boot_img.substr(0, kBootCodeSize);
  Put64(&code, kKernelSector, g.core_lba);
  // boot.S: "jmp 3f" over the check that replaces a floppy drive number by 0x80, for BIOSes
  // that pass a wrong one; grub-bios-setup turns the jump into two nops for hard disks.
  if (static_cast<uint8_t>(code[kDriveCheck]) == 0xeb)
    code[kDriveCheck] = code[kDriveCheck + 1] = static_cast<char>(0x90);
  return code;
}

Result<std::string> PatchCoreImg(const GrubBios& g) {
  if (g.core_img.size() < kSector) return Error{"core.img is shorter than a sector"};
  std::string core = g.core_img;
  const uint64_t sectors = (core.size() + kSector - 1) / kSector;
  if (sectors - 1 > 0xffff) return Error{"core.img is too large for one block list"};
  core.resize(sectors * kSector, '\0');
  // diskboot.img reads block lists from the end of its sector; the first is the rest of core.img.
  Put64(&core, kBlocklistStart, g.core_lba + 1);
  Put16(&core, kBlocklistLen, static_cast<uint16_t>(sectors - 1));
  return core;
}

Status Write(const Layout& l, const std::string& path) {
  auto gpt = MakeGpt(l.disk_sectors, l.disk_guid, l.parts);
  if (!gpt) return gpt.take_error();
  if (l.contents.size() != l.parts.size()) return Error{"one content file per partition"};
  std::string boot_code;
  std::string core;
  if (l.bios_part >= 0) {
    const Partition& bios = l.parts.at(static_cast<size_t>(l.bios_part));
    GrubBios g{l.boot_img, l.core_img, bios.first_lba};
    auto code = PatchBootImg(g);
    if (!code) return code.take_error();
    auto patched = PatchCoreImg(g);
    if (!patched) return patched.take_error();
    boot_code = std::move(*code);
    core = std::move(*patched);
    if (core.size() > (bios.last_lba - bios.first_lba + 1) * kSector)
      return Error{"core.img (" + std::to_string(core.size()) +
                   " bytes) does not fit the BIOS boot partition"};
  }
  UniqueFd out(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!out.valid()) return ErrnoError("create " + path);
  if (ftruncate(out.get(), static_cast<off_t>(l.disk_sectors * kSector)) != 0)
    return ErrnoError("size " + path);
  const std::string mbr = ProtectiveMbr(l.disk_sectors, boot_code);
  for (auto [data, at] : {std::pair<const std::string*, uint64_t>{&mbr, 0},
                          std::pair<const std::string*, uint64_t>{&gpt->primary, kSector},
                          std::pair<const std::string*, uint64_t>{
                              &gpt->backup, (l.disk_sectors - 1 - kEntrySectors) * kSector}})
    if (auto st = PwriteAll(out.get(), data->data(), data->size(), static_cast<off_t>(at)); !st)
      return st;
  for (size_t i = 0; i < l.parts.size(); ++i) {
    const Partition& p = l.parts[i];
    const uint64_t room = (p.last_lba - p.first_lba + 1) * kSector;
    if (static_cast<int>(i) == l.bios_part) {
      if (auto st = PwriteAll(out.get(), core.data(), core.size(),
                              static_cast<off_t>(p.first_lba * kSector));
          !st)
        return st;
    } else if (!l.contents[i].empty()) {
      if (auto st = CopyInto(l.contents[i], out.get(), p.first_lba * kSector, room); !st) return st;
    }
  }
  if (fsync(out.get()) != 0) return ErrnoError("sync " + path);
  return {};
}

}  // namespace imager::formats::disk
