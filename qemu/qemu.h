// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The QEMU virtual machine that `imager boot` starts, described as data: Machine says what to
/// boot and how, QemuArgv() turns it into qemu-system-x86_64's command line (pure, unit-tested);
/// FindUefi() and CheckKvm() look at the host for what a Machine needs.

#include <string>
#include <vector>

#include "base/result.h"

namespace imager::qemu {

enum class Firmware { kBios, kUefi };  // SeaBIOS, or OVMF from pflash
enum class Accel { kTcg, kKvm };
/// How the boot image is attached: as a CD (an ISO as burnt), as a plain virtio disk or as a
/// USB stick (an ISO dd'ed to a USB key). Disk and USB get snapshot=on: the file is not changed.
enum class Attach { kCdrom, kDisk, kUsb };
/// Where the guest's first serial port goes.
enum class Console {
  kStdio,    // the terminal, muxed with QEMU's monitor (Ctrl-A c), no window
  kWindow,   // QEMU's window (the screen; serial and monitor on its other tabs)
  kCapture,  // QEMU's stdout, read by imager (--expect); no window, no monitor, no input
};

/// OVMF's read-only code and the template of its variable store (copied per boot).
struct UefiFiles {
  std::string code;
  std::string vars;
};

struct Machine {
  std::string image;
  Attach attach = Attach::kCdrom;
  std::vector<std::string> disks;  // extra virtio disks, writable (raw, or qcow2 by suffix)
  Firmware firmware = Firmware::kBios;
  std::string uefi_code;  // kUefi: OVMF code (read-only) and this boot's private copy of the
  std::string uefi_vars;  // variable store (writable)
  // kUefi on q35: the firmware's variables and its flash behind SMM, so that the OS cannot
  // change them; with a Secure Boot OVMF (FindUefi(..., true)) Secure Boot is then enforced.
  bool secure_boot = false;
  Accel accel = Accel::kTcg;
  std::string machine_type = "q35";
  int memory_mib = 2048;
  int cpus = 2;
  bool network = true;  // user-mode (slirp) virtio-net
  bool tablet = false;  // a USB tablet: an absolute pointer (QMP input-send-event, no grab)
  Console console = Console::kStdio;
  std::string console_log;  // kStdio/kWindow: QEMU copies the serial console into this file
  std::string qmp_socket;   // non-empty: a QMP server on this unix socket (screendump, quit)
};

inline constexpr const char* kQemuBinary = "qemu-system-x86_64";

/// The full argv, argv[0] = kQemuBinary. Expects a validated Machine (see Validate).
std::vector<std::string> QemuArgv(const Machine& m);

/// Checks the numbers and the combination of options; the error names the offending one.
Status Validate(const Machine& m);

/// "qcow2" for *.qcow2, else "raw".
std::string DiskFormat(const std::string& path);

/// OVMF in `dir`: the 4 MiB build (OVMF_CODE_4M.fd + OVMF_VARS_4M.fd) if present, else the 2 MiB
/// one; not found is an error naming the files and the Debian package (ovmf). With
/// `secure_boot`: the build that needs SMM (OVMF_CODE*.secboot.fd) and variables with
/// Microsoft's keys enrolled and Secure Boot on (OVMF_VARS*.ms.fd).
Result<UefiFiles> FindUefi(const std::string& dir = "/usr/share/OVMF", bool secure_boot = false);

/// KVM is usable when `dev` opens read-write; the error names it and says how to get access.
Status CheckKvm(const std::string& dev = "/dev/kvm");

}  // namespace imager::qemu
