// SPDX-License-Identifier: GPL-3.0-or-later
// imager boot: an ISO or disk image in QEMU (BIOS or UEFI), interactively or as a test that
// waits for a line on the serial console.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <regex>

#include "base/fd.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/strings.h"
#include "cmd/verbs.h"
#include "qemu/qemu.h"
#include "qemu/runner.h"

namespace imager::cmd {
namespace {

constexpr int kDefaultExpectTimeout = 300;

struct BootFlags {
  std::string image;
  bool uefi = false, serial = false, kvm = false, as_disk = false, as_usb = false;
  bool no_network = false, print_command = false, tablet = false, secure_boot = false;
  std::vector<std::string> disks;
  std::vector<std::pair<std::string, std::string>> sends;  // --send WHEN TEXT
  int memory = 2048, cpus = 2, timeout = 0;
  std::string machine = "q35", expect, log, screendump, qmp, uefi_vars;
  int settle = 0;
};

constexpr const char* kFooter = R"(
Boots IMAGE (an ISO, attached as a CD unless --as-disk/--as-usb; a .raw or .qcow2 disk image as
a virtio disk, changes discarded) in qemu-system-x86_64 with
SeaBIOS, or OVMF with --uefi (package ovmf). TCG emulation by default: slow but it works in any
container or CI runner; --kvm is much faster where /dev/kvm is accessible. --secure-boot is UEFI
with Secure Boot enforced: OVMF's Secure Boot build (OVMF_CODE_4M.secboot.fd, SMM on q35) and
variables with Microsoft's keys enrolled (OVMF_VARS_4M.ms.fd), as on a PC from a shop.
--uefi-vars FILE starts from another variable store instead (a copy; FILE is not changed): with
--secure-boot, /usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd trusts only Debian ovmf's test key
(/usr/share/ovmf/PkKek-1-snakeoil.pem), which a profile's boot.signing can sign with.

Console: --serial puts the guest's serial port on this terminal (no window; Ctrl-A x quits,
Ctrl-A c is QEMU's monitor). Without it QEMU opens a window when $DISPLAY is set, else it runs
without one and the serial console is on the terminal. A kernel shows its messages there with
console=ttyS0 on its command line.

Testing: --expect REGEX (ECMAScript syntax) watches the serial console (echoed, and copied to
--log FILE) and exits 0 as soon as a line matches, also an unfinished line such as a "login: "
prompt; it fails (exit 1, with the last 30 console lines) when --timeout passes first (default
300 s) or QEMU exits first. --send WHEN TEXT (repeatable) types TEXT and Enter into the serial
console once a line matches WHEN, each in turn; --expect is then watched from after the last
one: a login and a command, checked from inside the guest. QEMU never outlives imager, not even
on Ctrl-C. --timeout alone stops
the machine after that long and counts as success. --screendump FILE (.png or .ppm) saves the
screen just before QEMU is stopped.

Driving the guest: --qmp SOCKET puts QEMU's QMP server (its JSON control protocol) on that unix
socket, for a script that sends keys (send-key), pointer events (input-send-event) or takes
screendumps while the guest runs; --tablet adds a USB tablet, an absolute pointer that such
events (and a window's mouse) place exactly.

Examples:
  # a built ISO with its serial console on this terminal
  imager boot out/live.iso --serial
  # a disk image (output.formats: [raw]) under UEFI
  imager boot out/debian-live/debian-live.raw --uefi --serial
  # the qcow2 under UEFI with Secure Boot enforced: log in and ask the kernel
  imager boot out/debian-live/debian-live.qcow2 --secure-boot --send 'login: $' live \
    --send 'Password: $' live --send '[$] $' 'cat /sys/kernel/security/lockdown; echo END' \
    --expect '^END' --log sb.log
  # the same ISO as if dd'ed to a USB stick, under UEFI, with KVM
  imager boot out/live.iso --as-usb --uefi --kvm
  # CI: boot under UEFI until the login prompt, at most 10 minutes, keep the console log
  imager boot out/live.iso --uefi --expect 'login:' --timeout 600 --log boot.log
  # an installer with an empty 20 GiB target disk (qemu-img create -f qcow2 t.qcow2 20G)
  imager boot out/installer.iso --disk t.qcow2 --memory 4096 --expect 'Installation complete'
  # the same, driven by a script through QMP (tests/lib/calamares_drive.py)
  imager boot out/installer.iso --disk t.raw --tablet --qmp /tmp/q.sock --timeout 3600)";

void PrintTail(const char* what, const std::vector<std::string>& lines) {
  if (lines.empty()) return;
  std::cerr << what << "\n";
  for (const auto& l : lines) std::cerr << "  | " << l << "\n";
}

// Exit code and messages for a run with --expect.
int ReportExpect(const BootFlags& f, const qemu::RunOutcome& r) {
  char secs[32];
  snprintf(secs, sizeof secs, "%.1f s", r.seconds);
  switch (r.kind) {
    case qemu::RunOutcome::kMatched:
      for (size_t i = 0; i < r.sent_seconds.size(); ++i) {
        char at[32];
        snprintf(at, sizeof at, "%.1f s", r.sent_seconds[i]);
        log::Info("boot: --send " + std::to_string(i + 1) + " ('" + f.sends[i].first +
                  "') typed after " + at);
      }
      log::Info("boot: '" + f.expect + "' appeared after " + secs + ": " + r.matched_line);
      return kExitOk;
    case qemu::RunOutcome::kTimedOut:
      log::Err("boot: no console line matched '" + f.expect + "' within " +
               std::to_string(f.timeout) + " s; QEMU stopped");
      break;
    case qemu::RunOutcome::kQemuExited:
      log::Err("boot: QEMU exited (status " + std::to_string(r.qemu_status) + ") after " + secs +
               " before a console line matched '" + f.expect + "'");
      PrintTail("QEMU's last messages:", r.qemu_errors);
      break;
    case qemu::RunOutcome::kInterrupted:
      log::Err("boot: interrupted by signal " + std::to_string(r.signal) + "; QEMU stopped");
      return 128 + r.signal;
  }
  if (r.console_tail.empty())
    std::cerr << "The serial console stayed silent (does the kernel have console=ttyS0?)\n";
  PrintTail("Last lines of the serial console:", r.console_tail);
  return kExitFailed;
}

int ReportPlain(const qemu::RunOutcome& r) {
  switch (r.kind) {
    case qemu::RunOutcome::kMatched:
    case qemu::RunOutcome::kTimedOut:
      log::Info("boot: stopped QEMU after the timeout");
      return kExitOk;
    case qemu::RunOutcome::kQemuExited:
      if (r.qemu_status == 0) return kExitOk;
      log::Err("boot: QEMU exited with status " + std::to_string(r.qemu_status));
      PrintTail("QEMU's last messages:", r.qemu_errors);
      return kExitFailed;
    case qemu::RunOutcome::kInterrupted:
      return 128 + r.signal;
  }
  return kExitFailed;
}

qemu::Console PickConsole(const BootFlags& f) {
  if (!f.expect.empty() || f.timeout > 0 || !f.sends.empty()) return qemu::Console::kCapture;
  if (f.serial) return qemu::Console::kStdio;
  const char* display = getenv("DISPLAY");
  const char* wayland = getenv("WAYLAND_DISPLAY");
  if ((display && *display) || (wayland && *wayland)) return qemu::Console::kWindow;
  if (!f.print_command)
    log::Info(
        "boot: no $DISPLAY, so no window: the serial console is on this terminal "
        "(Ctrl-A x quits QEMU)");
  return qemu::Console::kStdio;
}

// Fills the machine from the flags; UEFI gets a private copy of OVMF's variables in `tmp`.
Result<qemu::Machine> MakeMachine(const BootFlags& f, const std::string& tmp) {
  qemu::Machine m;
  auto image = Canonical(f.image);
  if (!image) return Error{"image " + image.error()};
  m.image = *image;
  if (access(m.image.c_str(), R_OK) != 0) return ErrnoError("image " + m.image);
  // A disk image (NAME.raw, NAME.qcow2 from `imager build`) is a disk, not a CD.
  const bool disk_image = m.image.ends_with(".raw") || m.image.ends_with(".qcow2");
  m.attach = f.as_usb                  ? qemu::Attach::kUsb
             : f.as_disk || disk_image ? qemu::Attach::kDisk
                                       : qemu::Attach::kCdrom;
  for (const auto& d : f.disks) {
    auto disk = Canonical(d);
    if (!disk) return Error{"--disk " + disk.error()};
    m.disks.push_back(*disk);
  }
  if (f.uefi || f.secure_boot || !f.uefi_vars.empty()) {
    auto ovmf = qemu::FindUefi("/usr/share/OVMF", f.secure_boot);
    if (!ovmf) return ovmf.take_error();
    const std::string template_vars = f.uefi_vars.empty() ? ovmf->vars : f.uefi_vars;
    auto vars = ReadFile(template_vars);
    if (!vars)
      return Error{(f.uefi_vars.empty() ? "read " : "--uefi-vars: read ") + template_vars + ": " +
                   vars.error()};
    m.firmware = qemu::Firmware::kUefi;
    m.secure_boot = f.secure_boot;
    m.uefi_code = ovmf->code;
    m.uefi_vars = tmp + "/OVMF_VARS.fd";
    if (auto st = WriteFile(m.uefi_vars, *vars); !st) return st.take_error();
  }
  if (f.kvm) {
    if (auto st = qemu::CheckKvm(); !st) return st.take_error();
    m.accel = qemu::Accel::kKvm;
  }
  m.machine_type = f.machine;
  m.memory_mib = f.memory;
  m.cpus = f.cpus;
  m.network = !f.no_network;
  m.console = PickConsole(f);
  if (m.console != qemu::Console::kCapture) m.console_log = f.log;
  m.tablet = f.tablet;
  m.qmp_socket = f.qmp.empty() ? tmp + "/qmp.sock" : f.qmp;
  if (auto st = qemu::Validate(m); !st) return st.take_error();
  return m;
}

int BootMain(BootFlags f) {
  std::regex pattern;
  if (!f.expect.empty()) {
    try {
      pattern = std::regex(f.expect, std::regex::ECMAScript);
    } catch (const std::regex_error& e) {
      log::Err("--expect '" + f.expect + "': not a valid regular expression: " + e.what());
      return kExitUsage;
    }
    if (f.timeout <= 0) f.timeout = kDefaultExpectTimeout;
  }
  std::vector<qemu::Send> sends;
  for (const auto& [when, text] : f.sends) {
    try {
      sends.push_back({std::regex(when, std::regex::ECMAScript), text});
    } catch (const std::regex_error& e) {
      log::Err("--send '" + when + "': not a valid regular expression: " + e.what());
      return kExitUsage;
    }
  }
  if (!sends.empty() && f.timeout <= 0) f.timeout = kDefaultExpectTimeout;
  if (!f.screendump.empty() && f.screendump[0] != '/') {
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd)) f.screendump = std::string(cwd) + "/" + f.screendump;
  }
  const char* runtime = getenv("XDG_RUNTIME_DIR");
  auto tmp = MakeTempDir(runtime && access(runtime, W_OK) == 0 ? runtime : "/tmp", "imager-boot.");
  if (!tmp) {
    log::Err(tmp.error());
    return kExitFailed;
  }
  std::shared_ptr<void> cleanup(nullptr, [dir = *tmp](void*) { (void)RemoveTree(dir); });
  auto machine = MakeMachine(f, *tmp);
  if (!machine) {
    log::Err("boot: " + machine.error());
    return kExitFailed;
  }
  auto argv = qemu::QemuArgv(*machine);
  if (f.print_command) {
    std::vector<std::string> quoted;
    for (const auto& a : argv) quoted.push_back(ShellQuote(a));
    std::cout << Join(quoted, " ") << "\n";
    return kExitOk;
  }
  std::vector<std::string> shown;
  for (const auto& a : argv) shown.push_back(ShellQuote(a));
  log::Verbose("boot: " + Join(shown, " "));
  qemu::RunOptions o;
  o.capture = machine->console == qemu::Console::kCapture;
  o.sends = std::move(sends);
  o.expect = f.expect.empty() ? nullptr : &pattern;
  o.timeout_seconds = f.timeout;
  o.log = o.capture ? f.log : "";
  o.echo = log::GetLevel() != log::Level::kQuiet;
  o.qmp_socket = machine->qmp_socket;
  o.screendump = f.screendump;
  o.settle_seconds = f.settle;
  auto r = qemu::Run(argv, o);
  if (!r) {
    log::Err("boot: " + r.error());
    return kExitFailed;
  }
  if (!r->screendump_error.empty())
    log::Warn("boot: no screendump in " + f.screendump + ": " + r->screendump_error);
  else if (!f.screendump.empty())
    log::Info("boot: screendump written to " + f.screendump);
  return f.expect.empty() ? ReportPlain(*r) : ReportExpect(f, *r);
}

}  // namespace

Action SetupBoot(CLI::App* app, const GlobalOptions*) {
  auto f = std::make_shared<BootFlags>();
  app->footer(kFooter);
  app->add_option("IMAGE", f->image, "ISO or disk image to boot")->required();
  app->add_flag("--uefi", f->uefi, "Boot with UEFI firmware (OVMF) instead of BIOS (SeaBIOS)");
  app->add_flag("--secure-boot", f->secure_boot,
                "UEFI with Secure Boot enforced (Microsoft's keys enrolled; implies --uefi)");
  app->add_option("--uefi-vars", f->uefi_vars,
                  "UEFI variable store to start from instead of OVMF's (copied; implies --uefi)");
  app->add_flag("--serial", f->serial, "Serial console on this terminal, no window");
  auto* as_disk =
      app->add_flag("--as-disk", f->as_disk, "Attach IMAGE as a virtio disk instead of a CD");
  app->add_flag("--as-usb", f->as_usb, "Attach IMAGE as a USB stick (a dd'ed ISO)")
      ->excludes(as_disk);
  app->add_option("--disk", f->disks, "Extra virtio disk, writable (raw, or qcow2 by suffix)");
  app->add_flag("--kvm", f->kvm, "Use KVM (needs access to /dev/kvm) instead of TCG emulation");
  app->add_option("--memory", f->memory, "Guest memory in MiB")->capture_default_str();
  app->add_option("--cpus", f->cpus, "Guest CPUs")->capture_default_str();
  app->add_option("--machine", f->machine, "QEMU machine type: q35 or pc (i440fx)")
      ->capture_default_str();
  app->add_flag("--no-network", f->no_network, "No network card (default: user-mode virtio-net)");
  app->add_option("--expect", f->expect, "Succeed when a serial console line matches REGEX");
  app->add_option("--send", f->sends,
                  "WHEN TEXT: once a console line matches WHEN, type TEXT and Enter (repeatable, "
                  "in order; --expect is watched after the last)");
  app->add_option("--timeout", f->timeout,
                  "Seconds before QEMU is stopped (with --expect: a failure; default 300)");
  app->add_option("--log", f->log, "Copy the serial console into FILE");
  app->add_option("--qmp", f->qmp,
                  "QEMU's QMP server on this unix socket (for a script driving the guest)");
  app->add_flag("--tablet", f->tablet, "Add a USB tablet (absolute pointer)");
  app->add_option("--screendump", f->screendump, "Save the screen to FILE (.png/.ppm) at the end");
  app->add_option("--settle", f->settle,
                  "With --expect: after the match, let the guest run S more seconds (still "
                  "logged) before the screendump and the stop")
      ->check(CLI::Range(0, 3600));
  app->add_flag("--print-command", f->print_command, "Print QEMU's command line, do not run it");
  return [f] { return BootMain(*f); };
}

}  // namespace imager::cmd
