// SPDX-License-Identifier: GPL-3.0-or-later
#include "qemu/qemu.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>

#include "base/fd.h"
#include "base/fs.h"
#include "base/strings.h"

namespace imager::qemu {
namespace {

// The value that follows `flag` the first time, or "(absent)".
std::string After(const std::vector<std::string>& argv, const std::string& flag) {
  auto it = std::find(argv.begin(), argv.end(), flag);
  return it == argv.end() || it + 1 == argv.end() ? "(absent)" : *(it + 1);
}

// Every value given to a repeated flag, in order.
std::vector<std::string> All(const std::vector<std::string>& argv, const std::string& flag) {
  std::vector<std::string> out;
  for (size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == flag) out.push_back(argv[i + 1]);
  return out;
}

bool Has(const std::vector<std::string>& argv, const std::string& word) {
  return std::find(argv.begin(), argv.end(), word) != argv.end();
}

Machine Iso() {
  Machine m;
  m.image = "/images/live.iso";
  m.qmp_socket = "/run/user/1000/imager-boot.x/qmp.sock";
  return m;
}

TEST(QemuArgvTest, BiosCdromDefaults) {
  auto a = QemuArgv(Iso());
  EXPECT_EQ(a[0], "qemu-system-x86_64");
  EXPECT_EQ(After(a, "-machine"), "q35");
  EXPECT_EQ(After(a, "-accel"), "tcg,thread=multi");
  EXPECT_EQ(After(a, "-m"), "2048");
  EXPECT_EQ(After(a, "-smp"), "2");
  EXPECT_EQ(
      All(a, "-drive"),
      std::vector<std::string>{"file=/images/live.iso,if=none,id=image,media=cdrom,readonly=on"});
  EXPECT_EQ(All(a, "-device"),
            (std::vector<std::string>{"ide-cd,drive=image,bootindex=0", "virtio-rng-pci"}));
  EXPECT_EQ(After(a, "-nic"), "user,model=virtio-net-pci");
  EXPECT_EQ(After(a, "-qmp"), "unix:/run/user/1000/imager-boot.x/qmp.sock,server=on,wait=off");
  EXPECT_TRUE(Has(a, "-no-reboot"));
  EXPECT_FALSE(Has(a, "-bios"));  // SeaBIOS is QEMU's default
  for (const auto& w : a) EXPECT_EQ(w.find("pflash"), std::string::npos) << w;
  EXPECT_TRUE(Validate(Iso()));
}

TEST(QemuArgvTest, TabletOnItsOwnUsbController) {
  Machine m = Iso();
  m.tablet = true;
  auto devices = All(QemuArgv(m), "-device");
  EXPECT_EQ(std::count(devices.begin(), devices.end(), "qemu-xhci,id=input"), 1);
  EXPECT_EQ(std::count(devices.begin(), devices.end(), "usb-tablet,bus=input.0"), 1);
  m.attach = Attach::kUsb;
  devices = All(QemuArgv(m), "-device");
  EXPECT_EQ(std::count(devices.begin(), devices.end(), "usb-tablet,bus=input.0"), 1);
  EXPECT_EQ(std::count(devices.begin(), devices.end(), "qemu-xhci,id=xhci"), 1);
}

TEST(QemuArgvTest, UefiUsesPflashCodeReadOnlyAndPrivateVars) {
  Machine m = Iso();
  m.firmware = Firmware::kUefi;
  m.uefi_code = "/usr/share/OVMF/OVMF_CODE_4M.fd";
  m.uefi_vars = "/tmp/b/OVMF_VARS.fd";
  auto drives = All(QemuArgv(m), "-drive");
  ASSERT_EQ(drives.size(), 3u);
  EXPECT_EQ(drives[0],
            "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd");
  EXPECT_EQ(drives[1], "if=pflash,format=raw,unit=1,file=/tmp/b/OVMF_VARS.fd");
  m.uefi_vars.clear();
  EXPECT_FALSE(Validate(m));
}

TEST(QemuArgvTest, SecureBootPutsTheVariablesBehindSmm) {
  Machine m = Iso();
  m.firmware = Firmware::kUefi;
  m.uefi_code = "/usr/share/OVMF/OVMF_CODE_4M.secboot.fd";
  m.uefi_vars = "/tmp/b/OVMF_VARS.fd";
  EXPECT_EQ(After(QemuArgv(m), "-machine"), "q35");
  EXPECT_FALSE(Has(QemuArgv(m), "-global"));
  m.secure_boot = true;
  auto a = QemuArgv(m);
  EXPECT_EQ(After(a, "-machine"), "q35,smm=on");
  EXPECT_EQ(After(a, "-global"), "driver=cfi.pflash01,property=secure,value=on");
  EXPECT_TRUE(Validate(m));
  m.machine_type = "pc";
  EXPECT_NE(Validate(m).error().find("q35"), std::string::npos);
  m.machine_type = "q35";
  m.firmware = Firmware::kBios;
  EXPECT_NE(Validate(m).error().find("UEFI"), std::string::npos);
}

TEST(QemuArgvTest, ImageAsDiskOrUsbAndExtraDisks) {
  Machine m = Iso();
  m.attach = Attach::kDisk;
  m.disks = {"/d/target.qcow2", "/d/data,1.img"};
  auto a = QemuArgv(m);
  EXPECT_EQ(All(a, "-drive"), (std::vector<std::string>{
                                  "file=/images/live.iso,if=none,id=image,format=raw,snapshot=on",
                                  "file=/d/target.qcow2,if=none,id=disk0,format=qcow2",
                                  "file=/d/data,,1.img,if=none,id=disk1,format=raw"}));
  EXPECT_EQ(All(a, "-device"),
            (std::vector<std::string>{"virtio-blk-pci,drive=image,bootindex=0",
                                      "virtio-blk-pci,drive=disk0", "virtio-blk-pci,drive=disk1",
                                      "virtio-rng-pci"}));
  m.attach = Attach::kUsb;
  m.disks.clear();
  auto u = All(QemuArgv(m), "-device");
  EXPECT_EQ(u,
            (std::vector<std::string>{"qemu-xhci,id=xhci",
                                      "usb-storage,bus=xhci.0,drive=image,removable=on,bootindex=0",
                                      "virtio-rng-pci"}));
}

TEST(QemuArgvTest, KvmAndSizes) {
  Machine m = Iso();
  m.accel = Accel::kKvm;
  m.memory_mib = 4096;
  m.cpus = 4;
  auto a = QemuArgv(m);
  EXPECT_EQ(After(a, "-accel"), "kvm");
  EXPECT_EQ(After(a, "-cpu"), "host");
  EXPECT_EQ(After(a, "-m"), "4096");
  EXPECT_EQ(After(a, "-smp"), "4");
  m.accel = Accel::kTcg;
  m.cpus = 1;
  EXPECT_EQ(After(QemuArgv(m), "-accel"), "tcg");
  EXPECT_EQ(After(QemuArgv(m), "-cpu"), "(absent)");
  m.cpus = 0;
  EXPECT_NE(Validate(m).error().find("--cpus 0"), std::string::npos);
  m.cpus = 2;
  m.memory_mib = 1;
  EXPECT_NE(Validate(m).error().find("--memory 1"), std::string::npos);
  m.memory_mib = 512;
  m.machine_type = "isapc";
  EXPECT_FALSE(Validate(m));
}

TEST(QemuArgvTest, Consoles) {
  Machine m = Iso();
  m.console = Console::kCapture;
  auto c = QemuArgv(m);
  EXPECT_EQ(After(c, "-display"), "none");
  EXPECT_EQ(After(c, "-monitor"), "none");
  EXPECT_EQ(After(c, "-chardev"), "stdio,id=console,signal=off");
  EXPECT_EQ(After(c, "-serial"), "chardev:console");
  m.console_log = "/x/boot.log";
  EXPECT_FALSE(Validate(m));  // imager writes the log itself when it captures

  m.console = Console::kStdio;
  auto s = QemuArgv(m);
  EXPECT_EQ(After(s, "-chardev"), "stdio,id=console,mux=on,signal=off,logfile=/x/boot.log");
  EXPECT_EQ(After(s, "-mon"), "chardev=console,mode=readline");
  // The serial port comes after the monitor so that it has the focus.
  EXPECT_LT(std::find(s.begin(), s.end(), "-mon"), std::find(s.begin(), s.end(), "-serial"));
  EXPECT_EQ(After(s, "-display"), "none");

  m.console = Console::kWindow;
  auto w = QemuArgv(m);
  EXPECT_EQ(After(w, "-display"), "(absent)");
  EXPECT_EQ(After(w, "-chardev"), "vc,id=console,logfile=/x/boot.log");
  m.network = false;
  EXPECT_EQ(After(QemuArgv(m), "-nic"), "none");
}

TEST(QemuHostTest, FindUefiPrefers4MAndNamesThePackage) {
  auto d = MakeTempDir("/tmp", "imager-ovmf-test-");
  ASSERT_TRUE(d) << d.error();
  auto missing = FindUefi(*d);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("package ovmf"), std::string::npos) << missing.error();
  ASSERT_TRUE(WriteFile(*d + "/OVMF_CODE.fd", "c"));
  ASSERT_TRUE(WriteFile(*d + "/OVMF_VARS.fd", "v"));
  auto two = FindUefi(*d);
  ASSERT_TRUE(two) << two.error();
  EXPECT_EQ(two->code, *d + "/OVMF_CODE.fd");
  ASSERT_TRUE(WriteFile(*d + "/OVMF_CODE_4M.fd", "c"));
  EXPECT_EQ(FindUefi(*d)->code, *d + "/OVMF_CODE.fd");  // 4M code without 4M vars: not a pair
  ASSERT_TRUE(WriteFile(*d + "/OVMF_VARS_4M.fd", "v"));
  EXPECT_EQ(FindUefi(*d)->code, *d + "/OVMF_CODE_4M.fd");
  EXPECT_EQ(FindUefi(*d)->vars, *d + "/OVMF_VARS_4M.fd");
  (void)RemoveTree(*d);
}

TEST(QemuHostTest, FindUefiForSecureBootWantsSecbootCodeAndMicrosoftKeys) {
  auto d = MakeTempDir("/tmp", "imager-ovmf-test-");
  ASSERT_TRUE(d) << d.error();
  ASSERT_TRUE(WriteFile(*d + "/OVMF_CODE_4M.fd", "c"));
  ASSERT_TRUE(WriteFile(*d + "/OVMF_VARS_4M.fd", "v"));
  auto missing = FindUefi(*d, true);  // the plain build does not enforce anything
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("OVMF_CODE_4M.secboot.fd"), std::string::npos) << missing.error();
  ASSERT_TRUE(WriteFile(*d + "/OVMF_CODE_4M.secboot.fd", "c"));
  ASSERT_TRUE(WriteFile(*d + "/OVMF_VARS_4M.ms.fd", "v"));
  auto sb = FindUefi(*d, true);
  ASSERT_TRUE(sb) << sb.error();
  EXPECT_EQ(sb->code, *d + "/OVMF_CODE_4M.secboot.fd");
  EXPECT_EQ(sb->vars, *d + "/OVMF_VARS_4M.ms.fd");
  EXPECT_EQ(FindUefi(*d)->code, *d + "/OVMF_CODE_4M.fd");
  (void)RemoveTree(*d);
}

TEST(QemuHostTest, CheckKvmNamesTheDevice) {
  auto st = CheckKvm("/nonexistent/kvm");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().find("/nonexistent/kvm"), std::string::npos) << st.error();
  EXPECT_NE(st.error().find("No such file"), std::string::npos) << st.error();
  EXPECT_TRUE(CheckKvm("/dev/null"));  // opens read-write: usable as far as this check goes
}

TEST(QemuArgvTest, DiskFormatBySuffix) {
  EXPECT_EQ(DiskFormat("a.qcow2"), "qcow2");
  EXPECT_EQ(DiskFormat("a.img"), "raw");
  EXPECT_EQ(DiskFormat(".qcow2"), "raw");
}

}  // namespace
}  // namespace imager::qemu
