// SPDX-License-Identifier: GPL-3.0-or-later
#include "booter/config.h"

#include <gtest/gtest.h>

#include "booter/os.h"

namespace imager::booter {
namespace {

TEST(ConfigTest, ParsesEveryKey) {
  auto cfg = ParseConfig(
      "# generated\n"
      "probe = cdrom, usb, /dev/vd*\n"
      "timeout=12\n"
      "poll_ms=100\n"
      "image=/live/base.squashfs\n"
      "image=/live/top.squashfs\n"
      "id=abc-123\n"
      "id_file=/.stamp\n"
      "toram=yes\n"
      "module=kernel/drivers/cdrom/cdrom.ko\n"
      "module=kernel/fs/isofs/isofs.ko.xz\n"
      "init=/lib/systemd/systemd\n"
      "on_failure=poweroff\n"
      "\n");
  ASSERT_TRUE(cfg) << cfg.error();
  ASSERT_EQ(cfg->probe.size(), 3u);
  EXPECT_EQ(cfg->probe[0].cls, kCdrom);
  EXPECT_EQ(cfg->probe[1].cls, kUsb);
  EXPECT_EQ(cfg->probe[2].pattern, "/dev/vd*");
  EXPECT_EQ(cfg->timeout_s, 12u);
  EXPECT_EQ(cfg->poll_ms, 100u);
  EXPECT_EQ(cfg->images, (std::vector<std::string>{"/live/base.squashfs", "/live/top.squashfs"}));
  EXPECT_EQ(cfg->id, "abc-123");
  EXPECT_EQ(cfg->id_file, "/.stamp");
  EXPECT_TRUE(cfg->toram);
  EXPECT_EQ(cfg->modules, (std::vector<std::string>{"kernel/drivers/cdrom/cdrom.ko",
                                                    "kernel/fs/isofs/isofs.ko.xz"}));
  EXPECT_EQ(cfg->init, "/lib/systemd/systemd");
  EXPECT_EQ(cfg->on_failure, OnFailure::kPowerOff);
  EXPECT_TRUE(CheckConfig(*cfg).empty());
}

TEST(ConfigTest, DefaultsWithoutFile) {
  auto cfg = ParseConfig("");
  ASSERT_TRUE(cfg);
  EXPECT_TRUE(cfg->probe.empty());
  EXPECT_EQ(cfg->images, std::vector<std::string>{"/live/filesystem.squashfs"});
  EXPECT_EQ(cfg->init, "/sbin/init");
  EXPECT_EQ(cfg->on_failure, OnFailure::kHalt);
  ASSERT_EQ(CheckConfig(*cfg).size(), 1u);  // no identity
  EXPECT_EQ(DefaultProbeOrder().size(), 5u);
}

TEST(ConfigTest, ReportsEveryBadLine) {
  auto cfg = ParseConfig("probe=cdrom,floppy\ntimeout=soon\ntoram\nimg=/x\nimage=rel\n");
  ASSERT_FALSE(cfg);
  const auto& e = cfg.error();
  EXPECT_NE(e.find("1: probe: 'floppy' is neither a device class"), std::string::npos) << e;
  EXPECT_NE(e.find("2: timeout: not a number of seconds: soon"), std::string::npos) << e;
  EXPECT_NE(e.find("3: expected key=value, got 'toram'"), std::string::npos) << e;
  EXPECT_NE(e.find("4: unknown key 'img' (did you mean 'image'?)"), std::string::npos) << e;
  EXPECT_NE(e.find("5: image: not an absolute path: rel"), std::string::npos) << e;
}

TEST(ConfigTest, CmdlineOverridesFile) {
  auto cfg = ParseConfig("probe=cdrom\ntimeout=30\nid=file-id\nimage=/live/a.squashfs\n");
  ASSERT_TRUE(cfg);
  auto warnings = ApplyCmdline(
      "BOOT_IMAGE=/vmlinuz quiet imager.probe=usb,/dev/sr1 imager.timeout=5 imager.toram "
      "imager.id=\"cmd id\" imager.image=/x.sqfs imager.image=/y.sqfs imager.shell "
      "imager.on_failure=reboot console=ttyS0\n",
      &*cfg);
  EXPECT_TRUE(warnings.empty());
  ASSERT_EQ(cfg->probe.size(), 2u);
  EXPECT_EQ(cfg->probe[0].cls, kUsb);
  EXPECT_EQ(cfg->probe[1].pattern, "/dev/sr1");
  EXPECT_EQ(cfg->timeout_s, 5u);
  EXPECT_TRUE(cfg->toram);
  EXPECT_TRUE(cfg->shell);
  EXPECT_EQ(cfg->id, "cmd id");
  EXPECT_EQ(cfg->images, (std::vector<std::string>{"/x.sqfs", "/y.sqfs"}));
  EXPECT_EQ(cfg->on_failure, OnFailure::kReboot);
  EXPECT_FALSE(cfg->quiet);  // plain "quiet" is the kernel's, not ours
}

TEST(ConfigTest, CmdlineProblemsAreWarningsAndKeepTheFileValue) {
  Config cfg;
  cfg.timeout_s = 30;
  auto warnings =
      ApplyCmdline("imager.timeout=x imager.toarm=1 imager.toram=maybe imager.probe=tape", &cfg);
  ASSERT_EQ(warnings.size(), 4u);
  EXPECT_EQ(warnings[0], "ignoring imager.timeout=x: timeout: not a number of seconds: x");
  EXPECT_NE(warnings[1].find("unknown key"), std::string::npos);
  EXPECT_NE(warnings[2].find("toram: expected yes or no"), std::string::npos);
  EXPECT_NE(warnings[3].find("'tape' is neither"), std::string::npos);
  EXPECT_EQ(cfg.timeout_s, 30u);
  EXPECT_FALSE(cfg.toram);
}

TEST(ConfigTest, SplitCmdlineHonoursQuotes) {
  EXPECT_EQ(SplitCmdline("a  b=\"c d\" \"e f\"\n"),
            (std::vector<std::string>{"a", "b=c d", "e f"}));
  EXPECT_TRUE(SplitCmdline("   ").empty());
}

TEST(ConfigTest, ProbeListRoundTrips) {
  auto specs = ParseProbeList("nvme,removable,/dev/mmcblk0p1");
  ASSERT_TRUE(specs);
  EXPECT_EQ((*specs)[0].ToString(), "nvme");
  EXPECT_EQ((*specs)[1].ToString(), "removable");
  EXPECT_EQ((*specs)[2].ToString(), "/dev/mmcblk0p1");
  EXPECT_FALSE(ParseProbeList(" , "));
}

}  // namespace
}  // namespace imager::booter
