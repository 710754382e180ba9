// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/iso_inspect.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>

#include "base/sha256.h"
#include "base/strings.h"

namespace imager::formats::iso {
namespace {

constexpr size_t kAppUseOffset = 883, kAppUseSize = 512;
constexpr size_t kMaxDescriptors = 64;  // volume descriptors read before giving up on a 255
constexpr size_t kCatalogBytes = 4 * kSectorSize;
constexpr uint64_t kMaxSumsFile = 1 << 20;
constexpr size_t kSystemArea = 16 * kSectorSize;

uint32_t Le16(std::string_view s, size_t off) {
  return static_cast<uint8_t>(s[off]) | static_cast<uint8_t>(s[off + 1]) << 8;
}
uint32_t Le32(std::string_view s, size_t off) { return Le16(s, off) | Le16(s, off + 2) << 16; }
uint32_t Be16(std::string_view s, size_t off) {
  return static_cast<uint8_t>(s[off]) << 8 | static_cast<uint8_t>(s[off + 1]);
}
uint32_t Be32(std::string_view s, size_t off) { return Be16(s, off) << 16 | Be16(s, off + 2); }
uint64_t Le64(std::string_view s, size_t off) {
  return Le32(s, off) | uint64_t{Le32(s, off + 4)} << 32;
}

// A fixed-width text field of a volume descriptor, trailing spaces and NULs dropped; other
// bytes that would not print are shown as '?'.
std::string Field(std::string_view s, size_t off, size_t len) {
  std::string out(s.substr(off, len));
  while (!out.empty() && (out.back() == ' ' || out.back() == '\0')) out.pop_back();
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  return out;
}

// An ECMA-119 8.4.26.1 date ("YYYYMMDDhhmmsscc" + offset in 15 minutes) as text; "" when unset.
std::string Date(std::string_view s, size_t off) {
  std::string d(s.substr(off, 16));
  if (d.find_first_not_of("0") == std::string::npos ||
      d.find_first_not_of("0123456789") != std::string::npos)
    return "";
  int tz = static_cast<int8_t>(s[off + 16]) * 15;
  char buf[64];
  snprintf(buf, sizeof buf, "%.4s-%.2s-%.2s %.2s:%.2s:%.2s.%.2s %c%02d:%02d", d.data(),
           d.data() + 4, d.data() + 6, d.data() + 8, d.data() + 10, d.data() + 12, d.data() + 14,
           tz < 0 ? '-' : '+', std::abs(tz) / 60, std::abs(tz) % 60);
  return buf;
}

std::string Hex(uint32_t v, int width) {
  char buf[16];
  snprintf(buf, sizeof buf, "0x%0*x", width, v);
  return buf;
}

std::string PlatformName(int id) {
  switch (id) {
    case 0:
      return "BIOS";
    case 1:
      return "PowerPC";
    case 2:
      return "Mac";
    case 0xef:
      return "UEFI";
    default:
      return Hex(id, 2);
  }
}

std::string EmulationName(int media) {
  switch (media & 0x0f) {
    case 0:
      return "none";
    case 1:
      return "1.2M floppy";
    case 2:
      return "1.44M floppy";
    case 3:
      return "2.88M floppy";
    case 4:
      return "hard disk";
    default:
      return "unknown (" + Hex(media, 2) + ")";
  }
}

BootEntry ParseEntry(std::string_view e, int platform) {
  BootEntry b;
  b.platform_id = platform;
  b.platform = PlatformName(platform);
  b.bootable = static_cast<uint8_t>(e[0]) == 0x88;
  b.emulation = EmulationName(static_cast<uint8_t>(e[1]));
  b.load_segment = Le16(e, 2);
  b.load_sectors = Le16(e, 6);
  b.lba = Le32(e, 8);
  return b;
}

std::string Guid(std::string_view g) {
  char buf[40];
  snprintf(buf, sizeof buf, "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X", Le32(g, 0),
           Le16(g, 4), Le16(g, 6), static_cast<uint8_t>(g[8]), static_cast<uint8_t>(g[9]),
           static_cast<uint8_t>(g[10]), static_cast<uint8_t>(g[11]), static_cast<uint8_t>(g[12]),
           static_cast<uint8_t>(g[13]), static_cast<uint8_t>(g[14]), static_cast<uint8_t>(g[15]));
  return buf;
}

std::string GptTypeName(const std::string& guid) {
  static const std::map<std::string, std::string> kNames = {
      {"C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "EFI System"},
      {"EBD0A0A2-B9E5-4433-87C0-68B6B72699C7", "Basic data"},
      {"21686148-6449-6E6F-744E-656564454649", "BIOS boot"},
      {"0FC63DAF-8483-4772-8E79-3D69D8477DE4", "Linux filesystem"},
      {"48465300-0000-11AA-AA11-00306543ECAC", "Apple HFS+"},
  };
  auto it = kNames.find(guid);
  return it == kNames.end() ? "" : it->second;
}

std::string MbrTypeName(int type) {
  switch (type) {
    case 0x00:
      return "empty";
    case 0x0c:
      return "FAT32 LBA";
    case 0x17:
      return "hidden NTFS/ISO (isohybrid)";
    case 0x83:
      return "Linux";
    case 0xcd:
      return "ISO 9660 (isohybrid)";
    case 0xee:
      return "GPT protective";
    case 0xef:
      return "EFI System";
    case 0x01:
      return "FAT12";
    default:
      return "";
  }
}

// The UTF-16LE name of a GPT entry, as ASCII ('?' for other characters).
std::string GptName(std::string_view n) {
  std::string out;
  for (size_t i = 0; i + 1 < n.size(); i += 2) {
    uint32_t c = Le16(n, i);
    if (c == 0) break;
    out += c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?';
  }
  return out;
}

}  // namespace

Result<std::vector<BootEntry>> ParseBootCatalog(std::string_view cat) {
  if (cat.size() < 64) return Error{"the boot catalog is shorter than two entries"};
  std::string_view v = cat.substr(0, 32);
  if (v[0] != 1 || static_cast<uint8_t>(v[30]) != 0x55 || static_cast<uint8_t>(v[31]) != 0xaa)
    return Error{"the boot catalog has no validation entry (header 01, key 55 aa)"};
  uint32_t sum = 0;
  for (size_t i = 0; i < 32; i += 2) sum += Le16(v, i);
  if ((sum & 0xffff) != 0) return Error{"the boot catalog's validation entry checksum is wrong"};
  std::vector<BootEntry> out{ParseEntry(cat.substr(32, 32), static_cast<uint8_t>(v[1]))};
  // Section headers (0x90: more follow, 0x91: the last), each followed by its entries and their
  // extension entries (0x44).
  size_t off = 64;
  bool last = false;
  while (!last && off + 32 <= cat.size()) {
    uint8_t kind = cat[off];
    if (kind != 0x90 && kind != 0x91) break;
    last = kind == 0x91;
    int platform = static_cast<uint8_t>(cat[off + 1]);
    uint32_t count = Le16(cat, off + 2);
    off += 32;
    for (uint32_t i = 0; i < count && off + 32 <= cat.size(); off += 32) {
      if (static_cast<uint8_t>(cat[off]) == 0x44) continue;  // extension of the previous entry
      out.push_back(ParseEntry(cat.substr(off, 32), platform));
      ++i;
    }
  }
  return out;
}

std::vector<Partition> ParseMbr(std::string_view s) {
  std::vector<Partition> out;
  if (s.size() < 512 || static_cast<uint8_t>(s[510]) != 0x55 ||
      static_cast<uint8_t>(s[511]) != 0xaa)
    return out;
  for (int i = 0; i < 4; ++i) {
    std::string_view e = s.substr(446 + 16 * i, 16);
    int type = static_cast<uint8_t>(e[4]);
    if (type == 0 && Le32(e, 12) == 0) continue;  // isohybrid marks type 0 with a size
    Partition p;
    p.number = i + 1;
    p.type = Hex(type, 2);
    p.type_name = MbrTypeName(type);
    p.bootable = static_cast<uint8_t>(e[0]) == 0x80;
    p.start = Le32(e, 8);
    p.sectors = Le32(e, 12);
    out.push_back(p);
  }
  return out;
}

Result<std::vector<Partition>> ParseGpt(
    std::string_view h, const std::function<Result<std::string>(uint64_t, size_t)>& read_at) {
  std::vector<Partition> out;
  if (h.size() < 92 || h.substr(0, 8) != "EFI PART") return out;
  uint64_t entries_lba = Le64(h, 72);
  uint32_t count = Le32(h, 80), size = Le32(h, 84);
  if (count > 1024 || size < 128 || size > 4096 || size % 8 != 0)
    return Error{"the GPT header is corrupt (" + std::to_string(count) + " entries of " +
                 std::to_string(size) + " bytes)"};
  if (entries_lba > (uint64_t{1} << 40)) return Error{"the GPT entries lie past any image"};
  auto data = read_at(entries_lba * 512, size_t{count} * size);
  if (!data) return Wrap("the GPT entries", data.error());
  static const std::string kUnused(16, '\0');
  for (uint32_t i = 0; i < count; ++i) {
    std::string_view e = std::string_view(*data).substr(size_t{i} * size, size);
    if (e.substr(0, 16) == kUnused) continue;
    Partition p;
    p.number = static_cast<int>(i) + 1;
    p.type = Guid(e.substr(0, 16));
    p.type_name = GptTypeName(p.type);
    p.start = Le64(e, 32);
    uint64_t end = Le64(e, 40);
    p.sectors = end >= p.start ? end - p.start + 1 : 0;
    p.name = GptName(e.substr(56, 72));
    out.push_back(p);
  }
  return out;
}

std::vector<Partition> ParseApm(std::string_view s) {
  std::vector<Partition> out;
  if (s.size() < 4 || s.substr(0, 2) != "ER") return out;
  const uint32_t block = Be16(s, 2);
  if (block != 512 && block != 2048) return out;
  const uint64_t sectors_per_block = block / 512;
  // Each entry says how many the map has; the first one's count is taken.
  uint32_t count = 0;
  for (uint32_t i = 1; (i == 1 || i <= count) && (i + 1) * size_t{block} <= s.size(); ++i) {
    std::string_view e = s.substr(i * size_t{block}, block);
    if (e.substr(0, 2) != "PM") break;
    if (i == 1) count = Be32(e, 4);
    Partition p;
    p.number = static_cast<int>(i);
    p.type = Field(e, 48, 32);
    p.type_name = p.type == "Apple_HFS" ? "HFS/HFS+" : "";
    p.name = Field(e, 16, 32);
    p.start = Be32(e, 8) * sectors_per_block;
    p.sectors = Be32(e, 12) * sectors_per_block;
    out.push_back(p);
  }
  return out;
}

std::optional<Md5Implant> ParseMd5Implant(std::string_view app) {
  constexpr std::string_view kKey = "ISO MD5SUM = ";
  size_t at = app.find(kKey);
  if (at == std::string_view::npos || at + kKey.size() + 32 > app.size()) return std::nullopt;
  Md5Implant m;
  m.md5 = std::string(app.substr(at + kKey.size(), 32));
  if (m.md5.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) return std::nullopt;
  constexpr std::string_view kSkip = "SKIPSECTORS = ";
  if (size_t s = app.find(kSkip); s != std::string_view::npos) {
    int n = 0;
    for (size_t i = s + kSkip.size(); i < app.size() && isdigit(static_cast<uint8_t>(app[i])); ++i)
      n = std::min(n * 10 + (app[i] - '0'), 1 << 20);
    m.skip_sectors = n;
  }
  return m;
}

Result<std::string> IsoMd5(const Reader& reader, uint64_t volume_bytes, int skip_sectors) {
  uint64_t skip = uint64_t(skip_sectors) * kSectorSize;
  if (volume_bytes <= skip) return Error{"the volume is smaller than the sectors left out"};
  uint64_t total = volume_bytes - skip;
  if (total > reader.file_size())
    return Error{reader.path() + ": truncated: the sum covers " + std::to_string(total) +
                 " bytes, the file has " + std::to_string(reader.file_size())};
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || !EVP_DigestInit_ex(ctx.get(), EVP_md5(), nullptr)) return Error{"MD5 unavailable"};
  const uint64_t app_start = 16 * kSectorSize + kAppUseOffset;
  constexpr size_t kChunk = 1 << 20;
  for (uint64_t off = 0; off < total;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, total - off));
    auto buf = reader.ReadAt(off, n);
    if (!buf) return buf.take_error();
    // The implant lives in the application-use area: it counts as spaces.
    for (uint64_t i = std::max(off, app_start); i < std::min(off + n, app_start + kAppUseSize); ++i)
      (*buf)[i - off] = ' ';
    EVP_DigestUpdate(ctx.get(), buf->data(), buf->size());
    off += n;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    char b[3];
    snprintf(b, sizeof b, "%02x", md[i]);
    hex += b;
  }
  return hex;
}

namespace {

// The volume descriptors: the primary one's fields, the El Torito record's catalog sector.
Status ReadDescriptors(const Reader& r, Inspection* out, std::string* pvd,
                       std::optional<uint32_t>* catalog) {
  for (size_t i = 0; i < kMaxDescriptors; ++i) {
    auto vd = r.ReadAt((16 + i) * kSectorSize, kSectorSize);
    if (!vd) return vd.take_error();
    if (vd->substr(1, 5) != "CD001") break;
    uint8_t type = (*vd)[0];
    if (type == 255) break;
    if (type == 1 && pvd->empty()) *pvd = *vd;
    if (type == 0 && vd->substr(7, 23) == "EL TORITO SPECIFICATION") *catalog = Le32(*vd, 0x47);
  }
  if (pvd->empty()) return Error{r.path() + ": no primary volume descriptor"};
  std::string_view p = *pvd;
  out->system_id = Field(p, 8, 32);
  out->volume_id = Field(p, 40, 32);
  out->publisher = Field(p, 318, 128);
  out->application = Field(p, 574, 128);
  out->created = Date(p, 813);
  out->modified = Date(p, 830);
  out->volume_bytes = uint64_t{Le32(p, 80)} * kSectorSize;
  return {};
}

// Every file of the image by its first sector, for naming boot images.
std::map<uint32_t, std::string> FilesBySector(const Reader& r, Inspection* out) {
  std::map<uint32_t, std::string> files;
  auto root = r.Stat("/");
  Status st = root ? r.Walk(*root,
                            [&](const Entry& e) -> Status {
                              if (e.IsRegular()) files.emplace(e.lsn, e.path);
                              return {};
                            })
                   : Status(root.take_error());
  if (!st) out->warnings.push_back(st.error());
  return files;
}

void ReadBootCatalog(const Reader& r, uint32_t sector, Inspection* out) {
  auto files = FilesBySector(r, out);
  if (auto it = files.find(sector); it != files.end())
    out->boot_catalog = it->second;
  else
    out->boot_catalog = "sector " + std::to_string(sector);
  uint64_t off = uint64_t{sector} * kSectorSize;
  size_t n = static_cast<size_t>(
      std::min<uint64_t>(kCatalogBytes, off < r.file_size() ? r.file_size() - off : 0));
  auto cat = r.ReadAt(off, n);
  auto entries = cat ? ParseBootCatalog(*cat) : Result<std::vector<BootEntry>>(cat.take_error());
  if (!entries) {
    out->warnings.push_back(r.path() + ": El Torito: " + entries.error());
    return;
  }
  for (auto& e : *entries) {
    if (auto it = files.find(e.lba); it != files.end()) e.image = it->second;
    for (const auto& p : out->gpt.empty() ? out->mbr : out->gpt)
      if (e.image.empty() && p.start == uint64_t{e.lba} * 4 && e.lba != 0)
        e.image = "appended partition " + std::to_string(p.number);
    out->boot_entries.push_back(e);
  }
}

void ReadPartitions(const Reader& r, Inspection* out) {
  auto s0 = r.ReadAt(0, std::min<uint64_t>(kSystemArea, r.file_size()));
  if (!s0 || s0->size() < 1024) return;
  out->mbr = ParseMbr(s0->substr(0, 512));
  out->apm = ParseApm(*s0);
  auto gpt =
      ParseGpt(s0->substr(512, 512), [&](uint64_t off, size_t n) { return r.ReadAt(off, n); });
  if (gpt)
    out->gpt = *gpt;
  else
    out->warnings.push_back(r.path() + ": " + gpt.error());
}

bool Exists(const Reader& r, const std::string& path) { return r.Stat(path).ok(); }

void FindBootConfigs(const Reader& r, Inspection* out) {
  for (const char* p : {"/isolinux/isolinux.cfg", "/syslinux/syslinux.cfg", "/boot/grub/grub.cfg",
                        "/boot/grub2/grub.cfg", "/EFI/BOOT/grub.cfg", "/EFI/BOOT/BOOT.conf",
                        "/boot/grub/loopback.cfg"})
    if (Exists(r, p)) out->boot_configs.push_back(p);
  for (const auto& e : out->boot_entries)
    if (e.platform_id == 0xef && !e.image.empty()) out->esp_image = e.image;
  if (out->esp_image.empty())
    for (const char* p : {"/images/efiboot.img", "/boot/grub/efi.img", "/EFI/archiso/efiboot.img"})
      if (Exists(r, p)) {
        out->esp_image = p;
        break;
      }
}

void RecogniseLayout(const Reader& r, Inspection* out) {
  struct Rule {
    const char* layout;
    std::vector<const char*> all;  // every one present
  };
  static const Rule kRules[] = {
      {"imager", {"/.imager-id"}},
      {"anaconda", {"/.treeinfo"}},
      {"debian-live", {"/live", "/.disk/info"}},
      {"anaconda", {"/images/efiboot.img", "/isolinux"}},
      {"archiso", {"/arch"}},
  };
  for (const auto& rule : kRules) {
    bool all =
        std::all_of(rule.all.begin(), rule.all.end(), [&](const char* p) { return Exists(r, p); });
    if (!all) continue;
    out->layout = rule.layout;
    for (const char* p : rule.all) out->layout_evidence.push_back(p);
    return;
  }
  out->layout = "unknown";
}

// A sha256sum-style list on the medium: "HEX  PATH" or "HEX *PATH" per line.
void VerifySha256Sums(const Reader& r, const InspectOptions& o, Inspection* out) {
  for (const char* list : {"/SHA256SUMS", "/sha256sum.txt", "/sha256sums.txt"}) {
    auto text = r.ReadSmall(list, kMaxSumsFile);
    if (!text) continue;
    Checksum c{.kind = "sha256", .source = list};
    if (!o.verify) {
      c.detail = "not verified (--no-verify)";
      out->checksums.push_back(c);
      continue;
    }
    int good = 0;
    std::vector<std::string> bad;
    for (const auto& raw : Split(*text, '\n')) {
      std::string_view line = Trim(raw);
      size_t sp = line.find(' ');
      if (line.empty() || sp != 64 || line.size() < 67) continue;
      std::string want(line.substr(0, 64));
      std::string path(line.substr(66));
      if (StartsWith(path, "./")) path = path.substr(1);
      if (!StartsWith(path, "/")) path = "/" + path;
      auto e = r.Stat(path);
      Sha256 h;
      Status st = e ? r.Read(*e,
                             [&](std::string_view s) -> Status {
                               h.Update(s);
                               return {};
                             })
                    : Status(e.take_error());
      if (!st)
        bad.push_back(path + " (" + st.error() + ")");
      else if (h.FinalHex() != want)
        bad.push_back(path + " (sha256 differs)");
      else
        ++good;
    }
    c.verified = true;
    c.ok = bad.empty() && good > 0;
    c.detail = std::to_string(good) + " files match" +
               (bad.empty() ? "" : "; mismatched: " + Join(bad, ", "));
    if (good == 0 && bad.empty()) c.detail = "no sha256 lines";
    out->checksums.push_back(c);
  }
}

void VerifyIsoMd5(const Reader& r, std::string_view pvd, const InspectOptions& o, Inspection* out) {
  auto implant = ParseMd5Implant(pvd.substr(kAppUseOffset, kAppUseSize));
  if (!implant) return;
  Checksum c{.kind = "isomd5sum", .source = "primary volume descriptor"};
  c.detail = "md5 " + implant->md5 + ", " + std::to_string(implant->skip_sectors) +
             " sectors at the end left out";
  if (o.verify) {
    auto sum = IsoMd5(r, out->volume_bytes, implant->skip_sectors);
    c.verified = true;
    c.ok = sum && *sum == implant->md5;
    if (!sum)
      c.detail += "; " + sum.error();
    else if (!c.ok)
      c.detail += "; the image's is " + *sum;
  } else {
    c.detail += "; not verified (--no-verify)";
  }
  out->checksums.push_back(c);
}

}  // namespace

Result<Inspection> Inspect(const Reader& r, const InspectOptions& o) {
  Inspection out;
  out.image_bytes = r.file_size();
  std::string pvd;
  std::optional<uint32_t> catalog;
  if (auto st = ReadDescriptors(r, &out, &pvd, &catalog); !st) return st.take_error();
  if (out.volume_bytes > out.image_bytes)
    out.warnings.push_back(r.path() + ": truncated: the volume is " +
                           std::to_string(out.volume_bytes) + " bytes, the file " +
                           std::to_string(out.image_bytes));
  ReadPartitions(r, &out);
  if (catalog) ReadBootCatalog(r, *catalog, &out);
  FindBootConfigs(r, &out);
  RecogniseLayout(r, &out);
  VerifySha256Sums(r, o, &out);
  VerifyIsoMd5(r, pvd, o, &out);
  return out;
}

}  // namespace imager::formats::iso
