// SPDX-License-Identifier: GPL-3.0-or-later
// imager-booter: the /init of an Imager initramfs. It finds this build's medium, mounts its
// squashfs under a tmpfs overlay and switch_roots into it; README.md describes the config.

#include <sys/reboot.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include <cstdio>
#include <string>

#include "base/fd.h"
#include "base/strings.h"
#include "booter/config.h"
#include "booter/modules.h"
#include "booter/os_linux.h"
#include "booter/probe.h"

namespace imager::booter {
namespace {

constexpr char kConfigPath[] = "/etc/imager-booter.conf";
constexpr char kRun[] = "/run/imager";
constexpr char kNewRoot[] = "/newroot";

bool g_quiet = false;

void Say(const std::string& msg) {
  std::string line = "imager-booter: " + msg + "\n";
  WriteAll(2, line);
}
void Info(const std::string& msg) {
  if (!g_quiet) Say(msg);
}
void ProbeLog(const std::string& line) { Info("  " + line); }

// The end of a failed boot: say so, offer a shell if there is one, then stop the machine.
[[noreturn]] void Fail(const Config& cfg, const std::string& why, const std::string& image_root) {
  Say("BOOT FAILED: " + why);
  bool had_shell = RunShell("") || (!image_root.empty() && RunShell(image_root));
  if (!had_shell) Say("no emergency shell (/bin/sh) in the initramfs or the image");
  const char* what = cfg.on_failure == OnFailure::kPowerOff ? "powering off"
                     : cfg.on_failure == OnFailure::kReboot ? "rebooting"
                                                            : "halting";
  Say(std::string(what) + "; the messages above say why");
  sync();
  reboot(cfg.on_failure == OnFailure::kPowerOff ? RB_POWER_OFF
         : cfg.on_failure == OnFailure::kReboot ? RB_AUTOBOOT
                                                : RB_HALT_SYSTEM);
  for (;;) pause();  // pid 1 must never exit
}

Config LoadConfig() {
  Config cfg;
  if (auto text = ReadFile(kConfigPath); !text) {
    Say("no config (" + text.error() + "), using defaults");
  } else if (auto parsed = ParseConfig(*text); !parsed) {
    Say(std::string(kConfigPath) + ": " + parsed.error() + "; using defaults");
  } else {
    cfg = std::move(*parsed);
  }
  if (auto cmdline = ReadFile("/proc/cmdline"); cmdline) {
    for (const auto& w : ApplyCmdline(*cmdline, &cfg)) Say(w);
  }
  return cfg;
}

// Copies the images into a tmpfs sized for them, so the medium can be removed.
Result<std::vector<std::string>> CopyToRam(const std::vector<std::string>& files) {
  uint64_t total = 0;
  for (const auto& f : files) {
    auto size = FileSize(f);
    if (!size) return size.take_error();
    total += *size;
  }
  const std::string ram = std::string(kRun) + "/ram";
  if (auto st = MountTmpfs(ram, total + (1 << 20)); !st) return st.take_error();
  std::vector<std::string> copies;
  for (size_t i = 0; i < files.size(); ++i) {
    copies.push_back(ram + "/" + std::to_string(i) + ".squashfs");
    Info("toram: copying " + files[i] + " (" + std::to_string(total >> 10) + " KiB in all)");
    if (auto n = CopyFile(files[i], copies.back()); !n) {
      (void)Unmount(ram);
      return Error{n.error() + " (not enough memory for toram?)"};
    }
  }
  return copies;
}

// Mounts the images of the accepted medium as the new root; returns the problem otherwise.
Status AssembleRoot(const Config& cfg, const std::string& medium_dir) {
  std::vector<std::string> files;
  for (const auto& image : cfg.images) files.push_back(medium_dir + image);
  if (cfg.toram) {
    if (auto copies = CopyToRam(files); copies) {
      files = std::move(*copies);
      if (auto st = Unmount(medium_dir); st) Info("toram: medium released, it may be removed");
    } else {
      Say("toram failed, running from the medium: " + copies.error());
    }
  }
  // The same names for the images wherever they are, on the medium or in RAM:
  // /run/imager/images/I.squashfs (an installer's unpackfs reads the target image there).
  const std::string names = std::string(kRun) + "/images";
  if (mkdir(names.c_str(), 0755) != 0 && errno != EEXIST) Say("mkdir " + names + " failed");
  for (size_t i = 0; i < files.size(); ++i) {
    std::string name = names + "/" + std::to_string(i) + ".squashfs";
    if (symlink(files[i].c_str(), name.c_str()) != 0) Say("symlink " + name + " failed");
  }
  std::vector<std::string> lowers;
  for (size_t i = 0; i < files.size(); ++i) {
    auto loop = AttachLoop(files[i]);
    if (!loop) return loop.take_error();
    lowers.push_back(std::string(kRun) + "/layer" + std::to_string(i));
    if (auto st = MountReadOnly(loop->path, lowers.back(), "squashfs"); !st)
      return Wrap(files[i], st.error());
    Info("image " + files[i] + " on " + loop->path);
  }
  const std::string rw = std::string(kRun) + "/overlay";
  if (auto st = MountTmpfs(rw, 0); !st) return st;
  return MountOverlay(lowers, rw, kNewRoot);
}

int Main() {
  if (getpid() != 1) {
    std::fputs("imager-booter: this is the /init of an initramfs and runs only as pid 1\n", stderr);
    return 2;
  }
  auto basics = MountBasics();
  Config cfg = LoadConfig();
  g_quiet = cfg.quiet;
  if (!basics) Fail(cfg, basics.error(), "");
  auto problems = CheckConfig(cfg);
  if (!problems.empty()) Fail(cfg, "unusable config: " + Join(problems, "; "), "");

  // Drivers and filesystems the probe needs, in the closure order computed at build time.
  const std::string moddir = "/lib/modules/" + KernelRelease();
  auto mods = LoadModules(cfg.modules, moddir);
  for (const auto& e : mods.errors) Say("module: " + e);
  Info("firmware: " + DescribeFirmware());
  Info("modules: " + std::to_string(mods.loaded) + " loaded, " + std::to_string(mods.already) +
       " already present, " + std::to_string(mods.errors.size()) + " failed");

  // Find this build's medium in the configured order, waiting for late devices.
  LinuxOs os(std::string(kRun) + "/probe");
  std::vector<std::string> order;
  for (const auto& s : cfg.probe.empty() ? DefaultProbeOrder() : cfg.probe)
    order.push_back(s.ToString());
  Info("looking for id \"" + cfg.id + "\" with " + Join(cfg.images, ", ") + " (order " +
       Join(order, ",") + ", timeout " + std::to_string(cfg.timeout_s) + " s)");
  auto found = Probe(os, cfg, ProbeLog);
  if (!found.medium) {
    Say("no medium accepted; what the probe saw:");
    for (const auto& line : Split(found.report.Format(), '\n'))
      if (!line.empty()) Say(line);
    Fail(cfg, "this build's medium was not found", "");
  }
  found.medium->Keep();
  Info("medium " + found.device.node + " (" + found.medium->fstype() + ") accepted");
  // The image finds its medium at a fixed place, whichever device it was.
  const std::string medium_dir = std::string(kRun) + "/medium";
  if (auto st = MoveMount(found.medium->mount_point(), medium_dir); !st) Fail(cfg, st.error(), "");

  // The image under a writable tmpfs overlay becomes the new root.
  if (auto st = AssembleRoot(cfg, medium_dir); !st) Fail(cfg, st.error(), kNewRoot);
  if (cfg.shell) {
    Info("imager.shell: starting a shell before switch_root; exit it to continue");
    if (!RunShell("") && !RunShell(kNewRoot)) Say("imager.shell: no /bin/sh to run");
  }

  // The image keeps the medium and the basic mounts; /run carries the booter's mounts along.
  for (const char* m : {"/dev", "/proc", "/sys", "/run"}) {
    if (auto st = MoveMount(m, std::string(kNewRoot) + m); !st) Fail(cfg, st.error(), kNewRoot);
  }
  Info("switching root to " + cfg.init);
  auto st = SwitchRoot(kNewRoot, cfg.init);
  Fail(cfg, st.error(), "");
}

}  // namespace
}  // namespace imager::booter

int main() { return imager::booter::Main(); }
