// SPDX-License-Identifier: GPL-3.0-or-later
#include "qemu/qemu.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/strings.h"

namespace imager::qemu {
namespace {

// QEMU's option syntax doubles a comma inside a value.
std::string Escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

void Add(std::vector<std::string>* argv, std::initializer_list<std::string> words) {
  argv->insert(argv->end(), words);
}

void AddImage(const Machine& m, std::vector<std::string>* a) {
  const std::string file = "file=" + Escape(m.image);
  switch (m.attach) {
    case Attach::kCdrom:
      // ide-cd lands on the PIIX IDE bus (pc) or the ICH9 AHCI controller (q35).
      Add(a, {"-drive", file + ",if=none,id=image,media=cdrom,readonly=on", "-device",
              "ide-cd,drive=image,bootindex=0"});
      break;
    case Attach::kDisk:
      Add(a, {"-drive", file + ",if=none,id=image,format=" + DiskFormat(m.image) + ",snapshot=on",
              "-device", "virtio-blk-pci,drive=image,bootindex=0"});
      break;
    case Attach::kUsb:
      Add(a, {"-drive", file + ",if=none,id=image,format=" + DiskFormat(m.image) + ",snapshot=on",
              "-device", "qemu-xhci,id=xhci", "-device",
              "usb-storage,bus=xhci.0,drive=image,removable=on,bootindex=0"});
      break;
  }
}

void AddConsole(const Machine& m, std::vector<std::string>* a) {
  const std::string log = m.console_log.empty() ? "" : ",logfile=" + Escape(m.console_log);
  switch (m.console) {
    case Console::kStdio:
      // As -nographic: the monitor first, the serial port last (it gets the focus); signal=off
      // hands Ctrl-C to the guest, Ctrl-A x quits.
      Add(a, {"-display", "none", "-chardev", "stdio,id=console,mux=on,signal=off" + log, "-mon",
              "chardev=console,mode=readline", "-serial", "chardev:console"});
      break;
    case Console::kWindow:
      Add(a, {"-chardev", "vc,id=console" + log, "-serial", "chardev:console"});
      break;
    case Console::kCapture:
      Add(a, {"-display", "none", "-monitor", "none", "-chardev", "stdio,id=console,signal=off",
              "-serial", "chardev:console"});
      break;
  }
}

}  // namespace

std::string DiskFormat(const std::string& path) {
  const std::string suffix = ".qcow2";
  bool qcow2 = path.size() > suffix.size() &&
               path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  return qcow2 ? "qcow2" : "raw";
}

Status Validate(const Machine& m) {
  if (m.image.empty()) return Error{"no image to boot"};
  if (m.memory_mib < 16 || m.memory_mib > 1024 * 1024)
    return Error{"--memory " + std::to_string(m.memory_mib) + ": expected 16..1048576 MiB"};
  if (m.cpus < 1 || m.cpus > 255)
    return Error{"--cpus " + std::to_string(m.cpus) + ": expected 1..255"};
  if (m.machine_type != "q35" && m.machine_type != "pc")
    return Error{"--machine " + m.machine_type + ": expected q35 or pc"};
  if (m.firmware == Firmware::kUefi && (m.uefi_code.empty() || m.uefi_vars.empty()))
    return Error{"UEFI boot without OVMF code and variable files"};
  if (m.secure_boot && m.firmware != Firmware::kUefi)
    return Error{"Secure Boot needs UEFI firmware"};
  if (m.secure_boot && m.machine_type != "q35")
    return Error{"--machine " + m.machine_type + ": Secure Boot needs q35 (OVMF's SMM)"};
  if (m.console == Console::kCapture && !m.console_log.empty())
    return Error{"a captured console is logged by imager, not by QEMU"};
  return {};
}

std::vector<std::string> QemuArgv(const Machine& m) {
  // Secure Boot: the variable store is writable only in SMM, where OVMF enforces the policy.
  std::vector<std::string> a = {kQemuBinary, "-name", "imager-boot", "-machine",
                                m.machine_type + (m.secure_boot ? ",smm=on" : "")};
  if (m.secure_boot) Add(&a, {"-global", "driver=cfi.pflash01,property=secure,value=on"});
  if (m.accel == Accel::kKvm)
    Add(&a, {"-accel", "kvm", "-cpu", "host"});
  else
    Add(&a, {"-accel", m.cpus > 1 ? "tcg,thread=multi" : "tcg"});
  Add(&a, {"-m", std::to_string(m.memory_mib), "-smp", std::to_string(m.cpus)});
  if (m.firmware == Firmware::kUefi)
    Add(&a, {"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + Escape(m.uefi_code),
             "-drive", "if=pflash,format=raw,unit=1,file=" + Escape(m.uefi_vars)});
  AddImage(m, &a);
  for (size_t i = 0; i < m.disks.size(); ++i) {
    std::string id = "disk" + std::to_string(i);
    Add(&a,
        {"-drive",
         "file=" + Escape(m.disks[i]) + ",if=none,id=" + id + ",format=" + DiskFormat(m.disks[i]),
         "-device", "virtio-blk-pci,drive=" + id});
  }
  Add(&a, {"-device", "virtio-rng-pci"});
  if (m.network)
    Add(&a, {"-nic", "user,model=virtio-net-pci"});
  else
    Add(&a, {"-nic", "none"});
  // Its own controller: --as-usb's xhci is there only with a USB image.
  if (m.tablet) Add(&a, {"-device", "qemu-xhci,id=input", "-device", "usb-tablet,bus=input.0"});
  AddConsole(m, &a);
  if (!m.qmp_socket.empty())
    Add(&a, {"-qmp", "unix:" + Escape(m.qmp_socket) + ",server=on,wait=off"});
  Add(&a, {"-no-reboot"});
  return a;
}

Result<UefiFiles> FindUefi(const std::string& dir, bool secure_boot) {
  const std::string code = secure_boot ? ".secboot.fd" : ".fd";
  const std::string vars = secure_boot ? ".ms.fd" : ".fd";
  for (const char* size : {"_4M", ""}) {
    UefiFiles f{dir + "/OVMF_CODE" + size + code, dir + "/OVMF_VARS" + size + vars};
    if (access(f.code.c_str(), R_OK) == 0 && access(f.vars.c_str(), R_OK) == 0) return f;
  }
  return Error{std::string("UEFI firmware") + (secure_boot ? " for Secure Boot" : "") +
               " not found: neither " + dir + "/OVMF_CODE_4M" + code + " nor " + dir +
               "/OVMF_CODE" + code + " (with its OVMF_VARS*" + vars +
               " file) is readable; install the Debian package ovmf (apt-get install ovmf)"};
}

Status CheckKvm(const std::string& dev) {
  UniqueFd fd(open(dev.c_str(), O_RDWR | O_CLOEXEC));
  if (fd.valid()) return {};
  int e = errno;
  std::string hint = e == ENOENT ? " (no KVM on this host: is it a VM without nested "
                                   "virtualization, or is the kvm module not loaded?)"
                                 : " (join the group that owns it, usually 'kvm')";
  return Error{"--kvm: cannot open " + dev + ": " + strerror(e) + hint +
               "; without --kvm the boot uses TCG (slower, works everywhere)"};
}

}  // namespace imager::qemu
