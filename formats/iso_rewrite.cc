// SPDX-License-Identifier: GPL-3.0-or-later
// formats::iso::Rewrite: an imported ISO written again by libisofs, its boot setup replayed.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "base/fd.h"
#include "base/strings.h"
#include "formats/iso.h"
#include "formats/iso_libisofs.h"
#include "formats/iso_replay.h"

namespace imager::formats::iso {
namespace {

constexpr uint32_t kSystemArea = 32768;
constexpr size_t kBlock = 2048;

struct ReadOptsFree {
  void operator()(IsoReadOpts* o) const { iso_read_opts_free(o); }
};

// The input read in 1 MiB slices. libisofs asks its data source for one 2 KiB block at a time;
// its own file source answers each with an lseek and a read (half a million system calls for a
// 500 MiB image, where xorriso's drive reads in larger tiles).
struct SliceCache {
  static constexpr size_t kSlice = 1 << 20;
  UniqueFd fd;
  std::vector<uint8_t> buf = std::vector<uint8_t>(kSlice);
  uint64_t first = 0;  // the first block in buf
  size_t blocks = 0;   // blocks in buf
};

int SliceOpen(IsoDataSource*) { return ISO_SUCCESS; }
int SliceClose(IsoDataSource*) { return ISO_SUCCESS; }
void SliceFree(IsoDataSource* src) { delete static_cast<SliceCache*>(src->data); }

int SliceRead(IsoDataSource* src, uint32_t lba, uint8_t* out) {
  auto* c = static_cast<SliceCache*>(src->data);
  if (lba < c->first || lba >= c->first + c->blocks) {
    ssize_t n;
    do {
      n = pread(c->fd.get(), c->buf.data(), c->buf.size(), off_t{lba} * kBlock);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return ISO_DATA_SOURCE_MISHAP;
    if (n % kBlock) std::fill(c->buf.begin() + n, c->buf.begin() + (n / kBlock + 1) * kBlock, 0);
    c->first = lba;
    c->blocks = static_cast<size_t>((n + kBlock - 1) / kBlock);
  }
  memcpy(out, c->buf.data() + (lba - c->first) * kBlock, kBlock);
  return ISO_SUCCESS;
}

// A data source over `path` for iso_image_import(); libisofs frees it (free_data, then free()).
Result<IsoDataSource*> SliceSource(const std::string& path) {
  auto cache = std::make_unique<SliceCache>();
  cache->fd = UniqueFd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!cache->fd.valid()) return ErrnoError("open " + path);
  auto* src = static_cast<IsoDataSource*>(calloc(1, sizeof(IsoDataSource)));
  if (!src) return Error{"out of memory"};
  *src = IsoDataSource{.version = 0,
                       .refcount = 1,
                       .open = SliceOpen,
                       .close = SliceClose,
                       .read_block = SliceRead,
                       .free_data = SliceFree,
                       .data = cache.release()};
  return src;
}

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
Status SetBoot(IsoImage* image, const BootReport& r, const BootPlan& plan,
               const RewriteOptions& o) {
  if (r.images.empty()) return {};
  for (size_t i = 0; i < r.images.size(); ++i) {
    const auto& b = r.images[i];
    const std::string& path = plan.image_paths[i];
    ElToritoBootImage* e = nullptr;
    int rc = i == 0 ? iso_image_set_boot_image(image, path.c_str(), ELTORITO_NO_EMUL,
                                               r.catalog.c_str(), &e)
                    : iso_image_add_boot_image(image, path.c_str(), ELTORITO_NO_EMUL, 0, &e);
    if (rc < 0) return IsoError("El Torito image " + path, rc);
    el_torito_set_boot_platform_id(e, static_cast<uint8_t>(Platform(b.platform)));
    if (!b.bootable) el_torito_set_no_bootable(e);
    if (b.load_segment) el_torito_set_load_seg(e, static_cast<short>(b.load_segment));
    if (b.platform == "UEFI")
      el_torito_set_full_load(e, 1);
    else
      el_torito_set_load_size(e, static_cast<short>(b.load_sectors));
    el_torito_set_isolinux_options(e, plan.isolinux_options[i], 0);
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
  ClearPartitionTables(&sa);
  return sa;
}

Status SetSystemArea(IsoWriteOpts* opts, const BootReport& r, const BootPlan& plan,
                     const RewriteOptions& o) {
  if (plan.system_area) {
    UniqueFd fd(open(o.input.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return ErrnoError("open " + o.input);
    auto sa = SystemAreaData(fd.get(), o.input);
    if (!sa) return sa.take_error();
    int rc = iso_write_opts_set_system_area(opts, sa->data(), plan.system_area_options, 0);
    if (rc < 0) return IsoError("setting the system area", rc);
  }
  int rc = 0;
  auto set = [&rc](int r) {
    if (rc >= 0 && r < 0) rc = r;
  };
  // The partition offset and its MBR geometry (xorriso -partition_offset, -partition_hd_cyl,
  // -partition_sec_hd).
  if (r.partition_offset || r.heads_per_cyl || r.secs_per_head)
    set(iso_write_opts_set_part_offset(opts, r.partition_offset, r.secs_per_head, r.heads_per_cyl));
  for (const auto& [n, p] : plan.appended) {
    std::string src = o.esp_partition == n ? o.esp_image
                                           : "imported_iso:" + std::to_string(p.start) + "d-" +
                                                 std::to_string(p.start + p.blocks - 1) + "d::";
    set(iso_write_opts_set_partition_img(opts, n, static_cast<uint8_t>(p.type),
                                         const_cast<char*>(src.c_str()),
                                         o.esp_partition == n ? 0 : 1));
  }
  if (plan.appended_as_gpt) set(iso_write_opts_set_appended_as_gpt(opts, 1));
  if (plan.appended_as_apm) set(iso_write_opts_set_appended_as_apm(opts, 1));
  if (plan.part_like_isohybrid) set(iso_write_opts_set_part_like_isohybrid(opts, 1));
  if (plan.efi_boot_part)
    set(iso_write_opts_set_efi_bootp(opts, const_cast<char*>("--efi-boot-image"), 0));
  if (plan.tail_blocks) set(iso_write_opts_set_tail_blocks(opts, plan.tail_blocks));
  if (!r.apm.empty()) set(iso_write_opts_set_hfsp_block_size(opts, 0, r.apm_block_size));
  if (r.gpt_guid.size() == 32) {
    uint8_t guid[16];
    for (int i = 0; i < 16; ++i)
      guid[i] = static_cast<uint8_t>(std::stoul(r.gpt_guid.substr(2 * i, 2), nullptr, 16));
    set(iso_write_opts_set_gpt_guid(opts, guid, 1));
  }
  if (rc < 0) return IsoError("replaying the partitions", rc);
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
  auto source = SliceSource(o.input);
  if (!source) return source.take_error();
  IsoDataSource* src = *source;
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

  auto r = ParseBootReport(Report(image.get(), true), Report(image.get(), false));
  if (!r) return r.take_error();
  auto plan = PlanReplay(*r);
  if (!plan) return Error{o.input + ": " + plan.error()};
  // The old El Torito records and catalog go first: the tree changes may replace boot images.
  if (!r->images.empty()) {
    iso_image_remove_boot_image(image.get());
    IsoNode* cat = nullptr;
    if (iso_tree_path_to_node(image.get(), r->catalog.c_str(), &cat) == 1) iso_node_remove(cat);
  }
  if (auto st = ChangeTree(image.get(), o); !st) return st.take_error();
  if (auto st = SetBoot(image.get(), *r, *plan, o); !st) return Error{o.input + ": " + st.error()};
  IsoWriteOpts* raw_opts = nullptr;
  rc = iso_write_opts_new(&raw_opts, 0);
  if (rc < 0) return IsoError("creating ISO write options", rc);
  std::unique_ptr<IsoWriteOpts, OptsFree> opts(raw_opts);
  if (auto st = SetWriteOptions(opts.get(), o, joliet); !st) return st.take_error();
  if (auto st = SetSystemArea(opts.get(), *r, *plan, o); !st)
    return Error{o.input + ": " + st.error()};

  UniqueFd fd(open(o.output.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoError("create " + o.output);
  auto bytes = Stream(image.get(), opts.get(), fd.get(), o.output, nullptr);
  if (!bytes) return bytes.take_error();
  if (fsync(fd.get()) != 0) return ErrnoError("fsync " + o.output);
  return WriteResult{*bytes};
}

}  // namespace imager::formats::iso
