// SPDX-License-Identifier: GPL-3.0-or-later
#include "stages/iso_stages.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>

#include "base/fd.h"
#include "base/fs.h"
#include "base/inroot.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "families/family.h"
#include "formats/iso.h"
#include "sandbox/launch.h"
#include "sandbox/tools.h"
#include "stages/installer_stages.h"
#include "stages/outputs.h"
#include "stages/rootfs.h"
#include "stages/stage_util.h"

namespace imager::stages {
namespace {

using profiles::Profile;

// Seconds the boot menus wait before starting the first entry.
constexpr int kMenuSeconds = 5;

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

namespace {

struct ToolsOptions {
  PackageSet files;
  std::string arch;
  std::string unpack;  // the `imager internal` helper that unpacks the family's packages
  static constexpr auto kFields =
      std::tuple{Field("package", &ToolsOptions::files, &KeyPackages),
                 Field("arch", &ToolsOptions::arch), Field("unpack", &ToolsOptions::unpack)};
};

Status RunTools(StageContext& ctx, const ToolsOptions& o) {
  return UnpackTools(ctx, o.files, {o.unpack, "--arch", o.arch});
}

}  // namespace

Status UnpackTools(StageContext& ctx, const PackageSet& files, std::vector<std::string> helper) {
  if (files.paths.empty())
    return Error{"the lock has no tools for this profile's outputs (run 'imager resolve')"};
  auto pkgs = BindPackages(files.paths, "/pkgs");
  std::vector<std::string> args = std::move(helper);
  args.push_back("/target");
  args.insert(args.end(), pkgs.inside.begin(), pkgs.inside.end());
  auto spec = TargetSpec(ctx, {pkgs.bind}, args);
  if (!spec) return spec.take_error();
  if (auto st =
          RunLogged(*spec, ctx, "unpack " + std::to_string(files.paths.size()) + " tools packages");
      !st)
    return st;
  // Mount points for running the tools with this tree as "/" (no base-files here).
  for (const char* d : {"/dev", "/proc", "/sys", "/run", "/tmp", "/work", "/out"})
    if (mkdir((ctx.output_dir() + d).c_str(), 0755) != 0 && errno != EEXIST)
      return ErrnoError("create " + ctx.output_dir() + d);
  return {};
}

Stage DebToolsStage(const Profile& p, const PackageFiles& tools) {
  return MakeStage({.name = "tools"}, ToolsOptions{SetOf(tools), p.distribution.arch, "deb-unpack"},
                   RunTools);
}

Stage ToolsStage(const Profile& p, const PackageFiles& tools) {
  return families::Of(p).tools_stage(p, tools);
}

Medium LiveMedium(const Profile& p) {
  return {.images = {{"squashfs", p.name + ".squashfs", kMediumImage}}, .trees = {}};
}

Medium LayeredMedium(const Profile& p, const std::vector<std::string>& layers) {
  Medium m;
  for (size_t i = 0; i < layers.size(); ++i)
    m.images.push_back({"squashfs-" + layers[i], p.name + "-" + layers[i] + ".squashfs",
                        i == 0 ? std::string(kMediumImage) : "/live/" + layers[i] + ".squashfs"});
  return m;
}

bool MergedLiveImage(const Profile& p) {
  return p.installer.type != profiles::InstallerType::kNone ||
         Wants(p, profiles::Format::kSquashfs);
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

namespace {

struct InitramfsOptions {
  std::string config;   // the booter's configuration
  std::string modules;  // the kernel modules it loads, comma-separated
  int64_t source_date_epoch = -1;
  ContentPath booter;        // the booter binary
  std::string booter_error;  // why there is none (FindBooter failed): the stage fails with it
  static constexpr auto kFields = std::tuple{
      Field("config", &InitramfsOptions::config), Field("modules", &InitramfsOptions::modules),
      Field("source_date_epoch", &InitramfsOptions::source_date_epoch),
      Field("booter", &InitramfsOptions::booter),
      Field("booter_error", &InitramfsOptions::booter_error)};
};

Status RunInitramfs(StageContext& ctx, const InitramfsOptions& o) {
  if (!o.booter_error.empty()) return Error{o.booter_error};
  std::string conf = ctx.scratch_dir() + "/imager-booter.conf";
  if (auto st = WriteFile(conf, o.config); !st) return st;
  std::vector<sandbox::BindSpec> binds{{ctx.output_dir(), "/out", false},
                                       {o.booter.path, "/in/imager-booter", true},
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
                                o.modules,
                                "--source-date-epoch",
                                std::to_string(std::max<int64_t>(o.source_date_epoch, 0))};
  auto spec = sandbox::InternalSpec(ctx.idmap(), binds, ovls, args);
  if (!spec) return spec.take_error();
  return RunLogged(*spec, ctx, "write the initramfs");
}

}  // namespace

Stage InitramfsStage(const Profile& p, int64_t source_date_epoch, std::vector<std::string> layers,
                     const BootIdentity& id, const Medium& medium) {
  // A missing booter fails the stage (with the message), not the planning of other outputs.
  auto booter = FindBooter();
  InitramfsOptions o{.config = BooterConfig(p, id, medium),
                     .modules = Join(BooterModules(p), ","),
                     .source_date_epoch = source_date_epoch,
                     .booter = {booter ? *booter : ""},
                     .booter_error = booter ? "" : booter.error()};
  return MakeStage(
      {.name = "initramfs", .output = OutputKind::kArtifact, .parents = std::move(layers)},
      std::move(o), RunInitramfs);
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

namespace {

struct BootloaderOptions {
  std::string isolinux;  // isolinux.cfg; empty: no BIOS boot
  std::string grub;      // the medium's grub.cfg; empty: no UEFI boot
  std::string esp;       // the ESP's grub.cfg
  int64_t source_date_epoch = -1;
  families::BootFiles files;  // where the tools tree has the boot loaders
  EspSigning signing;         // boot.signing
  static constexpr auto kFields =
      std::tuple{Field("isolinux.cfg", &BootloaderOptions::isolinux),
                 Field("grub.cfg", &BootloaderOptions::grub),
                 Field("esp grub.cfg", &BootloaderOptions::esp),
                 Field("source_date_epoch", &BootloaderOptions::source_date_epoch),
                 Field("files", &BootloaderOptions::files),
                 Field("signing", &BootloaderOptions::signing)};
};

}  // namespace

Result<std::string> FindInTree(const std::string& tree, const std::string& suffix) {
  auto files = FilesBelow(tree);
  if (!files) return files.take_error();
  std::vector<std::string> found;
  for (const auto& f : *files)
    if (("/" + f).size() >= suffix.size() &&
        ("/" + f).compare(("/" + f).size() - suffix.size(), suffix.size(), suffix) == 0)
      found.push_back("/" + f);
  if (found.size() == 1) return found[0];
  if (found.empty())
    return Error{"the tools tree has no file ending in " + suffix +
                 " (is the family's boot loader package in the lock's tools?)"};
  return Error{"the tools tree has several files ending in " + suffix + ": " + Join(found, ", ")};
}

Result<std::string> ToolProgram(const std::string& tree, const std::string& name) {
  auto root = InRoot::Open(tree);
  if (!root) return root.take_error();
  for (const char* dir : {"/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/"})
    if (root->Exists(dir + name)) return dir + name;
  return Error{"the tools tree has no " + name +
               " in /usr/sbin, /usr/bin, /sbin or /bin (is its package in the lock's tools?)"};
}

std::string EspFatSerial(const std::string& grub_cfg) {
  char volid[16];
  snprintf(volid, sizeof volid, "%08x",
           static_cast<unsigned>(std::stoul(Sha256Hex(grub_cfg).substr(0, 8), nullptr, 16)));
  return volid;
}

namespace {

// boot.signing: each of `files` (below scratch/esp) signed in place by the tools tree's sbsign
// in `spec`'s sandbox (scratch at /work). The key is copied into scratch for the run, readable
// by its owner only, and removed after it.
Status SignEfiBinaries(StageContext& ctx, sandbox::SandboxSpec spec, const std::string& tools,
                       const EspSigning& signing, const std::vector<std::string>& files) {
  auto sbsign = ToolProgram(tools, "sbsign");
  if (!sbsign) return Error{"boot.signing: " + sbsign.error()};
  const std::string keys = ctx.scratch_dir() + "/signing";
  if (auto st = MakeDirs(keys); !st) return st;
  if (chmod(keys.c_str(), 0700) != 0) return ErrnoError("chmod " + keys);
  Status st = CopyFile(signing.key.path, keys + "/key.pem", 0600);
  if (st) st = CopyFile(signing.cert.path, keys + "/cert.pem", 0644);
  for (size_t i = 0; st && i < files.size(); ++i) {
    const std::string in = "/work/esp/" + files[i];
    spec.argv = {*sbsign,
                 "--key",
                 "/work/signing/key.pem",
                 "--cert",
                 "/work/signing/cert.pem",
                 "--output",
                 in + ".signed",
                 in};
    st = RunLogged(spec, ctx, "sbsign " + files[i] + " (boot.signing)");
    const std::string host = ctx.scratch_dir() + "/esp/" + files[i];
    if (st && rename((host + ".signed").c_str(), host.c_str()) != 0)
      st = ErrnoError("rename " + host + ".signed");
  }
  if (auto rm = RemoveTree(keys); !rm && st) st = rm;
  if (!st)
    return Error{st.error() + " (boot.signing: key " + signing.key.path + ", certificate " +
                 signing.cert.path + ")"};
  return {};
}

}  // namespace

Status WriteEsp(StageContext& ctx, const families::BootFiles& files, const std::string& grub_cfg,
                int64_t source_date_epoch, const std::string& image, const EspSigning& signing) {
  const std::string tools = ctx.parent("tools")->dir;
  const int64_t sde = std::max<int64_t>(source_date_epoch, 0);
  auto take = [&](const std::string& suffix, const std::string& to) -> Status {
    auto from = FindInTree(tools, suffix);
    if (!from) return from.take_error();
    return CopyFile(tools + *from, to, 0644);
  };
  // Staged in scratch with fixed times, then a FAT image made by the tools tree's mkfs.fat and
  // mtools (no loop device, no mount); both honour fixed ids and dates.
  const std::string stage = ctx.scratch_dir() + "/esp";
  for (auto [from, to] : {std::pair{files.shim, "EFI/BOOT/BOOTX64.EFI"},
                          std::pair{files.grub_efi, "EFI/BOOT/grubx64.efi"},
                          std::pair{files.mok_manager, "EFI/BOOT/mmx64.efi"}})
    if (auto st = take(from, stage + "/" + to); !st) return st;
  if (auto st = MakeDirs(stage + "/boot/grub"); !st) return st;
  if (auto st = WriteFile(stage + "/boot/grub/grub.cfg", grub_cfg); !st) return st;
  // Debian's removable-media GRUB reads /boot/grub/grub.cfg; Fedora's and openEuler's read
  // grub.cfg beside their own image (their prefix is the directory they were loaded from).
  if (auto st = WriteFile(stage + "/EFI/BOOT/grub.cfg", grub_cfg); !st) return st;

  const std::string dir = std::filesystem::path(image).parent_path().string();
  const std::string name = std::filesystem::path(image).filename().string();
  sandbox::SandboxSpec spec;
  spec.idmap = ctx.idmap();
  spec.root.kind = sandbox::RootSpec::Kind::kDir;
  spec.root.dir = tools;
  spec.root.readonly = true;
  spec.binds = {{ctx.scratch_dir(), "/work", false}, {dir, "/out", false}};
  spec.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C",
              "SOURCE_DATE_EPOCH=" + std::to_string(sde), "MTOOLS_SKIP_CHECK=1"};
  if (!signing.empty())
    if (auto st = SignEfiBinaries(ctx, spec, tools, signing,
                                  {"EFI/BOOT/BOOTX64.EFI", "EFI/BOOT/mmx64.efi"});
        !st)
      return st;

  auto listed = FilesBelow(stage);
  if (!listed) return listed.take_error();
  uint64_t bytes = 0;
  for (const auto& f : *listed) {
    std::string path = stage + "/" + f;
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return ErrnoError("stat " + path);
    bytes += (static_cast<uint64_t>(st.st_size) + 4095) / 4096 * 4096;
    struct timespec times[2] = {{sde, 0}, {sde, 0}};
    if (utimensat(AT_FDCWD, path.c_str(), times, 0) != 0) return ErrnoError("utimensat " + path);
  }
  // Room for FAT tables and directories, whole MiB.
  uint64_t kib = ((bytes + (1 << 20)) / (1 << 20) + 1) * 1024;

  auto mkfs = ToolProgram(tools, "mkfs.fat");
  auto mmd = ToolProgram(tools, "mmd");
  auto mcopy = ToolProgram(tools, "mcopy");
  for (const auto* found : {&mkfs, &mmd, &mcopy})
    if (!*found) return Error{found->error()};
  std::vector<std::vector<std::string>> steps{
      {*mkfs, "-C", "--invariant", "-i", EspFatSerial(grub_cfg), "-n", "EFIBOOT", "/out/" + name,
       std::to_string(kib)},
      {*mmd, "-i", "/out/" + name, "::/EFI", "::/EFI/BOOT", "::/boot", "::/boot/grub"}};
  for (const auto& f : *listed) {
    auto parent = std::filesystem::path(f).parent_path().string();
    steps.push_back({*mcopy, "-m", "-i", "/out/" + name, "/work/esp/" + f, "::/" + parent + "/"});
  }
  for (auto& argv : steps) {
    std::string what = std::filesystem::path(argv[0]).filename().string() + " (the ESP)";
    spec.argv = std::move(argv);
    if (auto st = RunLogged(spec, ctx, what); !st) return st;
  }
  return {};
}

namespace {

Status RunBootloader(StageContext& ctx, const BootloaderOptions& o) {
  const std::string tools = ctx.parent("tools")->dir;
  const std::string out = ctx.output_dir();
  auto take = [&](const std::string& suffix, const std::string& to) -> Status {
    auto from = FindInTree(tools, suffix);
    if (!from) return from.take_error();
    return CopyFile(tools + *from, to, 0644);
  };
  if (!o.isolinux.empty()) {
    if (auto st = take(o.files.isolinux_bin, out + "/tree/isolinux/isolinux.bin"); !st) return st;
    for (const char* m : {"ldlinux.c32", "menu.c32", "libutil.c32"})
      if (auto st = take(o.files.syslinux_bios + "/" + m, out + "/tree/isolinux/" + m); !st)
        return st;
    if (auto st = WriteFile(out + "/tree/isolinux/isolinux.cfg", o.isolinux); !st) return st;
    if (auto st = take(o.files.isohybrid_mbr, out + "/isohdpfx.bin"); !st) return st;
  }
  if (o.esp.empty()) return {};
  if (auto st = MakeDirs(out + "/tree/boot/grub"); !st) return st;
  if (auto st = WriteFile(out + "/tree/boot/grub/grub.cfg", o.grub); !st) return st;
  return WriteEsp(ctx, o.files, o.esp, o.source_date_epoch, out + "/efi.img", o.signing);
}

}  // namespace

Stage BootloaderStage(const Profile& p, int64_t source_date_epoch, const BootIdentity& id) {
  BootloaderOptions o{.isolinux = p.boot.bios ? IsolinuxConfig(p) : "",
                      .grub = p.boot.uefi ? GrubConfig(p, id) : "",
                      .esp = p.boot.uefi ? EspGrubConfig(id) : "",
                      .source_date_epoch = source_date_epoch,
                      .files = families::Of(p).boot_files,
                      .signing = p.boot.uefi ? EspSigning::Of(p) : EspSigning{}};
  // Version 2: the ESP has grub.cfg in EFI/BOOT/ too (WriteEsp).
  return MakeStage(
      {.name = "bootloader", .version = 2, .output = OutputKind::kArtifact, .parents = {"tools"}},
      std::move(o), RunBootloader);
}

namespace {

struct IsoOptions {
  std::string name;  // the profile's, in /.disk/info
  std::string file;
  std::string volume_id;
  BootIdentity id;
  std::string checksum;  // output.checksum
  bool bios = true, uefi = true;
  int64_t source_date_epoch = -1;
  Medium medium;
  static constexpr auto kFields =
      std::tuple{Field("name", &IsoOptions::name),
                 Field("file", &IsoOptions::file),
                 Field("volume_id", &IsoOptions::volume_id),
                 Field("identity", &IsoOptions::id),
                 Field("checksum", &IsoOptions::checksum),
                 Field("bios", &IsoOptions::bios),
                 Field("uefi", &IsoOptions::uefi),
                 Field("source_date_epoch", &IsoOptions::source_date_epoch),
                 Field("medium", &IsoOptions::medium)};
};

Status RunIso(StageContext& ctx, const IsoOptions& o) {
  const std::string initramfs = ctx.parent("initramfs")->dir;
  const std::string boot = ctx.parent("bootloader")->dir;
  // The medium's tree, hard links into the cache where possible.
  const std::string root = ctx.scratch_dir() + "/medium";
  std::vector<std::pair<std::string, std::string>> copies;
  for (const auto& image : o.medium.images)
    copies.push_back({ctx.parent(image.stage)->dir + "/" + image.file, image.path});
  copies.push_back({initramfs + "/vmlinuz", kMediumKernel});
  copies.push_back({initramfs + "/initrd.img", kMediumInitrd});
  for (const auto& tree : o.medium.trees) {
    std::string dir = ctx.parent(tree)->dir + "/tree";
    auto files = FilesBelow(dir);
    if (!files) return files.take_error();
    for (const auto& f : *files) copies.push_back({dir + "/" + f, "/" + f});
  }
  for (const auto& [from, to] : copies)
    if (auto st = LinkOrCopy(from, root + to); !st) return st;
  if (auto st = WriteFile(root + kMediumIdFile, o.id.id + "\n"); !st) return st;
  // The name Debian's own media carry (GRUB's removable-media image looks for it too).
  if (auto st = MakeDirs(root + "/.disk"); !st) return st;
  if (auto st = WriteFile(root + "/.disk/info", "Imager " + o.name + " " + o.id.id + "\n"); !st)
    return st;
  if (access((boot + "/tree").c_str(), F_OK) == 0) {
    auto files = FilesBelow(boot + "/tree");
    if (!files) return files.take_error();
    for (const auto& f : *files)
      if (auto st = LinkOrCopy(boot + "/tree/" + f, root + "/" + f); !st) return st;
  }
  formats::iso::WriteOptions w;
  w.root = root;
  w.output = ctx.output_dir() + "/" + o.file;
  w.volume_id = o.volume_id;
  w.source_date_epoch = std::max<int64_t>(o.source_date_epoch, 0);
  w.volume_uuid = o.id.volume_uuid;
  if (o.bios) {
    w.bios_boot_image = "isolinux/isolinux.bin";
    w.bios_catalog = "isolinux/boot.cat";
    w.isohybrid_mbr = boot + "/isohdpfx.bin";
  }
  if (o.uefi) w.efi_image = boot + "/efi.img";
  w.progress = [&ctx](uint64_t done, uint64_t total) { ctx.progress(done, total, "bytes"); };
  ctx.log("write " + o.file + " (volume " + w.volume_id + ", UUID " + o.id.GrubUuid() + ")");
  auto written = formats::iso::Write(w);
  if (!written) return Error{"write " + o.file + ": " + written.error()};
  ctx.log("wrote " + std::to_string(written->bytes) + " bytes");
  if (o.checksum == profiles::NameOf(profiles::Checksum::kSha256)) {
    auto sum = Sha256File(w.output);
    if (!sum) return sum.take_error();
    if (auto st = WriteFile(ctx.output_dir() + "/SHA256SUMS", *sum + "  " + o.file + "\n"); !st)
      return st;
  }
  return {};
}

}  // namespace

Stage IsoStage(const Profile& p, int64_t source_date_epoch, const BootIdentity& id,
               const Medium& medium) {
  StageInfo info{.name = "iso", .output = OutputKind::kArtifact};
  for (const auto& image : medium.images) info.parents.push_back(image.stage);
  info.parents.insert(info.parents.end(), medium.trees.begin(), medium.trees.end());
  info.parents.insert(info.parents.end(), medium.checks.begin(), medium.checks.end());
  info.parents.insert(info.parents.end(), {"initramfs", "bootloader"});
  IsoOptions o{.name = p.name,
               .file = p.name + ".iso",
               .volume_id = p.output.volume_id,
               .id = id,
               .checksum = profiles::NameOf(p.output.checksum),
               .bios = p.boot.bios,
               .uefi = p.boot.uefi,
               .source_date_epoch = source_date_epoch,
               .medium = medium};
  return MakeStage(std::move(info), std::move(o), RunIso);
}

Status PlanIso(OutputPlan& plan) {
  const Profile& p = plan.profile;
  const BuildOptions& o = plan.options;
  const families::Family& family = families::Of(p);
  if (!family.tool_packages)
    return Error{p.Where("output.formats").ToString() +
                 ": output.formats: iso is not implemented for the " + family.name +
                 " family yet (use tar, squashfs, oci or oci-archive)"};
  if (p.distribution.arch != family.default_arch)
    return Error{p.Where("distribution.arch").ToString() +
                 ": distribution.arch: an iso is built for " + family.default_arch +
                 " only so far, not " + p.distribution.arch};
  if (!p.boot.bios && !p.boot.uefi)
    return Error{p.Where("boot").ToString() +
                 ": boot: an iso needs boot.bios or boot.uefi (or both)"};
  // An installer copies the target image onto a disk that boots with its own initramfs.
  if (p.installer.type != profiles::InstallerType::kNone) *plan.layers = BootedLayers(plan);
  Medium medium;
  if (MergedLiveImage(p)) {
    if (auto st = PlanSquashfs(plan); !st) return st;
    medium = LiveMedium(p);
  } else {
    medium = LayeredMedium(p, *plan.layers);
    for (size_t i = 0; i < medium.images.size(); ++i)
      plan.pipeline->Add(ImageFileStage(medium.images[i].stage, {(*plan.layers)[i]},
                                        {.file = medium.images[i].file,
                                         .writer = "write-squashfs",
                                         .overlay_layer = i > 0,
                                         .source_date_epoch = o.source_date_epoch}));
  }
  const std::vector<std::string> target = *plan.layers;  // has the kernel
  if (auto st = PlanInstaller(p, o, plan.layers, plan.pipeline, &medium); !st) return st;
  // The images' keys identify the build: the initramfs accepts only this medium (one image: its
  // key as it is, so a live ISO keeps the identity it had before media could stack images).
  auto keys = plan.pipeline->Keys();
  if (!keys) return keys.take_error();
  std::string image_key;
  for (const auto& image : medium.images)
    for (const auto& [name, key] : *keys)
      if (name == image.stage) image_key += key;
  if (medium.images.size() > 1) image_key = Sha256Hex(image_key);
  BootIdentity id = MakeBootIdentity(p, image_key, o.source_date_epoch);
  if (!plan.pipeline->Has("tools")) plan.pipeline->Add(ToolsStage(p, o.tools));  // disk: shared
  plan.pipeline->Add(InitramfsStage(p, o.source_date_epoch, target, id, medium));
  plan.pipeline->Add(BootloaderStage(p, o.source_date_epoch, id));
  plan.pipeline->Add(IsoStage(p, o.source_date_epoch, id, medium));
  return {};
}

}  // namespace imager::stages
