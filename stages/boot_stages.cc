// SPDX-License-Identifier: GPL-3.0-or-later
#include "stages/boot_stages.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>

#include "base/fd.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "formats/iso.h"
#include "sandbox/launch.h"
#include "sandbox/tools.h"
#include "stages/rootfs.h"
#include "stages/stage_util.h"

namespace imager::stages {
namespace {

using profiles::Profile;

// Seconds the boot menus wait before starting the first entry.
constexpr int kMenuSeconds = 5;

// Where the tools packages put what the bootloader stage takes (Debian, amd64).
constexpr const char* kIsolinuxBin = "/usr/lib/ISOLINUX/isolinux.bin";
constexpr const char* kIsohybridMbr = "/usr/lib/ISOLINUX/isohdpfx.bin";
constexpr const char* kSyslinuxBios = "/usr/lib/syslinux/modules/bios/";
constexpr const char* kShim = "/usr/lib/shim/shimx64.efi.signed";
constexpr const char* kMokManager = "/usr/lib/shim/mmx64.efi.signed";
// GRUB's signed image for removable media: its built-in configuration sources
// ($root)/boot/grub/grub.cfg of the device it was loaded from, here the ESP.
constexpr const char* kGrubEfi = "/usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed";

Status CopyFile(const std::string& from, const std::string& to, mode_t mode) {
  auto data = ReadFile(from);
  if (!data) return data.take_error();
  auto parent = std::filesystem::path(to).parent_path().string();
  if (auto st = MakeDirs(parent); !st) return st;
  if (auto st = WriteFile(to, *data); !st) return st;
  if (chmod(to.c_str(), mode) != 0) return ErrnoError("chmod " + to);
  return {};
}

// A hard link when possible (same filesystem, our own file), else a copy.
Status LinkOrCopy(const std::string& from, const std::string& to) {
  auto parent = std::filesystem::path(to).parent_path().string();
  if (auto st = MakeDirs(parent); !st) return st;
  if (link(from.c_str(), to.c_str()) == 0) return {};
  struct stat st;
  if (stat(from.c_str(), &st) != 0) return ErrnoError("stat " + from);
  return CopyFile(from, to, st.st_mode & 0777);
}

// Every file below `dir` (relative paths, sorted).
Result<std::vector<std::string>> FilesBelow(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file()) out.push_back(std::filesystem::relative(it->path(), dir).string());
  if (ec) return Error{"list " + dir + ": " + ec.message()};
  std::sort(out.begin(), out.end());
  return out;
}

// The booter binary that goes into every initramfs: $IMAGER_BOOTER, else beside imager (the
// build tree), else in ../lib/imager (an installation).
Result<std::string> FindBooter() {
  if (const char* env = getenv("IMAGER_BOOTER"); env && *env) {
    if (access(env, R_OK) != 0) return ErrnoError("IMAGER_BOOTER=" + std::string(env));
    return std::string(env);
  }
  auto self = sandbox::SelfExe();
  if (!self) return self.take_error();
  auto dir = std::filesystem::path(*self).parent_path();
  for (auto candidate : {dir / "imager-booter", dir / "../lib/imager/imager-booter"})
    if (access(candidate.c_str(), R_OK) == 0) return candidate.lexically_normal().string();
  return Error{"the booter (imager-booter) is not beside " + *self +
               " nor in ../lib/imager: build it (ninja -C build imager-booter) or set "
               "IMAGER_BOOTER"};
}

// "ttyS0,115200" -> {"0", "115200"} for isolinux's SERIAL and GRUB's serial command.
std::pair<std::string, std::string> SerialPort(const std::string& serial) {
  auto parts = Split(serial, ',');
  std::string dev = parts.empty() ? "" : parts[0];
  std::string unit = StartsWith(dev, "ttyS") ? dev.substr(4) : "0";
  std::string speed = parts.size() > 1 ? parts[1] : "115200";
  return {unit.empty() ? "0" : unit, speed};
}

// The kernel command line of the boot entries (the same in isolinux and GRUB).
std::string KernelCmdline(const Profile& p, bool toram) {
  std::vector<std::string> words;
  if (!p.boot.cmdline.empty()) words.push_back(p.boot.cmdline);
  if (!p.boot.serial.empty()) {
    // The last console= is /dev/console: the booter's messages and the first login go there.
    words.push_back("console=tty0");
    words.push_back("console=" + p.boot.serial);
  }
  if (toram) words.push_back("imager.toram");
  return Join(words, " ");
}

std::string Title(const Profile& p) { return p.description.empty() ? p.name : p.description; }

}  // namespace

bool DistributionInitrd(const Profile& p) {
  for (auto f : p.output.formats)
    if (f != profiles::Format::kIso) return true;
  return p.output.formats.empty();
}

std::string BootIdentity::GrubUuid() const {
  std::string out;
  for (size_t i = 0; i < volume_uuid.size(); ++i) {
    if (i == 4 || (i > 4 && i % 2 == 0)) out += '-';
    out += volume_uuid[i];
  }
  return out;
}

BootIdentity MakeBootIdentity(const Profile& p, const std::string& image_key,
                              int64_t source_date_epoch) {
  BootIdentity id;
  id.id = p.name + "-" + image_key.substr(0, 16);
  // The date of the archive and a time of day taken from the identity (so two builds from the
  // same archive differ): a valid date that GRUB can search for, naming exactly this medium.
  time_t t = source_date_epoch >= 0 ? static_cast<time_t>(source_date_epoch) : 0;
  struct tm tm {};
  gmtime_r(&t, &tm);
  uint64_t n = std::stoull(Sha256Hex(id.id).substr(0, 12), nullptr, 16) % (24ull * 3600 * 100);
  char uuid[48];  // 16 used; room for what -Wformat-truncation assumes of int fields
  snprintf(uuid, sizeof uuid, "%04d%02d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, static_cast<int>(n / 360000), static_cast<int>(n / 6000 % 60),
           static_cast<int>(n / 100 % 60), static_cast<int>(n % 100));
  id.volume_uuid = uuid;
  return id;
}

Stage ToolsStage(const Profile& p, const BuildOptions& o) {
  Stage s;
  s.name = "tools";
  s.inputs = PackageKeyInputs(o.tools);
  s.run = [p, o](StageContext& ctx) -> Status {
    if (o.tools.paths.empty())
      return Error{"the lock has no tools for this profile's outputs (run 'imager resolve')"};
    auto pkgs = BindPackages(o.tools.paths, "/pkgs");
    std::vector<std::string> args{"deb-unpack", "--arch", p.distribution.arch, "/target"};
    args.insert(args.end(), pkgs.inside.begin(), pkgs.inside.end());
    auto spec = TargetSpec(ctx, o, {pkgs.bind}, args);
    if (!spec) return spec.take_error();
    if (auto st = RunLogged(*spec, ctx,
                            "unpack " + std::to_string(o.tools.paths.size()) + " tools packages");
        !st)
      return st;
    // Mount points for running the tools with this tree as "/" (no base-files here).
    for (const char* d : {"/dev", "/proc", "/sys", "/run", "/tmp", "/work", "/out"})
      if (mkdir((ctx.output_dir() + d).c_str(), 0755) != 0 && errno != EEXIST)
        return ErrnoError("create " + ctx.output_dir() + d);
    return {};
  };
  return s;
}

Medium LiveMedium(const Profile& p) {
  return {.images = {{"squashfs", p.name + ".squashfs", kMediumImage}}, .trees = {}};
}

std::string BooterConfig(const Profile& p, const BootIdentity& id, const Medium& medium) {
  std::string c = "# imager-booter configuration for " + p.name + ", written by imager\n";
  c += "id=" + id.id + "\n";
  c += "id_file=" + std::string(kMediumIdFile) + "\n";
  for (const auto& image : medium.images) c += "image=" + image.path + "\n";
  c += "probe=" + Join(p.boot.probe, ",") + "\n";
  c += "timeout=" + std::to_string(p.boot.timeout) + "\n";
  c += std::string("toram=") + (p.boot.toram ? "yes" : "no") + "\n";
  return c;
}

std::vector<std::string> BooterModules(const Profile& p) {
  // What mounts the image: loop, squashfs, overlay, and the media filesystems.
  std::vector<std::string> m{"loop",      "squashfs",      "overlay",  "isofs", "vfat",   "ext4",
                             "nls_cp437", "nls_iso8859_1", "nls_utf8", "cdrom", "sr_mod", "sd_mod"};
  bool all = false;
  for (const auto& probe : p.boot.probe) {
    if (probe == "cdrom") {
      m.insert(m.end(), {"ata_piix", "ahci", "ata_generic", "pata_acpi"});
    } else if (probe == "usb") {
      m.insert(m.end(), {"usb_storage", "uas", "xhci_pci", "ehci_pci", "ohci_pci", "uhci_hcd"});
    } else if (probe == "virtio") {
      m.insert(m.end(), {"virtio_pci", "virtio_blk", "virtio_scsi"});
    } else if (probe == "nvme") {
      m.push_back("nvme");
    } else {
      all = true;  // disk, removable, a path: any controller
    }
  }
  if (all)
    m.insert(m.end(), {"ata_piix", "ahci", "ata_generic", "pata_acpi", "usb_storage", "uas",
                       "xhci_pci", "ehci_pci", "ohci_pci", "uhci_hcd", "virtio_pci", "virtio_blk",
                       "virtio_scsi", "nvme"});
  std::vector<std::string> unique;
  for (auto& name : m)
    if (std::find(unique.begin(), unique.end(), name) == unique.end()) unique.push_back(name);
  return unique;
}

Stage InitramfsStage(const Profile& p, const BuildOptions& o, std::vector<std::string> layers,
                     const BootIdentity& id, const Medium& medium) {
  Stage s;
  s.name = "initramfs";
  s.output = OutputKind::kArtifact;
  std::string config = BooterConfig(p, id, medium);
  std::string modules = Join(BooterModules(p), ",");
  auto booter = FindBooter();
  s.inputs = {KeyInput::Value("config", config), KeyInput::Value("modules", modules),
              KeyInput::Value("source_date_epoch", std::to_string(o.source_date_epoch))};
  // A missing booter fails the stage (with the message), not the planning of other outputs.
  s.inputs.push_back(booter ? KeyInput::Content("booter", *booter)
                            : KeyInput::Value("booter", "missing"));
  s.parents = std::move(layers);
  s.run = [o, config, modules, booter](StageContext& ctx) -> Status {
    if (!booter) return Error{booter.error()};
    std::string conf = ctx.scratch_dir() + "/imager-booter.conf";
    if (auto st = WriteFile(conf, config); !st) return st;
    std::vector<sandbox::BindSpec> binds{{ctx.output_dir(), "/out", false},
                                         {*booter, "/in/imager-booter", true},
                                         {conf, "/in/imager-booter.conf", true}};
    std::vector<sandbox::OverlaySpec> ovls;
    MountLayers(Layers(ctx), "/rootfs", &binds, &ovls);
    std::vector<std::string> args{"write-initramfs",
                                  "/rootfs",
                                  "/out",
                                  "--booter",
                                  "/in/imager-booter",
                                  "--config",
                                  "/in/imager-booter.conf",
                                  "--modules",
                                  modules,
                                  "--source-date-epoch",
                                  std::to_string(std::max<int64_t>(o.source_date_epoch, 0))};
    auto spec = sandbox::InternalSpec(o.idmap, binds, ovls, args);
    if (!spec) return spec.take_error();
    return RunLogged(*spec, ctx, "write the initramfs");
  };
  return s;
}

std::string IsolinuxConfig(const Profile& p) {
  std::string c;
  if (!p.boot.serial.empty()) {  // must come first
    auto [unit, speed] = SerialPort(p.boot.serial);
    c += "SERIAL " + unit + " " + speed + "\n";
  }
  c += "# isolinux menu for " + p.name + ", written by imager\n";
  c += "UI menu.c32\nMENU TITLE " + Title(p) + "\n";
  c += "TIMEOUT " + std::to_string(kMenuSeconds * 10) + "\nDEFAULT live\n";
  for (bool toram : {false, true}) {
    c += std::string("\nLABEL ") + (toram ? "toram" : "live") + "\n";
    c += "  MENU LABEL " + p.name + (toram ? " (load into RAM)" : "") + "\n";
    c += std::string("  LINUX ") + kMediumKernel + "\n";
    c += std::string("  INITRD ") + kMediumInitrd + "\n";
    std::string cmdline = KernelCmdline(p, toram);
    if (!cmdline.empty()) c += "  APPEND " + cmdline + "\n";
  }
  return c;
}

std::string GrubConfig(const Profile& p, const BootIdentity& id) {
  std::string c = "# GRUB menu for " + p.name + ", written by imager\n";
  c += "search --no-floppy --fs-uuid --set=root " + id.GrubUuid() + "\n";
  if (!p.boot.serial.empty()) {
    auto [unit, speed] = SerialPort(p.boot.serial);
    c += "serial --unit=" + unit + " --speed=" + speed + "\n";
    c += "terminal_input serial console\nterminal_output serial console\n";
  }
  c += "set timeout=" + std::to_string(kMenuSeconds) + "\nset default=0\n";
  for (bool toram : {false, true}) {
    c += "\nmenuentry \"" + Title(p) + (toram ? " (load into RAM)" : "") + "\" {\n";
    std::string cmdline = KernelCmdline(p, toram);
    c += std::string("  linux ") + kMediumKernel + (cmdline.empty() ? "" : " " + cmdline) + "\n";
    c += std::string("  initrd ") + kMediumInitrd + "\n}\n";
  }
  return c;
}

std::string EspGrubConfig(const BootIdentity& id) {
  std::string u = id.GrubUuid();
  return "# written by imager: find this build's medium, then use its menu\n"
         "if search --no-floppy --fs-uuid --set=root " +
         u +
         "; then\n"
         "  set prefix=($root)/boot/grub\n"
         "  configfile $prefix/grub.cfg\n"
         "else\n"
         "  echo \"imager: no medium with volume UUID " +
         u +
         " (this build's ISO) was found\"\n"
         "  sleep 30\n"
         "fi\n";
}

Stage BootloaderStage(const Profile& p, const BuildOptions& o, const BootIdentity& id) {
  Stage s;
  s.name = "bootloader";
  s.output = OutputKind::kArtifact;
  s.parents = {"tools"};
  std::string isolinux = p.boot.bios ? IsolinuxConfig(p) : "";
  std::string grub = p.boot.uefi ? GrubConfig(p, id) : "";
  std::string esp = p.boot.uefi ? EspGrubConfig(id) : "";
  s.inputs = {KeyInput::Value("isolinux.cfg", isolinux), KeyInput::Value("grub.cfg", grub),
              KeyInput::Value("esp grub.cfg", esp),
              KeyInput::Value("source_date_epoch", std::to_string(o.source_date_epoch))};
  s.run = [o, isolinux, grub, esp](StageContext& ctx) -> Status {
    const std::string tools = ctx.parent("tools")->dir;
    const std::string out = ctx.output_dir();
    const int64_t sde = std::max<int64_t>(o.source_date_epoch, 0);
    auto take = [&](const std::string& from, const std::string& to) -> Status {
      if (access((tools + from).c_str(), R_OK) != 0)
        return ErrnoError("the tools tree lacks " + from);
      return CopyFile(tools + from, to, 0644);
    };
    if (!isolinux.empty()) {
      if (auto st = take(kIsolinuxBin, out + "/tree/isolinux/isolinux.bin"); !st) return st;
      for (const char* m : {"ldlinux.c32", "menu.c32", "libutil.c32"})
        if (auto st = take(std::string(kSyslinuxBios) + m, out + "/tree/isolinux/" + m); !st)
          return st;
      if (auto st = WriteFile(out + "/tree/isolinux/isolinux.cfg", isolinux); !st) return st;
      if (auto st = take(kIsohybridMbr, out + "/isohdpfx.bin"); !st) return st;
    }
    if (esp.empty()) return {};
    if (auto st = MakeDirs(out + "/tree/boot/grub"); !st) return st;
    if (auto st = WriteFile(out + "/tree/boot/grub/grub.cfg", grub); !st) return st;

    // The ESP: staged in scratch with fixed times, then a FAT image made by the tools tree's
    // mkfs.fat and mtools (no loop device, no mount); both honour fixed ids and dates.
    const std::string stage = ctx.scratch_dir() + "/esp";
    for (auto [from, to] :
         {std::pair{kShim, "EFI/BOOT/BOOTX64.EFI"}, std::pair{kGrubEfi, "EFI/BOOT/grubx64.efi"},
          std::pair{kMokManager, "EFI/BOOT/mmx64.efi"}})
      if (auto st = take(from, stage + "/" + to); !st) return st;
    if (auto st = MakeDirs(stage + "/boot/grub"); !st) return st;
    if (auto st = WriteFile(stage + "/boot/grub/grub.cfg", esp); !st) return st;
    auto files = FilesBelow(stage);
    if (!files) return files.take_error();
    uint64_t bytes = 0;
    for (const auto& f : *files) {
      std::string path = stage + "/" + f;
      struct stat st;
      if (stat(path.c_str(), &st) != 0) return ErrnoError("stat " + path);
      bytes += (static_cast<uint64_t>(st.st_size) + 4095) / 4096 * 4096;
      struct timespec times[2] = {{sde, 0}, {sde, 0}};
      if (utimensat(AT_FDCWD, path.c_str(), times, 0) != 0) return ErrnoError("utimensat " + path);
    }
    // Room for FAT tables and directories, whole MiB.
    uint64_t kib = ((bytes + (1 << 20)) / (1 << 20) + 1) * 1024;

    sandbox::SandboxSpec spec;
    spec.idmap = o.idmap;
    spec.root.kind = sandbox::RootSpec::Kind::kDir;
    spec.root.dir = tools;
    spec.root.readonly = true;
    spec.binds = {{ctx.scratch_dir(), "/work", false}, {out, "/out", false}};
    spec.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C",
                "SOURCE_DATE_EPOCH=" + std::to_string(sde), "MTOOLS_SKIP_CHECK=1"};
    char volid[16];
    snprintf(volid, sizeof volid, "%08x",
             static_cast<unsigned>(std::stoul(Sha256Hex(esp).substr(0, 8), nullptr, 16)));
    std::vector<std::vector<std::string>> steps{
        {"/sbin/mkfs.fat", "-C", "--invariant", "-i", volid, "-n", "EFIBOOT", "/out/efi.img",
         std::to_string(kib)},
        {"/usr/bin/mmd", "-i", "/out/efi.img", "::/EFI", "::/EFI/BOOT", "::/boot", "::/boot/grub"}};
    for (const auto& f : *files) {
      auto dir = std::filesystem::path(f).parent_path().string();
      steps.push_back(
          {"/usr/bin/mcopy", "-m", "-i", "/out/efi.img", "/work/esp/" + f, "::/" + dir + "/"});
    }
    for (auto& argv : steps) {
      std::string what = std::filesystem::path(argv[0]).filename().string() + " (the ESP)";
      spec.argv = std::move(argv);
      if (auto st = RunLogged(spec, ctx, what); !st) return st;
    }
    return {};
  };
  return s;
}

Stage IsoStage(const Profile& p, const BuildOptions& o, const BootIdentity& id,
               const Medium& medium) {
  Stage s;
  s.name = "iso";
  s.output = OutputKind::kArtifact;
  for (const auto& image : medium.images) {
    s.parents.push_back(image.stage);
    s.inputs.push_back(KeyInput::Value("image " + image.stage, image.file + " " + image.path));
  }
  s.parents.insert(s.parents.end(), medium.trees.begin(), medium.trees.end());
  s.parents.insert(s.parents.end(), medium.checks.begin(), medium.checks.end());
  s.parents.insert(s.parents.end(), {"initramfs", "bootloader"});
  std::string file = p.name + ".iso";
  s.inputs.insert(s.inputs.end(),
                  {KeyInput::Value("file", file), KeyInput::Value("volume_id", p.output.volume_id),
                   KeyInput::Value("id", id.id), KeyInput::Value("volume_uuid", id.volume_uuid),
                   KeyInput::Value("checksum", profiles::NameOf(p.output.checksum)),
                   KeyInput::Value("source_date_epoch", std::to_string(o.source_date_epoch))});
  s.run = [p, o, id, file, medium](StageContext& ctx) -> Status {
    const std::string initramfs = ctx.parent("initramfs")->dir;
    const std::string boot = ctx.parent("bootloader")->dir;
    // The medium's tree, hard links into the cache where possible.
    const std::string root = ctx.scratch_dir() + "/medium";
    std::vector<std::pair<std::string, std::string>> copies;
    for (const auto& image : medium.images)
      copies.push_back({ctx.parent(image.stage)->dir + "/" + image.file, image.path});
    copies.push_back({initramfs + "/vmlinuz", kMediumKernel});
    copies.push_back({initramfs + "/initrd.img", kMediumInitrd});
    for (const auto& tree : medium.trees) {
      std::string dir = ctx.parent(tree)->dir + "/tree";
      auto files = FilesBelow(dir);
      if (!files) return files.take_error();
      for (const auto& f : *files) copies.push_back({dir + "/" + f, "/" + f});
    }
    for (const auto& [from, to] : copies)
      if (auto st = LinkOrCopy(from, root + to); !st) return st;
    if (auto st = WriteFile(root + kMediumIdFile, id.id + "\n"); !st) return st;
    // The name Debian's own media carry (GRUB's removable-media image looks for it too).
    if (auto st = MakeDirs(root + "/.disk"); !st) return st;
    if (auto st = WriteFile(root + "/.disk/info", "Imager " + p.name + " " + id.id + "\n"); !st)
      return st;
    if (access((boot + "/tree").c_str(), F_OK) == 0) {
      auto files = FilesBelow(boot + "/tree");
      if (!files) return files.take_error();
      for (const auto& f : *files)
        if (auto st = LinkOrCopy(boot + "/tree/" + f, root + "/" + f); !st) return st;
    }
    formats::iso::WriteOptions w;
    w.root = root;
    w.output = ctx.output_dir() + "/" + file;
    w.volume_id = p.output.volume_id;
    w.source_date_epoch = std::max<int64_t>(o.source_date_epoch, 0);
    w.volume_uuid = id.volume_uuid;
    if (p.boot.bios) {
      w.bios_boot_image = "isolinux/isolinux.bin";
      w.bios_catalog = "isolinux/boot.cat";
      w.isohybrid_mbr = boot + "/isohdpfx.bin";
    }
    if (p.boot.uefi) w.efi_image = boot + "/efi.img";
    w.progress = [&ctx](uint64_t done, uint64_t total) { ctx.progress(done, total, "bytes"); };
    ctx.log("write " + file + " (volume " + w.volume_id + ", UUID " + id.GrubUuid() + ")");
    auto written = formats::iso::Write(w);
    if (!written) return Error{"write " + file + ": " + written.error()};
    ctx.log("wrote " + std::to_string(written->bytes) + " bytes");
    if (p.output.checksum == profiles::Checksum::kSha256) {
      auto sum = Sha256File(w.output);
      if (!sum) return sum.take_error();
      if (auto st = WriteFile(ctx.output_dir() + "/SHA256SUMS", *sum + "  " + file + "\n"); !st)
        return st;
    }
    return {};
  };
  return s;
}

}  // namespace imager::stages
