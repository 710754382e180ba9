// SPDX-License-Identifier: GPL-3.0-or-later
#include "booter/probe.h"

#include <gtest/gtest.h>

#include "booter/fake_os.h"

namespace imager::booter {
namespace {

class ProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.id = "build-1234";
    cfg_.timeout_s = 5;
    cfg_.poll_ms = 500;
  }
  // A medium that is ours: the image and the right identity.
  FakeDevice Good(const std::string& name, unsigned classes) {
    auto d = FakeOs::Dev(name, classes);
    d.fstype = "iso9660";
    d.files["/live/filesystem.squashfs"] = "sqsh";
    d.files["/.imager-id"] = "build-1234\n";
    return d;
  }
  const Attempt* Find(const ProbeReport& r, const std::string& name) {
    for (const auto& a : r.attempts)
      if (a.device.name == name) return &a;
    return nullptr;
  }
  FakeOs os_;
  Config cfg_;
};

TEST_F(ProbeTest, AcceptsMediumWithImageAndIdentity) {
  os_.devices.push_back(Good("sr0", kCdrom));
  auto res = Probe(os_, cfg_);
  ASSERT_NE(res.medium, nullptr);
  EXPECT_EQ(res.device.name, "sr0");
  EXPECT_EQ(res.report.rounds, 1u);
}

TEST_F(ProbeTest, RespectsConfiguredOrder) {
  // Both media are ours; the order decides which one wins and which devices are looked at.
  os_.devices.push_back(Good("sda", kDisk));
  os_.devices.push_back(Good("sr0", kCdrom));
  os_.devices.push_back(Good("vda", kVirtio | kDisk));
  cfg_.probe = *ParseProbeList("virtio,cdrom,disk");
  auto res = Probe(os_, cfg_);
  ASSERT_NE(res.medium, nullptr);
  EXPECT_EQ(res.device.name, "vda");
  EXPECT_EQ(os_.opened, std::vector<std::string>{"vda"});

  FakeOs os2;
  os2.devices = os_.devices;
  os2.devices[2].files["/.imager-id"] = "other";
  cfg_.probe = *ParseProbeList("virtio,disk,cdrom");
  res = Probe(os2, cfg_);
  ASSERT_NE(res.medium, nullptr);
  EXPECT_EQ(res.device.name, "sda");
  EXPECT_EQ(os2.opened, (std::vector<std::string>{"vda", "sda"}));
}

TEST_F(ProbeTest, PathSpecSelectsDevices) {
  os_.devices.push_back(Good("sr0", kCdrom));
  os_.devices.push_back(Good("vdb", kVirtio | kDisk));
  cfg_.probe = *ParseProbeList("/dev/vd*");
  auto res = Probe(os_, cfg_);
  ASSERT_NE(res.medium, nullptr);
  EXPECT_EQ(res.device.name, "vdb");
  EXPECT_EQ(os_.opened, std::vector<std::string>{"vdb"});
}

TEST_F(ProbeTest, WrongIdentityRejectedWithBothValues) {
  auto d = Good("sr0", kCdrom);
  d.files["/.imager-id"] = "build-9999\n";
  os_.devices.push_back(d);
  auto res = Probe(os_, cfg_);
  EXPECT_EQ(res.medium, nullptr);
  const Attempt* a = Find(res.report, "sr0");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->verdict, Verdict::kWrongIdentity);
  EXPECT_NE(a->detail.find("\"build-9999\""), std::string::npos) << a->detail;
  EXPECT_NE(a->detail.find("\"build-1234\""), std::string::npos) << a->detail;
}

TEST_F(ProbeTest, MissingIdentityFileRejected) {
  auto d = Good("sr0", kCdrom);
  d.files.erase("/.imager-id");
  os_.devices.push_back(d);
  auto res = Probe(os_, cfg_);
  EXPECT_EQ(res.medium, nullptr);
  EXPECT_EQ(Find(res.report, "sr0")->verdict, Verdict::kNoIdentity);
}

TEST_F(ProbeTest, MissingImageRejected) {
  auto d = Good("sr0", kCdrom);
  d.files.erase("/live/filesystem.squashfs");
  os_.devices.push_back(d);
  cfg_.images = {"/live/filesystem.squashfs", "/live/extra.squashfs"};
  auto res = Probe(os_, cfg_);
  EXPECT_EQ(res.medium, nullptr);
  const Attempt* a = Find(res.report, "sr0");
  EXPECT_EQ(a->verdict, Verdict::kNoImage);
  EXPECT_EQ(a->detail, "/live/filesystem.squashfs, /live/extra.squashfs not found");
}

TEST_F(ProbeTest, TimeoutExpiresWithFullReport) {
  auto wrong = Good("sr0", kCdrom);
  wrong.files["/.imager-id"] = "nope";
  auto empty = FakeOs::Dev("sr1", kCdrom);
  empty.no_medium = true;
  auto blank = FakeOs::Dev("sda", kDisk);
  os_.devices = {wrong, empty, blank};
  cfg_.probe = *ParseProbeList("usb,cdrom,disk");
  auto res = Probe(os_, cfg_);
  EXPECT_EQ(res.medium, nullptr);
  EXPECT_GE(res.report.elapsed_ms, 5000u);
  EXPECT_EQ(res.report.rounds, 11u);  // t=0, 0.5 … 5.0 s
  EXPECT_EQ(res.report.empty_specs, std::vector<std::string>{"usb"});
  auto text = res.report.Format();
  EXPECT_NE(text.find("/dev/sr0 [cdrom] via cdrom: iso9660: wrong identity"), std::string::npos)
      << text;
  EXPECT_NE(text.find("/dev/sr1 [cdrom] via cdrom: no medium"), std::string::npos) << text;
  EXPECT_NE(text.find("/dev/sda [disk] via disk: no filesystem"), std::string::npos) << text;
  EXPECT_NE(text.find("no device matched: usb"), std::string::npos) << text;
  EXPECT_NE(text.find("3 device(s) in 11 round(s) over 5.0 s"), std::string::npos) << text;
}

TEST_F(ProbeTest, LateDeviceFound) {
  auto usb = Good("sdb", kUsb | kDisk | kRemovable);
  usb.appears_after = 4;
  os_.devices = {usb};
  cfg_.probe = *ParseProbeList("cdrom,usb");
  auto res = Probe(os_, cfg_);
  ASSERT_NE(res.medium, nullptr);
  EXPECT_EQ(res.device.name, "sdb");
  EXPECT_EQ(res.report.rounds, 5u);
  EXPECT_EQ(res.report.elapsed_ms, 2000u);
}

TEST_F(ProbeTest, LateDeviceAfterTimeoutNotFound) {
  auto usb = Good("sdb", kUsb);
  usb.appears_after = 100;
  os_.devices = {usb};
  auto res = Probe(os_, cfg_);
  EXPECT_EQ(res.medium, nullptr);
  EXPECT_TRUE(res.report.attempts.empty());
}

TEST_F(ProbeTest, DeviceInTwoClassesExaminedOncePerRound) {
  os_.devices.push_back(FakeOs::Dev("sdb", kUsb | kDisk));
  cfg_.probe = *ParseProbeList("usb,disk");
  cfg_.timeout_s = 0;
  auto res = Probe(os_, cfg_);
  EXPECT_EQ(res.report.rounds, 1u);
  EXPECT_EQ(os_.opened, std::vector<std::string>{"sdb"});
  EXPECT_EQ(res.report.attempts.at(0).spec, "usb");
}

}  // namespace
}  // namespace imager::booter
