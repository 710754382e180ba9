// SPDX-License-Identifier: GPL-3.0-or-later
#include "stages/disk_stages.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "base/fs.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "families/family.h"
#include "formats/disk.h"
#include "sandbox/tools.h"
#include "stages/iso_stages.h"
#include "stages/outputs.h"
#include "stages/stage_util.h"

namespace imager::stages {
namespace {

using profiles::Profile;
namespace disk = formats::disk;

constexpr uint64_t kMiB = 1 << 20;
// Where the partitions are (GPT numbers from 1), and GRUB's prefix that names the root.
constexpr uint64_t kBiosFirst = disk::kAlign, kEspFirst = 2 * disk::kAlign;
constexpr const char* kGrubPrefix = "(,gpt3)/boot/grub";
// What core.img carries: reading the root (GPT, ext2), and everything the menu uses, so that no
// module has to come from the root (the image need not have GRUB's packages).
constexpr const char* kCoreModules[] = {
    "biosdisk",   "part_gpt", "ext2", "search", "search_fs_uuid", "normal", "linux",  "boot",
    "configfile", "echo",     "test", "serial", "terminal",       "sleep",  "reboot", "halt"};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string KernelCmdline(const Profile& p, const DiskIds& ids) {
  std::vector<std::string> words{"root=UUID=" + ids.root_uuid, "ro"};
  if (!p.boot.cmdline.empty()) words.push_back(p.boot.cmdline);
  if (!p.boot.serial.empty()) {
    // The last console= is /dev/console: systemd starts a login there.
    words.push_back("console=tty0");
    words.push_back("console=" + p.boot.serial);
  }
  return Join(words, " ");
}

struct DiskOptions {
  std::string file;      // NAME.raw
  std::string identity;  // DiskIds::From
  uint64_t size = 0;     // output.disk.size; 0: from the content
  bool bios = true, uefi = true;
  std::string fstab, repart, grub_cfg, esp_cfg;
  int64_t source_date_epoch = -1;
  families::BootFiles files;
  families::DiskBootFiles disk_files;
  EspSigning signing;  // boot.signing
  static constexpr auto kFields =
      std::tuple{Field("file", &DiskOptions::file),
                 Field("identity", &DiskOptions::identity),
                 Field("size", &DiskOptions::size),
                 Field("bios", &DiskOptions::bios),
                 Field("uefi", &DiskOptions::uefi),
                 Field("fstab", &DiskOptions::fstab),
                 Field("repart.d", &DiskOptions::repart),
                 Field("grub.cfg", &DiskOptions::grub_cfg),
                 Field("esp grub.cfg", &DiskOptions::esp_cfg),
                 Field("source_date_epoch", &DiskOptions::source_date_epoch),
                 Field("files", &DiskOptions::files),
                 Field("disk_files", &DiskOptions::disk_files),
                 Field("signing", &DiskOptions::signing)};
};

// A file for the root with fixed mode and time (it goes on top of the image's layers).
Status PutFile(const std::string& path, const std::string& content, int64_t sde) {
  if (auto st = MakeDirs(std::filesystem::path(path).parent_path().string()); !st) return st;
  if (auto st = WriteFile(path, content); !st) return st;
  if (chmod(path.c_str(), 0644) != 0) return ErrnoError("chmod " + path);
  struct timespec times[2] = {{sde, 0}, {sde, 0}};
  if (utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
    return ErrnoError("utimensat " + path);
  return {};
}

// The files the disk adds to the image (/etc/fstab, /etc/repart.d, /boot/grub/grub.cfg,
// /boot/efi), as a directory stacked on the layers; its directories get the image's modes and a
// fixed time.
Status WriteExtraLayer(const std::string& dir, const DiskOptions& o, int64_t sde) {
  if (auto st = PutFile(dir + "/etc/fstab", o.fstab, sde); !st) return st;
  if (auto st = PutFile(dir + kDiskRepartFile, o.repart, sde); !st) return st;
  if (auto st = PutFile(dir + "/boot/grub/grub.cfg", o.grub_cfg, sde); !st) return st;
  if (auto st = MakeDirs(dir + "/boot/efi"); !st) return st;
  for (const char* d : {"/boot/efi", "/boot/grub", "/boot", "/etc/repart.d", "/etc", ""}) {
    std::string path = dir + d;
    if (chmod(path.c_str(), 0755) != 0) return ErrnoError("chmod " + path);
    struct timespec times[2] = {{sde, 0}, {sde, 0}};
    if (utimensat(AT_FDCWD, path.c_str(), times, 0) != 0) return ErrnoError("utimensat " + path);
  }
  return {};
}

// The image must have the links GRUB's menu loads (the kernel package keeps them current).
Status CheckKernel(const std::vector<StageOutput>& layers) {
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) {
    struct stat st;
    if (lstat((it->dir + "/vmlinuz").c_str(), &st) == 0) return {};
  }
  return Error{
      "the image has no /vmlinuz: a disk image boots the distribution's kernel (add a kernel "
      "package such as linux-image-amd64 to packages.include)"};
}

// core.img for i386-pc, made by the tools tree's grub-mkimage from its own modules.
Status MakeCoreImg(StageContext& ctx, const DiskOptions& o, const std::string& tools,
                   const std::string& boot_img) {
  auto mkimage = FindInTree(tools, o.disk_files.grub_mkimage);
  if (!mkimage) return mkimage.take_error();
  sandbox::SandboxSpec spec;
  spec.idmap = ctx.idmap();
  spec.root.kind = sandbox::RootSpec::Kind::kDir;
  spec.root.dir = tools;
  spec.root.readonly = true;
  spec.binds = {{ctx.scratch_dir(), "/work", false}};
  spec.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"};
  spec.argv = {*mkimage,
               "-O",
               "i386-pc",
               "-d",
               std::filesystem::path(boot_img).parent_path().string(),
               "-p",
               kGrubPrefix,
               "-o",
               "/work/core.img"};
  for (const char* m : kCoreModules) spec.argv.push_back(m);
  return RunLogged(spec, ctx, "grub-mkimage (core.img)");
}

// The root filesystem from the layers and the extra files, written inside the id mapping.
Status MakeRoot(StageContext& ctx, const DiskOptions& o, const DiskIds& ids,
                const std::vector<StageOutput>& layers, uint64_t size) {
  const std::string extra = ctx.scratch_dir() + "/extra";
  const int64_t sde = std::max<int64_t>(o.source_date_epoch, 0);
  if (auto st = WriteExtraLayer(extra, o, sde); !st) return st;
  std::vector<StageOutput> stack = layers;
  stack.push_back({.name = "disk files", .key = "", .kind = OutputKind::kLayer, .dir = extra});
  std::vector<sandbox::BindSpec> binds{{ctx.scratch_dir(), "/work", false}};
  std::vector<sandbox::OverlaySpec> ovls;
  MountLayers(stack, "/rootfs", &binds, &ovls);
  auto spec = sandbox::InternalSpec(
      ctx.idmap(), binds, ovls,
      {"write-ext4", "/rootfs", "/work/root.ext4", "--size", std::to_string(size), "--uuid",
       ids.root_uuid, "--hash-seed", ids.hash_seed, "--label", "root", "--source-date-epoch",
       std::to_string(sde)});
  if (!spec) return spec.take_error();
  return RunLogged(*spec, ctx, "write the root filesystem (ext4)");
}

Result<uint64_t> FileSize(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return ErrnoError("stat " + path);
  return static_cast<uint64_t>(st.st_size);
}

uint64_t Sectors(uint64_t bytes) { return (bytes + kMiB - 1) / kMiB * kMiB / disk::kSector; }

Status RunDisk(StageContext& ctx, const DiskOptions& o) {
  const std::string tools = ctx.parent("tools")->dir;
  std::vector<StageOutput> layers;
  for (const auto& l : Layers(ctx))
    if (l.name != "tools") layers.push_back(l);
  if (auto st = CheckKernel(layers); !st) return st;
  const DiskIds ids = DiskIds::From(o.identity);
  const std::string work = ctx.scratch_dir();

  // The ESP first: its size places the root.
  uint64_t esp_sectors = disk::kAlign;
  if (o.uefi) {
    if (auto st =
            WriteEsp(ctx, o.files, o.esp_cfg, o.source_date_epoch, work + "/esp.img", o.signing);
        !st)
      return st;
    auto size = FileSize(work + "/esp.img");
    if (!size) return size.take_error();
    esp_sectors = Sectors(*size);
  }
  std::string boot_img, core_img;
  if (o.bios) {
    auto boot = FindInTree(tools, o.disk_files.grub_pc_boot);
    if (!boot) return boot.take_error();
    if (auto st = MakeCoreImg(ctx, o, tools, *boot); !st) return st;
    auto b = ReadFile(tools + *boot);
    if (!b) return b.take_error();
    auto c = ReadFile(work + "/core.img");
    if (!c) return c.take_error();
    boot_img = std::move(*b);
    core_img = std::move(*c);
  }
  const uint64_t root_first = kEspFirst + esp_sectors;
  uint64_t root_bytes = 0;
  if (o.size) {
    const uint64_t disk_sectors = o.size / kMiB * kMiB / disk::kSector;
    if (disk_sectors < root_first + 2 * disk::kAlign)
      return Error{"output.disk.size: " + std::to_string(o.size / kMiB) +
                   " MiB leaves no room for the root filesystem"};
    root_bytes = (disk_sectors - root_first - disk::kAlign) * disk::kSector;
  }
  if (auto st = MakeRoot(ctx, o, ids, layers, root_bytes); !st) return st;
  auto root_size = FileSize(work + "/root.ext4");
  if (!root_size) return root_size.take_error();
  const uint64_t root_sectors = Sectors(*root_size);

  disk::Layout l;
  l.disk_sectors = root_first + root_sectors + disk::kAlign;
  l.disk_guid = *disk::ParseGuid(ids.disk_guid);
  l.parts = {{.type = *disk::ParseGuid(disk::kBiosBootType),
              .uuid = *disk::ParseGuid(ids.bios_guid),
              .first_lba = kBiosFirst,
              .last_lba = kEspFirst - 1,
              .name = "BIOS boot"},
             {.type = *disk::ParseGuid(disk::kEspType),
              .uuid = *disk::ParseGuid(ids.esp_guid),
              .first_lba = kEspFirst,
              .last_lba = root_first - 1,
              .name = "EFI System"},
             {.type = *disk::ParseGuid(disk::kRootX86_64Type),
              .uuid = *disk::ParseGuid(ids.root_guid),
              .first_lba = root_first,
              .last_lba = root_first + root_sectors - 1,
              .name = "root"}};
  l.contents = {"", o.uefi ? work + "/esp.img" : "", work + "/root.ext4"};
  l.bios_part = o.bios ? 0 : -1;
  l.boot_img = std::move(boot_img);
  l.core_img = std::move(core_img);
  const std::string out = ctx.output_dir() + "/" + o.file;
  ctx.log("write " + o.file + ": " + std::to_string(l.disk_sectors * disk::kSector / kMiB) +
          " MiB, root " + std::to_string(root_sectors * disk::kSector / kMiB) + " MiB (UUID " +
          ids.root_uuid + ")");
  if (auto st = disk::Write(l, out); !st) return Error{"write " + o.file + ": " + st.error()};
  return {};
}

struct Qcow2Options {
  std::string raw, file;
  static constexpr auto kFields =
      std::tuple{Field("raw", &Qcow2Options::raw), Field("file", &Qcow2Options::file)};
};

Status RunQcow2(StageContext& ctx, const Qcow2Options& o) {
  auto spec = sandbox::InternalSpec(
      ctx.idmap(), {{ctx.parent(kDiskStage)->dir, "/in", true}, {ctx.output_dir(), "/out", false}},
      {}, {});
  if (!spec) return spec.take_error();
  // The host's qemu-img; one coroutine writes clusters in order, so the file is reproducible.
  spec->exec_fd = -1;
  spec->argv = {"/usr/bin/qemu-img", "convert",       "-f", "raw", "-O", "qcow2", "-m", "1",
                "/in/" + o.raw,      "/out/" + o.file};
  return RunLogged(*spec, ctx, "qemu-img convert (" + o.file + ")");
}

Status PlanDisk(OutputPlan& plan) {
  const Profile& p = plan.profile;
  if (plan.pipeline->Has(kDiskStage)) return {};
  const families::Family& family = families::Of(p);
  if (!family.tool_packages || family.disk_boot_files.grub_pc_boot.empty())
    return Error{p.Where("output.formats").ToString() +
                 ": output.formats: disk images are not implemented for the " + family.name +
                 " family yet"};
  if (p.distribution.arch != "amd64")
    return Error{p.Where("distribution.arch").ToString() +
                 ": distribution.arch: a disk image is built for amd64 only so far, not " +
                 p.distribution.arch};
  if (!p.boot.bios && !p.boot.uefi)
    return Error{p.Where("boot").ToString() +
                 ": boot: a disk image needs boot.bios or boot.uefi (or both)"};
  const std::vector<std::string> layers = BootedLayers(plan);
  auto keys = plan.pipeline->Keys();
  if (!keys) return keys.take_error();
  std::string top_key;
  for (const auto& [name, key] : *keys)
    if (name == layers.back()) top_key = key;
  const std::string identity = p.name + "-" + top_key.substr(0, 16);
  const DiskIds ids = DiskIds::From(identity);
  const std::string esp_cfg = DiskEspGrubConfig(ids);
  DiskOptions o{.file = p.name + ".raw",
                .identity = identity,
                .size = p.output.disk.size,
                .bios = p.boot.bios,
                .uefi = p.boot.uefi,
                .fstab = DiskFstab(p, ids, p.boot.uefi ? EspFatSerial(esp_cfg) : ""),
                .repart = DiskRepart(),
                .grub_cfg = DiskGrubConfig(p, ids),
                .esp_cfg = esp_cfg,
                .source_date_epoch = plan.options.source_date_epoch,
                .files = family.boot_files,
                .disk_files = family.disk_boot_files,
                .signing = p.boot.uefi ? EspSigning::Of(p) : EspSigning{}};
  if (!plan.pipeline->Has("tools")) plan.pipeline->Add(ToolsStage(p, plan.options.tools));
  // Version 2: the ESP has grub.cfg in EFI/BOOT/ too (WriteEsp).
  StageInfo info{
      .name = kDiskStage, .version = 2, .output = OutputKind::kArtifact, .parents = layers};
  info.parents.push_back("tools");
  plan.pipeline->Add(MakeStage(std::move(info), std::move(o), RunDisk));
  return {};
}

}  // namespace

DiskIds DiskIds::From(const std::string& identity) {
  auto guid = [&](const char* what) {
    return disk::FormatGuid(disk::GuidFromSeed("imager disk " + identity + " " + what));
  };
  return {.root_uuid = Lower(guid("root filesystem")),
          .hash_seed = Lower(guid("root hash seed")),
          .disk_guid = guid("disk"),
          .bios_guid = guid("bios partition"),
          .esp_guid = guid("esp partition"),
          .root_guid = guid("root partition")};
}

std::string DiskRepart() {
  // An existing partition of the type is matched, not created; without a size limit it takes
  // the free space after it. systemd-repart.service runs on every boot and does nothing once
  // the partition ends at the disk's end.
  return "# written by imager: the root partition (the disk's last) grows to the disk's end\n"
         "# when the disk was made larger; x-systemd.growfs in /etc/fstab grows the filesystem.\n"
         "[Partition]\n"
         "Type=root\n";
}

std::string DiskFstab(const Profile& p, const DiskIds& ids, const std::string& esp_serial) {
  std::string f = "# /etc/fstab of the disk image " + p.name + ", written by imager\n";
  // x-systemd.growfs: the root grows to fill its partition when that was made larger.
  f += "UUID=" + ids.root_uuid + " / ext4 defaults,errors=remount-ro,x-systemd.growfs 0 1\n";
  if (esp_serial.size() == 8) {
    std::string up;
    for (char c : esp_serial) up += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    f += "UUID=" + up.substr(0, 4) + "-" + up.substr(4) + " /boot/efi vfat umask=0077,nofail 0 2\n";
  }
  return f;
}

std::string DiskGrubConfig(const Profile& p, const DiskIds& ids) {
  std::string c = "# GRUB menu of the disk image " + p.name + ", written by imager\n";
  c += "search --no-floppy --fs-uuid --set=root " + ids.root_uuid + "\n";
  if (!p.boot.serial.empty()) {
    auto parts = Split(p.boot.serial, ',');
    std::string unit = parts[0].size() > 4 ? parts[0].substr(4) : "0";
    std::string speed = parts.size() > 1 ? parts[1] : "115200";
    c += "serial --unit=" + unit + " --speed=" + speed + "\n";
    c += "terminal_input serial console\nterminal_output serial console\n";
  }
  c += "set timeout=3\nset default=0\n";
  c += "\nmenuentry \"" + (p.description.empty() ? p.name : p.description) + "\" {\n";
  c += "  linux /vmlinuz " + KernelCmdline(p, ids) + "\n";
  c += "  initrd /initrd.img\n}\n";
  return c;
}

std::string DiskEspGrubConfig(const DiskIds& ids) {
  return "# written by imager: find this disk's root filesystem, then use its menu\n"
         "search --no-floppy --fs-uuid --set=root " +
         ids.root_uuid +
         "\n"
         "set prefix=($root)/boot/grub\n"
         "configfile $prefix/grub.cfg\n";
}

Status PlanRaw(OutputPlan& plan) { return PlanDisk(plan); }

Status PlanQcow2(OutputPlan& plan) {
  if (auto st = PlanDisk(plan); !st) return st;
  if (plan.pipeline->Has(kQcow2Stage)) return {};
  plan.pipeline->Add(MakeStage(
      {.name = kQcow2Stage, .output = OutputKind::kArtifact, .parents = {kDiskStage}},
      Qcow2Options{.raw = plan.profile.name + ".raw", .file = plan.profile.name + ".qcow2"},
      RunQcow2));
  return {};
}

}  // namespace imager::stages
