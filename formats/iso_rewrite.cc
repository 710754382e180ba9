// SPDX-License-Identifier: GPL-3.0-or-later
// formats::iso::Rewrite: an imported ISO written again by libisofs, its boot setup replayed.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <sstream>

#include "base/fd.h"
#include "base/strings.h"
#include "formats/iso.h"
#include "formats/iso_libisofs.h"

namespace imager::formats::iso {
namespace {

constexpr uint32_t kSystemArea = 32768;

struct ReadOptsFree {
  void operator()(IsoReadOpts* o) const { iso_read_opts_free(o); }
};

// One El Torito image as libisofs reports it of the imported catalog.
struct BootImage {
  int number = 0;
  std::string platform, emulation, path, opts;
  bool bootable = true;
  int load_segment = 0, load_sectors = 0;
  uint64_t lba = 0;
  int appended = 0;  // the appended partition it is, when outside the tree
};

// An MBR or GPT partition as reported: number, start and size in 512-byte blocks, the file it
// is (when in the tree).
struct ReportedPartition {
  int number = 0, type = 0;  // MBR type byte
  uint64_t start = 0, blocks = 0;
  std::string path;
  std::string type_guid;  // GPT, as stored (32 hex digits)
};

// GPT partition types as libisofs reports them (the bytes as stored).
constexpr char kBasicDataGuid[] = "a2a0d0ebe5b9334487c068b6b72699c7";
constexpr char kEspGuid[] = "28732ac11ff8d211ba4b00a0c93ec93b";

struct Replay {
  std::string catalog;
  std::vector<BootImage> images;
  std::vector<std::string> summary;  // the words of "System area summary"
  std::map<int, ReportedPartition> mbr;
  std::map<int, ReportedPartition> gpt;
  std::string gpt_guid;       // 32 hex digits, as stored
  uint64_t image_blocks = 0;  // "ISO image size/512"
};

std::vector<std::string> Report(IsoImage* image, bool el_torito) {
  char** lines = nullptr;
  int n = 0;
  auto report = el_torito ? iso_image_report_el_torito : iso_image_report_system_area;
  std::vector<std::string> out;
  if (report(image, &lines, &n, 0) < 0 || !lines) return out;
  for (int i = 0; i < n; ++i) out.emplace_back(lines[i]);
  report(image, &lines, &n, 1 << 15);  // frees them
  return out;
}

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

BootImage* Image(Replay& r, const std::string& number) {
  for (auto& i : r.images)
    if (std::to_string(i.number) == number) return &i;
  return nullptr;
}

Status ParseElTorito(const std::vector<std::string>& lines, Replay* r) {
  for (const auto& line : lines) {
    auto [name, rest] = Field(line);
    auto w = Words(rest);
    if (name == "El Torito cat path") {
      r->catalog = rest;
    } else if (name == "El Torito boot img" && w.size() >= 8) {
      BootImage b{.number = std::stoi(w[0]), .platform = w[1], .emulation = w[3]};
      b.bootable = w[2] == "y";
      b.load_segment = static_cast<int>(std::stoul(w[4], nullptr, 16));
      b.load_sectors = std::stoi(w[6]);
      b.lba = std::stoull(w[7]);
      r->images.push_back(b);
    } else if ((name == "El Torito img path" || name == "El Torito img opts") && w.size() >= 2) {
      BootImage* b = Image(*r, w[0]);
      if (!b) return Error{"El Torito report: " + line};
      (name == "El Torito img path" ? b->path : b->opts) = AfterFirstWord(rest);
    }
  }
  return {};
}

void ParseSystemArea(const std::vector<std::string>& lines, Replay* r) {
  for (const auto& line : lines) {
    auto [name, rest] = Field(line);
    auto w = Words(rest);
    if (name == "System area summary") {
      r->summary = w;
    } else if (name == "ISO image size/512" && !w.empty()) {
      r->image_blocks = std::stoull(w[0]);
    } else if (name == "MBR partition" && w.size() >= 5) {
      auto& p = r->mbr[std::stoi(w[0])];
      p.number = std::stoi(w[0]);
      p.type = static_cast<int>(std::stoul(w[2], nullptr, 16));
      p.start = std::stoull(w[3]);
      p.blocks = std::stoull(w[4]);
    } else if (name == "MBR partition path" && w.size() >= 2) {
      r->mbr[std::stoi(w[0])].path = AfterFirstWord(rest);
    } else if (name == "GPT partition path" && w.size() >= 2) {
      r->gpt[std::stoi(w[0])].path = AfterFirstWord(rest);
    } else if (name == "GPT type GUID" && w.size() >= 2) {
      r->gpt[std::stoi(w[0])].type_guid = w[1];
    } else if (name == "GPT start and size" && w.size() >= 3) {
      auto& p = r->gpt[std::stoi(w[0])];
      p.number = std::stoi(w[0]);
      p.start = std::stoull(w[1]);
      p.blocks = std::stoull(w[2]);
    } else if (name == "GPT disk GUID" && !w.empty()) {
      r->gpt_guid = w[0];
    }
  }
}

bool Has(const std::vector<std::string>& words, const std::string& w) {
  return std::find(words.begin(), words.end(), w) != words.end();
}

// The partitions past the end of the ISO filesystem (the appended ones), by number: from the
// MBR, else (a protective MBR) from the GPT, an ESP there getting type 0xef.
Result<std::map<int, ReportedPartition>> Appended(const Replay& r) {
  std::map<int, ReportedPartition> out;
  auto appended = [&](const ReportedPartition& p) {
    return p.path.empty() && p.start > 0 && p.start >= r.image_blocks && p.blocks > 0;
  };
  for (const auto& [n, p] : r.mbr)
    if (appended(p)) out[n] = p;
  for (const auto& [n, p] : r.gpt) {
    if (!appended(p) || out.count(n)) continue;
    if (p.type_guid != kEspGuid)
      return Error{"appended GPT partition " + std::to_string(n) + " of type " + p.type_guid +
                   " is not replayed"};
    out[n] = p;
    out[n].type = 0xef;
  }
  return out;
}

// Whether the GPT names the boot image `b` (a file in the tree, or the appended partition at
// `start`) as a basic data partition (xorriso -isohybrid-gpt-basdat).
bool GptBasicData(const Replay& r, const std::string& path, uint64_t start) {
  for (const auto& [n, p] : r.gpt)
    if (p.type_guid == kBasicDataGuid &&
        ((!path.empty() && p.path == path) || (path.empty() && p.start == start && start > 0)))
      return true;
  return false;
}

// libisofs' system area options for the summary, or an error naming what is not replayed.
Result<int> SystemAreaOptions(const Replay& r) {
  const auto& s = r.summary;
  if (s.empty() || Has(s, "none")) return 0;
  for (const auto& w : s)
    if (w != "MBR" && w != "isohybrid" && w != "protective-msdos-label" && w != "GPT" &&
        !StartsWith(w, "cyl-align-"))
      return Error{"its system area (" + Join(s, " ") + ") is not one this writer can replay"};
  if (!Has(s, "MBR")) return Error{"its system area (" + Join(s, " ") + ") has no MBR"};
  int o = Has(s, "isohybrid") ? 1 << 1 : Has(s, "protective-msdos-label") ? 1 << 0 : 0;
  if (Has(s, "cyl-align-on")) o |= 1 << 8;
  if (Has(s, "cyl-align-off")) o |= 2 << 8;
  if (Has(s, "cyl-align-all")) o |= 3 << 8;
  return o;
}

int Platform(const std::string& p) {
  if (p == "BIOS") return 0;
  if (p == "UEFI") return 0xef;
  if (p == "PPC") return 1;
  if (p == "Mac") return 2;
  return static_cast<int>(std::stoul(p, nullptr, 16));
}

// Every parent of `path` as a directory, made when missing (0755, 0:0, `epoch`).
Result<IsoDir*> Parents(IsoImage* image, const std::string& path, time_t epoch) {
  IsoDir* dir = iso_image_get_root(image);
  auto parts = Split(path.substr(1), '/');
  parts.pop_back();
  for (const auto& name : parts) {
    IsoNode* node = nullptr;
    if (iso_dir_get_node(dir, name.c_str(), &node) == 1) {
      if (iso_node_get_type(node) != LIBISO_DIR)
        return Error{path + ": " + name + " is no directory"};
      dir = reinterpret_cast<IsoDir*>(node);
      continue;
    }
    IsoDir* made = nullptr;
    int rc = iso_tree_add_new_dir(dir, name.c_str(), &made);
    if (rc < 0) return IsoError("making the directory " + name + " for " + path, rc);
    auto* n = reinterpret_cast<IsoNode*>(made);
    iso_node_set_permissions(n, 0755);
    iso_node_set_uid(n, 0);
    iso_node_set_gid(n, 0);
    iso_node_set_mtime(n, epoch);
    iso_node_set_atime(n, epoch);
    iso_node_set_ctime(n, epoch);
    dir = made;
  }
  return dir;
}

Status ChangeTree(IsoImage* image, const RewriteOptions& o) {
  for (const auto& p : o.remove) {
    IsoNode* node = nullptr;
    if (iso_tree_path_to_node(image, p.c_str(), &node) != 1) return Error{p + ": not in the image"};
    if (int rc = iso_node_remove(node); rc < 0) return IsoError("removing " + p, rc);
  }
  const time_t epoch = static_cast<time_t>(o.source_date_epoch);
  for (const auto& f : o.files) {
    IsoNode* old = nullptr;
    struct stat st;
    const bool host_dir = lstat(f.host.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    if (iso_tree_path_to_node(image, f.path.c_str(), &old) == 1) {
      if (host_dir && iso_node_get_type(old) == LIBISO_DIR) continue;  // merged into, not replaced
      iso_node_remove(old);
    }
    auto dir = Parents(image, f.path, epoch);
    if (!dir) return dir.take_error();
    IsoNode* node = nullptr;
    std::string name = f.path.substr(f.path.rfind('/') + 1);
    int rc = iso_tree_add_new_node(image, *dir, name.c_str(), f.host.c_str(), &node);
    if (rc < 0) return IsoError("adding " + f.host + " as " + f.path, rc);
    iso_node_set_permissions(node, f.mode & 07777);
    iso_node_set_uid(node, f.uid);
    iso_node_set_gid(node, f.gid);
    iso_node_set_mtime(node, static_cast<time_t>(f.mtime));
    iso_node_set_atime(node, static_cast<time_t>(f.mtime));
    iso_node_set_ctime(node, static_cast<time_t>(f.mtime));
  }
  return {};
}

// The El Torito entries made again from the report, in the input's order.
Status SetBoot(IsoImage* image, const Replay& r, const RewriteOptions& o,
               const std::map<int, ReportedPartition>& appended) {
  if (r.images.empty()) return {};
  if (r.catalog.empty()) return Error{"its boot catalog is not a file in the tree"};
  bool first = true;
  for (const auto& b : r.images) {
    std::string path = b.path;
    if (path.empty())
      for (const auto& [n, p] : appended)
        if (p.start == b.lba * 4)
          path = "--interval:appended_partition_" + std::to_string(n) + ":all::";
    if (path.empty())
      return Error{"El Torito image " + std::to_string(b.number) +
                   " is neither a file nor a partition"};
    if (b.emulation != "none")
      return Error{"El Torito image " + path + ": emulation " + b.emulation + " is not replayed"};
    ElToritoBootImage* e = nullptr;
    int rc = first ? iso_image_set_boot_image(image, path.c_str(), ELTORITO_NO_EMUL,
                                              r.catalog.c_str(), &e)
                   : iso_image_add_boot_image(image, path.c_str(), ELTORITO_NO_EMUL, 0, &e);
    if (rc < 0) return IsoError("El Torito image " + path, rc);
    first = false;
    el_torito_set_boot_platform_id(e, static_cast<uint8_t>(Platform(b.platform)));
    if (!b.bootable) el_torito_set_no_bootable(e);
    if (b.load_segment) el_torito_set_load_seg(e, static_cast<short>(b.load_segment));
    if (b.platform == "UEFI")
      el_torito_set_full_load(e, 1);
    else
      el_torito_set_load_size(e, static_cast<short>(b.load_sectors));
    int opts = 0;
    for (const auto& w : Words(b.opts)) {
      if (w == "boot-info-table")
        opts |= 1 << 0;
      else if (w == "isohybrid-suitable")
        opts |= 1 << 1;
      else if (w == "grub2-boot-info")
        opts |= 1 << 9;
      else
        return Error{"El Torito image " + path + ": option " + w + " is not replayed"};
    }
    // An in-tree image the GPT names: a basic data partition (xorriso -isohybrid-gpt-basdat).
    if (GptBasicData(r, b.path, b.lba * 4)) opts |= 1 << 2;
    el_torito_set_isolinux_options(e, opts, 0);
  }
  IsoBoot* catnode = nullptr;
  uint32_t lba;
  char* content = nullptr;
  off_t size;
  if (iso_image_get_bootcat(image, &catnode, &lba, &content, &size) == 1 && catnode) {
    const time_t t = static_cast<time_t>(o.source_date_epoch);
    auto* n = reinterpret_cast<IsoNode*>(catnode);
    iso_node_set_mtime(n, t);
    iso_node_set_atime(n, t);
    iso_node_set_ctime(n, t);
  }
  free(content);
  return {};
}

Result<std::string> SystemAreaData(int fd, const std::string& input) {
  std::string sa(kSystemArea, '\0');
  if (pread(fd, sa.data(), sa.size(), 0) != static_cast<ssize_t>(sa.size()))
    return ErrnoError("read the system area of " + input);
  if (sa[510] == '\x55' && sa[511] == '\xaa') memset(sa.data() + 446, 0, 64);
  if (sa.compare(512, 8, "EFI PART") == 0) memset(sa.data() + 512, 0, kSystemArea - 512);
  return sa;
}

Status SetSystemArea(IsoWriteOpts* opts, const Replay& r, const RewriteOptions& o,
                     const std::map<int, ReportedPartition>& appended) {
  auto options = SystemAreaOptions(r);
  if (!options) return options.take_error();
  if (!r.summary.empty() && !Has(r.summary, "none")) {
    UniqueFd fd(open(o.input.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return ErrnoError("open " + o.input);
    auto sa = SystemAreaData(fd.get(), o.input);
    if (!sa) return sa.take_error();
    int rc = iso_write_opts_set_system_area(opts, sa->data(), *options, 0);
    if (rc < 0) return IsoError("setting the system area", rc);
  }
  for (const auto& [n, p] : appended) {
    std::string src = o.esp_partition == n ? o.esp_image
                                           : "imported_iso:" + std::to_string(p.start) + "d-" +
                                                 std::to_string(p.start + p.blocks - 1) + "d::";
    int rc = iso_write_opts_set_partition_img(opts, n, static_cast<uint8_t>(p.type),
                                              const_cast<char*>(src.c_str()),
                                              o.esp_partition == n ? 0 : 1);
    if (rc < 0) return IsoError("appending partition " + std::to_string(n), rc);
  }
  // Appended partitions in the GPT as themselves (not as basic data mentions of boot images).
  for (const auto& [n, p] : appended)
    if (auto it = r.gpt.find(n); it != r.gpt.end() && it->second.type_guid == kEspGuid)
      iso_write_opts_set_appended_as_gpt(opts, 1);
  if (r.gpt_guid.size() == 32) {
    uint8_t guid[16];
    for (int i = 0; i < 16; ++i)
      guid[i] = static_cast<uint8_t>(std::stoul(r.gpt_guid.substr(2 * i, 2), nullptr, 16));
    iso_write_opts_set_gpt_guid(opts, guid, 1);
  }
  return {};
}

Status SetWriteOptions(IsoWriteOpts* opts, const RewriteOptions& o, bool joliet) {
  const time_t t = static_cast<time_t>(o.source_date_epoch);
  int rc = 0;
  auto set = [&rc](int r) {
    if (rc >= 0 && r < 0) rc = r;
  };
  set(SetCommonWriteOptions(opts, joliet));
  // Volume ids as given (lower case, '-', ' '): boot loaders find the medium by them.
  set(iso_write_opts_set_relaxed_vol_atts(opts, 1));
  set(iso_write_opts_set_pvd_times(opts, t, t, 0, 0, const_cast<char*>(o.volume_uuid.c_str())));
  if (rc < 0) return IsoError("setting ISO write options", rc);
  return {};
}

}  // namespace

Result<WriteResult> Rewrite(const RewriteOptions& o) {
  if (auto st = InitOnce(); !st) return st.take_error();
  time_t now = static_cast<time_t>(o.source_date_epoch);
  iso_nowtime(&now, 1);  // what libisofs stamps on anything it makes itself
  IsoImage* raw_image = nullptr;
  int rc = iso_image_new("", &raw_image);
  if (rc < 0) return IsoError("creating ISO image", rc);
  std::unique_ptr<IsoImage, ImageUnref> image(raw_image);
  IsoDataSource* src = nullptr;
  rc = iso_data_source_new_from_file(o.input.c_str(), &src);
  if (rc < 0) return IsoError("opening " + o.input, rc);
  IsoReadOpts* raw_ropts = nullptr;
  rc = iso_read_opts_new(&raw_ropts, 0);
  if (rc < 0) {
    iso_data_source_unref(src);
    return IsoError("creating ISO read options", rc);
  }
  std::unique_ptr<IsoReadOpts, ReadOptsFree> ropts(raw_ropts);
  iso_read_opts_load_system_area(ropts.get(), 1);
  iso_read_opts_keep_import_src(ropts.get(), 1);
  IsoReadImageFeatures* features = nullptr;
  rc = iso_image_import(image.get(), src, ropts.get(), &features);
  iso_data_source_unref(src);
  if (rc < 0) return IsoError("importing " + o.input, rc);
  const bool joliet = iso_read_image_features_has_joliet(features);
  iso_read_image_features_destroy(features);
  if (!o.volume_id.empty()) iso_image_set_volume_id(image.get(), o.volume_id.c_str());
  iso_tree_set_follow_symlinks(image.get(), 0);  // a symlink added is added as a symlink

  Replay r;
  if (auto st = ParseElTorito(Report(image.get(), true), &r); !st) return st.take_error();
  ParseSystemArea(Report(image.get(), false), &r);
  auto parts = Appended(r);
  if (!parts) return Error{o.input + ": " + parts.error()};
  const auto& appended = *parts;
  // The old El Torito records and catalog go first: the tree changes may replace boot images.
  if (!r.images.empty()) {
    iso_image_remove_boot_image(image.get());
    IsoNode* cat = nullptr;
    if (!r.catalog.empty() && iso_tree_path_to_node(image.get(), r.catalog.c_str(), &cat) == 1)
      iso_node_remove(cat);
  }
  if (auto st = ChangeTree(image.get(), o); !st) return st.take_error();
  if (auto st = SetBoot(image.get(), r, o, appended); !st)
    return Error{o.input + ": " + st.error()};
  IsoWriteOpts* raw_opts = nullptr;
  rc = iso_write_opts_new(&raw_opts, 0);
  if (rc < 0) return IsoError("creating ISO write options", rc);
  std::unique_ptr<IsoWriteOpts, OptsFree> opts(raw_opts);
  if (auto st = SetWriteOptions(opts.get(), o, joliet); !st) return st.take_error();
  if (auto st = SetSystemArea(opts.get(), r, o, appended); !st)
    return Error{o.input + ": " + st.error()};

  UniqueFd fd(open(o.output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoError("create " + o.output);
  auto bytes = Stream(image.get(), opts.get(), fd.get(), o.output, nullptr);
  if (!bytes) return bytes.take_error();
  if (fsync(fd.get()) != 0) return ErrnoError("fsync " + o.output);
  return WriteResult{*bytes};
}

}  // namespace imager::formats::iso
