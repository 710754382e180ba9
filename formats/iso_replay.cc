// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/iso_replay.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <sstream>

#include "base/strings.h"

namespace imager::formats::iso {
namespace {

// GPT partition types as libisofs reports them (the bytes as stored).
constexpr char kBasicDataGuid[] = "a2a0d0ebe5b9334487c068b6b72699c7";
constexpr char kHfsPlusGuid[] = "005346480000aa11aa1100306543ecac";
constexpr char kEspGuid[] = "28732ac11ff8d211ba4b00a0c93ec93b";

// el_torito_set_isolinux_options() bits.
constexpr int kBootInfoTable = 1 << 0, kIsohybrid = 1 << 1, kGptBasicData = 1 << 2,
              kGptHfsPlus = 2 << 2, kApm = 1 << 8, kGrub2BootInfo = 1 << 9;

// "Name : rest" -> {"Name", "rest"}; the name's blanks kept as they are in the report.
std::pair<std::string, std::string> Field(const std::string& line) {
  size_t colon = line.find(':');
  if (colon == std::string::npos) return {"", ""};
  return {std::string(Trim(line.substr(0, colon))), std::string(Trim(line.substr(colon + 1)))};
}

std::vector<std::string> Words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> w;
  for (std::string x; in >> x;) w.push_back(x);
  return w;
}

// "2  /a path/with blanks" -> "/a path/with blanks".
std::string AfterFirstWord(const std::string& s) {
  size_t end = s.find_first_of(" \t");
  if (end == std::string::npos) return "";
  return std::string(Trim(s.substr(end)));
}

// A decimal (or "0x" hex when `base` is 16) number of the report; 0 when it is none.
uint64_t Num(const std::string& s, int base = 10) {
  std::string_view v = s;
  if (base == 16 && StartsWith(v, "0x")) v.remove_prefix(2);
  uint64_t n = 0;
  std::from_chars(v.data(), v.data() + v.size(), n, base);
  return n;
}
int Int(const std::string& s, int base = 10) { return static_cast<int>(Num(s, base) & 0x7fffffff); }

bool Has(const std::vector<std::string>& words, const std::string& w) {
  return std::find(words.begin(), words.end(), w) != words.end();
}

Status ParseElTorito(const std::vector<std::string>& lines, BootReport* r) {
  for (const auto& line : lines) {
    auto [name, rest] = Field(line);
    auto w = Words(rest);
    if (name == "El Torito cat path") {
      r->catalog = rest;
    } else if (name == "El Torito boot img" && w.size() >= 8) {
      ReportedImage b{.number = Int(w[0]), .platform = w[1], .emulation = w[3]};
      b.bootable = w[2] == "y";
      b.load_segment = Int(w[4], 16);
      b.load_sectors = Int(w[6]);
      b.lba = Num(w[7]);
      r->images.push_back(b);
    } else if ((name == "El Torito img path" || name == "El Torito img opts") && w.size() >= 2) {
      auto b = std::find_if(r->images.begin(), r->images.end(), [&](const ReportedImage& i) {
        return std::to_string(i.number) == w[0];
      });
      if (b == r->images.end()) return Error{"El Torito report: " + line};
      (name == "El Torito img path" ? b->path : b->opts) = AfterFirstWord(rest);
    }
  }
  return {};
}

// A "<MBR|GPT|APM> <field> : N ..." line about partition N into `table` (`w`: the words after
// the colon). Other lines of the tables (headlines, "GPT entry array", ...) are not about one.
void PartitionLine(const std::string& field, const std::vector<std::string>& w,
                   const std::string& rest, bool apm, std::map<int, ReportedPartition>& table) {
  // GPT: "partition name" is hex and "partname local" the text; APM: "partition name" is text.
  const bool name = field == "partname local" || (apm && field == "partition name");
  if (!name && field != "partition" && field != "start and size" && field != "partition path" &&
      field != "type GUID" && field != "partition type")
    return;
  if (field == "partition" && w.size() < 5) return;  // MBR: N status type start blocks
  if (field == "start and size" && w.size() < 3) return;
  auto& p = table[Int(w[0])];
  p.number = Int(w[0]);
  if (field == "partition") {
    p.status = Int(w[1], 16);
    p.type = Int(w[2], 16);
    p.start = Num(w[3]);
    p.blocks = Num(w[4]);
  } else if (field == "start and size") {
    p.start = Num(w[1]);
    p.blocks = Num(w[2]);
  } else if (field == "type GUID") {
    p.type_guid = w[1];
  } else {
    (name ? p.name : field == "partition path" ? p.path : p.apm_type) = AfterFirstWord(rest);
  }
}

void ParseSystemArea(const std::vector<std::string>& lines, BootReport* r) {
  for (const auto& line : lines) {
    auto [name, rest] = Field(line);
    auto w = Words(rest);
    if (w.empty()) continue;
    if (name == "System area summary") {
      r->summary = w;
    } else if (name == "ISO image size/512") {
      r->image_blocks = Num(w[0]);
    } else if (name == "Partition offset") {
      r->partition_offset = static_cast<uint32_t>(Num(w[0]));
    } else if (name == "MBR heads per cyl") {
      r->heads_per_cyl = Int(w[0]);
    } else if (name == "MBR secs per head") {
      r->secs_per_head = Int(w[0]);
    } else if (name == "GPT disk GUID") {
      r->gpt_guid = w[0];
    } else if (name == "APM block size") {
      r->apm_block_size = Int(w[0]);
    } else if (w.size() >= 2 && name.size() > 4 &&
               (StartsWith(name, "MBR ") || StartsWith(name, "GPT ") || StartsWith(name, "APM "))) {
      auto& table = name[0] == 'M' ? r->mbr : name[0] == 'G' ? r->gpt : r->apm;
      PartitionLine(name.substr(4), w, rest, name[0] == 'A', table);
    }
  }
  // APM addresses count APM blocks.
  const uint64_t per_block = r->apm_block_size == 2048 ? 4 : 1;
  for (auto& [n, p] : r->apm) {
    p.start *= per_block;
    p.blocks *= per_block;
  }
}

// Partitions libisofs makes by itself to fill what others leave free: GPT "Gap1", APM
// "Gap0" of type ISO9660_data.
bool GapFiller(const ReportedPartition& p) {
  return StartsWith(p.name, "Gap") && p.name.size() > 3 &&
         std::all_of(p.name.begin() + 3, p.name.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Where the ISO filesystem ends (512-byte blocks): the image size, or with a partition offset,
// the end of the partition that holds the filesystem.
uint64_t IsoEnd(const BootReport& r) {
  uint64_t end = r.image_blocks;
  if (r.partition_offset == 0) return end;
  for (const auto* table : {&r.mbr, &r.gpt})
    for (const auto& [n, p] : *table)
      if (p.path.empty() && p.start == uint64_t{r.partition_offset} * 4)
        end = std::min(end, p.start + p.blocks);
  return end;
}

// The partitions past the end of the ISO filesystem (the appended ones), by number: from the
// MBR, else (a protective MBR) from the GPT, an ESP there getting type 0xef.
Status Appended(const BootReport& r, BootPlan* plan) {
  const uint64_t iso_end = IsoEnd(r);
  auto appended = [&](const ReportedPartition& p) {
    return p.path.empty() && p.start > 0 && p.start >= iso_end && p.blocks > 0 && !GapFiller(p);
  };
  for (const auto& [n, p] : r.mbr)
    if (appended(p)) plan->appended[n] = p;
  for (const auto& [n, p] : r.gpt) {
    if (!appended(p)) continue;
    // An ESP in the GPT as itself (not as a basic data mention of a boot image).
    if (p.type_guid == kEspGuid) plan->appended_as_gpt = true;
    if (plan->appended.count(n)) continue;
    if (p.type_guid != kEspGuid)
      return Error{"appended GPT partition " + std::to_string(n) + " of type " + p.type_guid +
                   " is not replayed"};
    plan->appended[n] = p;
    plan->appended[n].type = 0xef;
  }
  // Padding after them shows as a GPT gap filler there: the same padding again.
  uint64_t end = 0;
  for (const auto& [n, p] : plan->appended) end = std::max(end, p.start + p.blocks);
  for (const auto& [n, p] : r.gpt)
    if (end && GapFiller(p) && p.start >= end)
      plan->tail_blocks = static_cast<uint32_t>(p.blocks / 4);
  return {};
}

// libisofs' system area options for the summary, or an error naming what is not replayed.
Result<int> SystemAreaOptions(const BootReport& r) {
  const auto& s = r.summary;
  if (s.empty() || Has(s, "none")) return 0;
  for (const auto& w : s)
    if (w != "MBR" && w != "isohybrid" && w != "protective-msdos-label" && w != "grub2-mbr" &&
        w != "GPT" && w != "APM" && !StartsWith(w, "cyl-align-"))
      return Error{"its system area (" + Join(s, " ") + ") is not one this writer can replay"};
  if (!Has(s, "MBR")) return Error{"its system area (" + Join(s, " ") + ") has no MBR"};
  int o = Has(s, "isohybrid") ? 1 << 1 : Has(s, "protective-msdos-label") ? 1 << 0 : 0;
  if (Has(s, "grub2-mbr")) o |= 1 << 14;
  // An active partition (xorriso --mbr-force-bootable; a dummy one when no other may be).
  for (const auto& [n, p] : r.mbr)
    if (p.status & 0x80) o |= 1 << 15;
  if (Has(s, "cyl-align-on")) o |= 1 << 8;
  if (Has(s, "cyl-align-off")) o |= 2 << 8;
  if (Has(s, "cyl-align-all")) o |= 3 << 8;
  return o;
}

// The GPT partition type by which `path` (a file in the tree, or "" and the appended partition
// at `start`) is mentioned: el_torito_set_isolinux_options() bits 2-7 (xorriso
// -isohybrid-gpt-basdat, -isohybrid-gpt-hfsplus), 0 when it is not.
int GptMention(const BootReport& r, const std::string& path, uint64_t start) {
  for (const auto& [n, p] : r.gpt) {
    bool same = (!path.empty() && p.path == path) || (path.empty() && p.start == start && start);
    if (same && p.type_guid == kBasicDataGuid) return kGptBasicData;
    if (same && p.type_guid == kHfsPlusGuid) return kGptHfsPlus;
  }
  return 0;
}

// The APM: each partition a boot image mentioned (xorriso -isohybrid-apm-hfsplus), an appended
// partition, or a gap libisofs fills again; anything else (an HFS+ filesystem, xorriso -hfsplus)
// is refused.
Status PlanApm(const BootReport& r, BootPlan* plan) {
  for (const auto& entry : r.apm) {
    const ReportedPartition& p = entry.second;  // named, not bound: lambdas below capture it
    if (GapFiller(p) && p.apm_type == "ISO9660_data") continue;
    auto image = std::find_if(r.images.begin(), r.images.end(), [&](const ReportedImage& b) {
      return !p.path.empty() && b.path == p.path;
    });
    if (image != r.images.end()) {
      plan->isolinux_options[image - r.images.begin()] |= kApm;
      continue;
    }
    auto part = std::find_if(plan->appended.begin(), plan->appended.end(), [&](const auto& a) {
      return p.path.empty() && a.second.start == p.start;
    });
    if (part != plan->appended.end()) {
      plan->appended_as_apm = true;
      continue;
    }
    return Error{"APM partition " + std::to_string(entry.first) + " (\"" + p.name + "\", " +
                 p.apm_type +
                 ") is neither a boot image nor an appended partition: an HFS+ filesystem is "
                 "not rebuilt"};
  }
  return {};
}

// Every GPT partition is one libisofs makes again from the plan: the one holding the ISO
// filesystem, a mention of a boot image, an appended partition, a gap filler, or the UEFI boot
// image as ESP (which sets efi_boot_part).
Status PlanGpt(const BootReport& r, BootPlan* plan) {
  for (const auto& [n, p] : r.gpt) {
    const bool iso =
        p.path.empty() && (p.start == 0 || p.start == uint64_t{r.partition_offset} * 4);
    bool mention = false;
    for (const auto& b : r.images) {
      bool same = (!p.path.empty() && p.path == b.path) || (p.path.empty() && p.start == b.lba * 4);
      mention |= same && GptMention(r, b.path, b.lba * 4);
      if (same && b.platform == "UEFI" && !b.path.empty() && p.type_guid == kEspGuid)
        plan->efi_boot_part = mention = true;
    }
    if (iso || mention || plan->appended.count(n) || GapFiller(p)) continue;
    return Error{"GPT partition " + std::to_string(n) + " (\"" + p.name + "\", type " +
                 p.type_guid + ") is not one this writer can replay"};
  }
  return {};
}

// Every MBR partition is one libisofs makes again: GPT's protective one, the one holding the ISO
// filesystem (isohybrid, protective label, GRUB2 MBR or partition offset), the mirror of a GPT
// partition, an appended partition, or the dummy active one (--mbr-force-bootable). Others (a
// generic MBR's own table) are refused rather than cleared.
Status PlanMbr(const BootReport& r, const BootPlan& plan) {
  const bool iso_partition =
      (plan.system_area_options & (1 << 0 | 1 << 1 | 1 << 14)) || r.partition_offset > 0;
  for (const auto& entry : r.mbr) {
    const auto& [n, p] = entry;
    const uint64_t start = p.start;  // captured below (a binding cannot be)
    const bool iso = iso_partition && p.path.empty() &&
                     (p.start <= 1 || p.start == uint64_t{r.partition_offset} * 4);
    const bool dummy = p.type == 0 && p.start == 0 && p.blocks == 1 && (p.status & 0x80);
    const bool mirror = std::any_of(r.gpt.begin(), r.gpt.end(),
                                    [&](const auto& g) { return g.second.start == start; });
    if (p.type == 0xee || iso || dummy || mirror || plan.appended.count(n)) continue;
    char type[8];
    snprintf(type, sizeof type, "0x%02x", p.type & 0xff);
    return Error{"MBR partition " + std::to_string(n) + " (type " + type + ", start " +
                 std::to_string(p.start) + ") is not one this writer can replay"};
  }
  return {};
}

// Each El Torito image: its path and isolinux options.
Status PlanImages(const BootReport& r, BootPlan* plan) {
  if (!r.images.empty() && r.catalog.empty())
    return Error{"its boot catalog is not a file in the tree"};
  for (const auto& b : r.images) {
    std::string path = b.path;
    if (path.empty())
      for (const auto& [n, p] : plan->appended)
        if (p.start == b.lba * 4)
          path = "--interval:appended_partition_" + std::to_string(n) + ":all::";
    if (path.empty())
      return Error{"El Torito image " + std::to_string(b.number) +
                   " is neither a file nor a partition"};
    if (b.emulation != "none")
      return Error{"El Torito image " + path + ": emulation " + b.emulation + " is not replayed"};
    int opts = 0;
    for (const auto& w : Words(b.opts)) {
      if (w == "boot-info-table")
        opts |= kBootInfoTable;
      else if (w == "isohybrid-suitable")
        opts |= kIsohybrid;
      else if (w == "grub2-boot-info")
        opts |= kGrub2BootInfo;
      else
        return Error{"El Torito image " + path + ": option " + w + " is not replayed"};
    }
    opts |= GptMention(r, b.path, b.lba * 4);
    plan->image_paths.push_back(path);
    plan->isolinux_options.push_back(opts);
  }
  return {};
}

}  // namespace

void ClearPartitionTables(std::string* system_area) {
  std::string& s = *system_area;
  if (s.size() < 1024) return;
  if (s[510] == '\x55' && s[511] == '\xaa') std::fill_n(s.begin() + 446, 64, '\0');
  if (s.compare(512, 8, "EFI PART") == 0) std::fill(s.begin() + 512, s.end(), '\0');
  // An APM: the driver descriptor "ER" with its block size, the entries "PM" in the next blocks.
  if (s.compare(0, 2, "ER") != 0) return;
  const size_t block = static_cast<uint8_t>(s[2]) << 8 | static_cast<uint8_t>(s[3]);
  if (block != 512 && block != 2048) return;
  for (size_t off = block; off + block <= s.size() && s.compare(off, 2, "PM") == 0; off += block)
    std::fill_n(s.begin() + off, block, '\0');
}

Result<BootReport> ParseBootReport(const std::vector<std::string>& el_torito,
                                   const std::vector<std::string>& system_area) {
  BootReport r;
  if (auto st = ParseElTorito(el_torito, &r); !st) return st.take_error();
  ParseSystemArea(system_area, &r);
  return r;
}

Result<BootPlan> PlanReplay(const BootReport& r) {
  BootPlan plan;
  auto options = SystemAreaOptions(r);
  if (!options) return options.take_error();
  plan.system_area_options = *options;
  plan.system_area = !r.summary.empty() && !Has(r.summary, "none");
  if (auto st = Appended(r, &plan); !st) return st.take_error();
  if (auto st = PlanImages(r, &plan); !st) return st.take_error();
  if (auto st = PlanApm(r, &plan); !st) return st.take_error();
  if (auto st = PlanGpt(r, &plan); !st) return st.take_error();
  if (auto st = PlanMbr(r, plan); !st) return st.take_error();
  // Mentions of boot images in GPT or APM without an isohybrid MBR (e.g. behind GRUB2's MBR).
  bool mentions = std::any_of(plan.isolinux_options.begin(), plan.isolinux_options.end(),
                              [](int o) { return o & (kApm | 0xfc); });
  plan.part_like_isohybrid = mentions && !Has(r.summary, "isohybrid");
  return plan;
}

}  // namespace imager::formats::iso
