// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/iso.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <vector>

#include "base/fd.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "formats/iso_libisofs.h"

namespace imager::formats::iso {
namespace {

constexpr int kBlock = 2048;
constexpr size_t kChunk = 1 << 20;  // bytes taken from libisofs per read
constexpr int kEfiPartition = 2;
constexpr char kEfiInterval[] = "--interval:appended_partition_2:all::";

// el_torito_set_isolinux_options() bits.
constexpr int kPatchBootInfoTable = 1 << 0;
constexpr int kIsohybrid = 1 << 1;
constexpr int kGptBasicData = 1 << 2;
// iso_write_opts_set_system_area() options: isohybrid MBR patching, and cylinder alignment of
// the image and of the appended partitions (what xorriso -isohybrid-mbr does).
constexpr int kSystemAreaIsohybrid = 1 << 1;
constexpr int kAlignAll = 3 << 8;

bool ValidVolumeId(const std::string& id) {
  if (id.empty() || id.size() > 32) return false;
  for (char c : id)
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

bool ValidUuid(const std::string& u) {
  if (u.size() != 16) return false;
  for (char c : u)
    if (c < '0' || c > '9') return false;
  return true;
}

// "isolinux/isolinux.bin" or "/isolinux/isolinux.bin" -> "/isolinux/isolinux.bin".
std::string IsoPath(const std::string& p) { return p.empty() || p[0] != '/' ? "/" + p : p; }

Status CheckInputs(const WriteOptions& o) {
  std::vector<std::string> bad;
  if (!ValidVolumeId(o.volume_id))
    bad.push_back("volume id \"" + o.volume_id + "\" must be 1 to 32 characters A-Z 0-9 _");
  if (o.source_date_epoch < 0) bad.push_back("a source date epoch (>= 0) is required");
  if (!o.volume_uuid.empty() && !ValidUuid(o.volume_uuid))
    bad.push_back("volume uuid \"" + o.volume_uuid +
                  "\" must be 16 decimal digits YYYYMMDDhhmmsscc");
  if (o.output.empty()) bad.push_back("no output file given");
  if (!o.isohybrid_mbr.empty() && o.bios_boot_image.empty())
    bad.push_back("an isohybrid MBR needs the BIOS boot image (isolinux.bin)");
  if (!o.bios_catalog.empty() && o.bios_boot_image.empty() && o.efi_image.empty())
    bad.push_back("a boot catalog needs a boot image");
  struct stat st;
  if (stat(o.root.c_str(), &st) != 0)
    bad.push_back(ErrnoError("ISO root " + o.root).message);
  else if (!S_ISDIR(st.st_mode))
    bad.push_back("ISO root " + o.root + " is not a directory");
  if (!o.efi_image.empty()) {
    UniqueFd fd(open(o.efi_image.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid())
      bad.push_back(ErrnoError("opening EFI image " + o.efi_image).message);
    else if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
      bad.push_back("EFI image " + o.efi_image + " is not a non-empty regular file");
  }
  if (bad.empty()) return {};
  std::string msg = "writing ISO " + o.output + ": " + bad[0];
  for (size_t i = 1; i < bad.size(); ++i) msg += "; " + bad[i];
  return Error{msg};
}

// Builds the image tree from the host tree: sorted, owners 0:0, normalized modes, every time the
// source date epoch. Each file gets a distinct sort weight in tree order: libisofs would
// otherwise lay file data out by host inode number, which a copy of the tree does not keep.
class TreeBuilder {
 public:
  TreeBuilder(IsoImage* image, time_t t) : image_(image), time_(t) {}

  Status AddDir(const std::string& host, IsoDir* dir) {
    auto names = ListDir(host);
    if (!names) return names.take_error();
    for (const auto& name : *names) {
      std::string path = host + "/" + name;
      struct stat st;
      if (lstat(path.c_str(), &st) != 0) return ErrnoError("lstat " + path);
      if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
        return Error{"adding " + path + " to the ISO: only directories, regular files and " +
                     "symlinks can be written"};
      IsoNode* node = nullptr;
      int rc = iso_tree_add_new_node(image_, dir, name.c_str(), path.c_str(), &node);
      if (rc < 0) return IsoError("adding " + path + " to the ISO", rc);
      Normalize(node, st.st_mode);
      if (S_ISDIR(st.st_mode)) {
        if (auto r = AddDir(path, reinterpret_cast<IsoDir*>(node)); !r) return r;
      }
    }
    return {};
  }

  void Normalize(IsoNode* node, mode_t host_mode) {
    mode_t mode = 0644;
    if (S_ISDIR(host_mode) || (S_ISREG(host_mode) && (host_mode & 0111))) mode = 0755;
    if (S_ISLNK(host_mode)) mode = 0777;
    iso_node_set_permissions(node, mode);
    iso_node_set_uid(node, 0);
    iso_node_set_gid(node, 0);
    iso_node_set_mtime(node, time_);
    iso_node_set_atime(node, time_);
    iso_node_set_ctime(node, time_);
    if (S_ISREG(host_mode)) iso_node_set_sort_weight(node, --weight_);
  }

 private:
  IsoImage* image_;
  time_t time_;
  int weight_ = 0x7FFFFFFF;  // higher weights come first in the image
};

// A GPT disk GUID from the volume's identity (libisofs derives the partition GUIDs from it),
// shaped as a version 4 RFC 4122 UUID in the byte order UEFI stores.
void GptGuid(const WriteOptions& o, const std::string& uuid, uint8_t guid[16]) {
  std::string hex = Sha256Hex("imager iso gpt\n" + uuid + "\n" + o.volume_id + "\n");
  for (int i = 0; i < 16; ++i) guid[i] = std::stoi(hex.substr(2 * i, 2), nullptr, 16);
  guid[7] = (guid[7] & 0x0F) | 0x40;
  guid[8] = (guid[8] & 0x3F) | 0x80;
}

Status SetBoot(const WriteOptions& o, IsoImage* image, IsoWriteOpts* opts) {
  std::string catalog = o.bios_catalog;
  if (catalog.empty() && !o.bios_boot_image.empty()) {
    std::string b = IsoPath(o.bios_boot_image);
    catalog = b.substr(0, b.rfind('/') + 1) + "boot.cat";
  }
  if (catalog.empty()) catalog = "boot.cat";
  catalog = IsoPath(catalog);
  ElToritoBootImage* boot = nullptr;
  int rc = 0;
  if (!o.bios_boot_image.empty()) {
    std::string path = IsoPath(o.bios_boot_image);
    IsoNode* node = nullptr;
    if (iso_tree_path_to_node(image, path.c_str(), &node) != 1 || !ISO_NODE_IS_FILE(node))
      return Error{"BIOS boot image " + o.bios_boot_image + " is not a file under " + o.root};
    rc = iso_image_set_boot_image(image, path.c_str(), ELTORITO_NO_EMUL, catalog.c_str(), &boot);
    if (rc < 0)
      return IsoError("adding BIOS boot image " + path + " (catalog " + catalog + ")", rc);
    el_torito_set_load_size(boot, 4);
    el_torito_set_isolinux_options(
        boot, kPatchBootInfoTable | (o.isohybrid_mbr.empty() ? 0 : kIsohybrid), 0);
  }
  if (!o.isohybrid_mbr.empty()) {
    auto mbr = ReadFile(o.isohybrid_mbr);
    if (!mbr) return Wrap("reading isohybrid MBR", mbr.error());
    if (mbr->empty() || mbr->size() > 32768)
      return Error{"isohybrid MBR " + o.isohybrid_mbr + " must be 1 to 32768 bytes, is " +
                   std::to_string(mbr->size())};
    std::vector<char> area(32768, 0);
    std::memcpy(area.data(), mbr->data(), mbr->size());
    rc = iso_write_opts_set_system_area(opts, area.data(), kSystemAreaIsohybrid | kAlignAll, 0);
    if (rc < 0) return IsoError("setting isohybrid MBR " + o.isohybrid_mbr, rc);
  }
  if (!o.efi_image.empty()) {
    rc = iso_write_opts_set_partition_img(opts, kEfiPartition, 0xef,
                                          const_cast<char*>(o.efi_image.c_str()), 0);
    if (rc < 0) return IsoError("appending EFI image " + o.efi_image, rc);
    ElToritoBootImage* efi = nullptr;
    if (boot)
      rc = iso_image_add_boot_image(image, kEfiInterval, ELTORITO_NO_EMUL, 0, &efi);
    else
      rc = iso_image_set_boot_image(image, kEfiInterval, ELTORITO_NO_EMUL, catalog.c_str(), &efi);
    if (rc < 0) return IsoError("adding EFI boot entry for " + o.efi_image, rc);
    el_torito_set_boot_platform_id(efi, 0xef);
    if (!o.isohybrid_mbr.empty()) {
      // The isohybrid MBR gets a GPT naming the ISO and the ESP (xorriso -isohybrid-gpt-basdat).
      el_torito_set_isolinux_options(efi, kGptBasicData, 0);
    } else {
      // Without it: a protective MBR and a GPT where partition 2 is the EFI system partition.
      rc = iso_write_opts_set_appended_as_gpt(opts, 1);
      if (rc < 0) return IsoError("asking for a GPT", rc);
    }
  }
  return {};
}

Status SetOptions(const WriteOptions& o, const std::string& uuid, IsoWriteOpts* opts) {
  const time_t t = static_cast<time_t>(o.source_date_epoch);
  int rc = 0;
  auto set = [&rc](int r) {
    if (rc >= 0 && r < 0) rc = r;
  };
  set(SetCommonWriteOptions(opts, /*joliet=*/true));
  // Directory records of every tree carry the nodes' times, and those are all the epoch.
  set(iso_write_opts_set_dir_rec_mtime(opts, 1 | 2 | 4));
  set(iso_write_opts_set_replace_timestamps(opts, 2));
  set(iso_write_opts_set_default_timestamp(opts, t));
  set(iso_write_opts_set_replace_mode(opts, 0, 0, 2, 2));
  set(iso_write_opts_set_default_uid(opts, 0));
  set(iso_write_opts_set_default_gid(opts, 0));
  set(iso_write_opts_set_pvd_times(opts, t, t, 0, 0, const_cast<char*>(uuid.c_str())));
  uint8_t guid[16];
  GptGuid(o, uuid, guid);
  set(iso_write_opts_set_gpt_guid(opts, guid, 1));
  set(iso_write_opts_set_fifo_size(opts, kChunk / kBlock * 4));
  if (rc < 0) return IsoError("setting ISO write options", rc);
  return {};
}

}  // namespace

std::string IsoMessage(int code) {
  char hex[16];
  std::snprintf(hex, sizeof hex, "0x%08X", static_cast<unsigned>(code));
  std::string out = std::string(iso_error_to_msg(code)) + " (libisofs " + hex + ")";
  // libisofs queues the details (the file it could not read...) separately.
  int err = 0, imgid = 0;
  char text[4096], severity[80];
  while (iso_obtain_msgs(const_cast<char*>("FAILURE"), &err, &imgid, text, severity) > 0)
    if (err != code) out += std::string("; ") + text;
  return out;
}

Error IsoError(const std::string& what, int code) { return Error{what + ": " + IsoMessage(code)}; }

// libisofs keeps process-wide state: initialized once, its messages queued for IsoMessage() and
// never printed, names taken and written as UTF-8 whatever the locale.
int SetCommonWriteOptions(IsoWriteOpts* opts, bool joliet) {
  int rc = 0;
  auto set = [&rc](int r) {
    if (rc >= 0 && r < 0) rc = r;
  };
  set(iso_write_opts_set_iso_level(opts, 3));
  set(iso_write_opts_set_rockridge(opts, 1));
  set(iso_write_opts_set_joliet(opts, joliet ? 1 : 0));
  set(iso_write_opts_set_aaip(opts, 0));
  // RRIP 1.10: PX entries without a file serial number. libisofs hands those out in an order
  // that follows host inode numbers and node addresses, so they would differ between rebuilds;
  // readers (Linux isofs) then number inodes by position, as with mkisofs before 1.12.
  set(iso_write_opts_set_hardlinks(opts, 0));
  set(iso_write_opts_set_rrip_version_1_10(opts, 1));
  set(iso_write_opts_set_rrip_1_10_px_ino(opts, 0));
  set(iso_write_opts_set_sort_files(opts, 1));
  set(iso_write_opts_set_output_charset(opts, "UTF-8"));
  set(iso_write_opts_set_always_gmt(opts, 1));
  return rc;
}

Status InitOnce() {
  static std::once_flag once;
  static int rc = 1;
  std::call_once(once, [] {
    rc = iso_init();
    if (rc < 0) return;
    iso_set_msgs_severities(const_cast<char*>("FAILURE"), const_cast<char*>("NEVER"),
                            const_cast<char*>("libisofs"));
    iso_set_local_charset(const_cast<char*>("UTF-8"), 0);
  });
  if (rc < 0) return IsoError("initializing libisofs", rc);
  return {};
}

// Reads the image from libisofs' generator thread into `fd`.
Result<uint64_t> Stream(IsoImage* image, IsoWriteOpts* opts, int fd, const std::string& output,
                        const std::function<void(uint64_t, uint64_t)>& progress) {
  burn_source* raw = nullptr;
  int rc = iso_image_create_burn_source(image, opts, &raw);
  if (rc < 0) return IsoError("starting to write ISO " + output, rc);
  std::unique_ptr<burn_source, SourceFree> src(raw);
  const uint64_t total = static_cast<uint64_t>(src->get_size(src.get()));
  std::vector<unsigned char> buf(kChunk);
  uint64_t done = 0;
  if (progress) progress(0, total);
  // read_xt() fills the whole buffer or reports the end (dropping a partial tail), so the last
  // read asks for exactly what is left; the size is a multiple of 2048.
  for (;;) {
    const uint64_t want = std::min<uint64_t>(buf.size(), total > done ? total - done : kBlock);
    int n = src->read_xt(src.get(), buf.data(), static_cast<int>(want));
    if (n < 0) return IsoError("writing ISO " + output, ISO_WRITE_ERROR);
    if (n == 0) break;
    if (!WriteAll(fd, buf.data(), static_cast<size_t>(n)))
      return ErrnoError("writing " + output + "");
    done += static_cast<uint64_t>(n);
    if (progress) progress(done, total);
  }
  if (done != total)
    return Error{"writing ISO " + output + ": libisofs gave " + std::to_string(done) +
                 " bytes, announced " + std::to_string(total)};
  return done;
}

std::string VolumeUuidFromEpoch(int64_t source_date_epoch) {
  time_t t = static_cast<time_t>(source_date_epoch);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S00", &tm);
  return buf;
}

Result<WriteResult> Write(const WriteOptions& o) {
  if (auto st = CheckInputs(o); !st) return st.take_error();
  if (auto st = InitOnce(); !st) return st.take_error();
  const std::string uuid =
      o.volume_uuid.empty() ? VolumeUuidFromEpoch(o.source_date_epoch) : o.volume_uuid;

  IsoImage* raw_image = nullptr;
  int rc = iso_image_new(o.volume_id.c_str(), &raw_image);
  if (rc < 0) return IsoError("creating ISO image", rc);
  std::unique_ptr<IsoImage, ImageUnref> image(raw_image);
  iso_image_set_ignore_aclea(image.get(), 1 | 2);
  iso_tree_set_follow_symlinks(image.get(), 0);
  IsoDir* root = iso_image_get_root(image.get());
  TreeBuilder tree(image.get(), static_cast<time_t>(o.source_date_epoch));
  tree.Normalize(reinterpret_cast<IsoNode*>(root), S_IFDIR | 0755);
  // libisofs wants absolute host paths.
  auto host_root = Canonical(o.root);
  if (!host_root) return Wrap("writing ISO " + o.output, host_root.error());
  if (auto st = tree.AddDir(*host_root, root); !st)
    return Wrap("writing ISO " + o.output, st.error());

  IsoWriteOpts* raw_opts = nullptr;
  rc = iso_write_opts_new(&raw_opts, 0);
  if (rc < 0) return IsoError("creating ISO write options", rc);
  std::unique_ptr<IsoWriteOpts, OptsFree> opts(raw_opts);
  if (auto st = SetOptions(o, uuid, opts.get()); !st) return st.take_error();
  if (auto st = SetBoot(o, image.get(), opts.get()); !st)
    return Wrap("writing ISO " + o.output, st.error());

  const std::string part = o.output + ".part";
  UniqueFd fd(open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoError("creating " + part);
  auto bytes = Stream(image.get(), opts.get(), fd.get(), part, o.progress);
  Status st;
  if (!bytes)
    st = bytes.take_error();
  else if (fsync(fd.get()) != 0)
    st = ErrnoError("fsync " + part);
  else if (close(fd.release()) != 0)
    st = ErrnoError("closing " + part);
  else if (rename(part.c_str(), o.output.c_str()) != 0)
    st = ErrnoError("renaming " + part + " to " + o.output);
  if (!st) {
    unlink(part.c_str());
    return st.take_error();
  }
  return WriteResult{*bytes};
}

}  // namespace imager::formats::iso
