// SPDX-License-Identifier: GPL-3.0-or-later
#include "stages/iso_stages.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace imager::stages {
namespace {

using profiles::Format;

profiles::Profile Live() {
  profiles::Profile p;
  p.name = "debian-live";
  p.description = "Minimal live";
  p.distribution = {profiles::Family::kDebian, "bookworm", "amd64"};
  p.boot.cmdline = "quiet";
  p.boot.probe = {"cdrom", "virtio"};
  p.boot.serial = "ttyS0,115200";
  p.output.volume_id = "DEBIAN_LIVE";
  return p;
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(IsoStagesTest, IdentityDependsOnTheImageAndUuidLooksLikeADate) {
  auto p = Live();
  auto a = MakeBootIdentity(p, std::string(64, 'a'), 1686386231);  // 2023-06-10 08:37:11 UTC
  auto b = MakeBootIdentity(p, std::string(64, 'b'), 1686386231);
  EXPECT_EQ(a.id, "debian-live-aaaaaaaaaaaaaaaa");
  EXPECT_NE(a.id, b.id);
  ASSERT_EQ(a.volume_uuid.size(), 16u);
  EXPECT_EQ(a.volume_uuid.substr(0, 8), "20230610");
  EXPECT_TRUE(std::all_of(a.volume_uuid.begin(), a.volume_uuid.end(), ::isdigit));
  EXPECT_NE(a.volume_uuid, b.volume_uuid);
  EXPECT_EQ(a.GrubUuid().size(), 22u);
  EXPECT_EQ(a.GrubUuid().substr(0, 11), "2023-06-10-");
  // A valid time of day: hours < 24, minutes and seconds < 60.
  EXPECT_LT(std::stoi(a.volume_uuid.substr(8, 2)), 24);
  EXPECT_LT(std::stoi(a.volume_uuid.substr(10, 2)), 60);
  EXPECT_LT(std::stoi(a.volume_uuid.substr(12, 2)), 60);
  EXPECT_EQ(MakeBootIdentity(p, std::string(64, 'a'), 1686386231).volume_uuid, a.volume_uuid);
}

TEST(IsoStagesTest, BooterConfigFollowsTheBootSection) {
  auto p = Live();
  p.boot.timeout = 45;
  p.boot.toram = true;
  auto id = MakeBootIdentity(p, std::string(64, 'c'), 0);
  std::string c = BooterConfig(p, id, LiveMedium(p));
  EXPECT_TRUE(Has(c, "\nid=" + id.id + "\n"));
  EXPECT_TRUE(Has(c, "\nprobe=cdrom,virtio\n"));
  EXPECT_TRUE(Has(c, "\ntimeout=45\n"));
  EXPECT_TRUE(Has(c, "\ntoram=yes\n"));
  EXPECT_TRUE(Has(c, "\nimage=/live/filesystem.squashfs\n"));
  EXPECT_TRUE(Has(c, "\nid_file=/.imager-id\n"));
}

TEST(IsoStagesTest, ModulesFollowTheProbeOrder) {
  auto p = Live();
  auto m = BooterModules(p);
  auto has = [&](const char* name) { return std::find(m.begin(), m.end(), name) != m.end(); };
  for (const char* name :
       {"loop", "squashfs", "overlay", "isofs", "sr_mod", "ata_piix", "virtio_blk", "virtio_pci"})
    EXPECT_TRUE(has(name)) << name;
  EXPECT_FALSE(has("usb_storage"));
  EXPECT_FALSE(has("nvme"));
  p.boot.probe = {"/dev/sdb1"};  // a path: any controller
  m = BooterModules(p);
  EXPECT_TRUE(has("usb_storage") && has("nvme") && has("ahci"));
  EXPECT_EQ(std::count(m.begin(), m.end(), "ata_piix"), 1);
}

TEST(IsoStagesTest, IsolinuxAndGrubHaveTheSameEntries) {
  auto p = Live();
  auto id = MakeBootIdentity(p, std::string(64, 'd'), 1686386231);
  std::string iso = IsolinuxConfig(p), grub = GrubConfig(p, id);
  EXPECT_EQ(iso.rfind("SERIAL 0 115200\n", 0), 0u) << "SERIAL must be the first directive";
  for (const char* cmdline : {"quiet console=tty0 console=ttyS0,115200",
                              "quiet console=tty0 console=ttyS0,115200 imager.toram"}) {
    EXPECT_TRUE(Has(iso, std::string("APPEND ") + cmdline + "\n")) << iso;
    EXPECT_TRUE(Has(grub, std::string("linux /live/vmlinuz ") + cmdline + "\n")) << grub;
  }
  EXPECT_TRUE(Has(iso, "INITRD /live/initrd.img"));
  EXPECT_TRUE(Has(grub, "initrd /live/initrd.img"));
  EXPECT_TRUE(Has(grub, "search --no-floppy --fs-uuid --set=root " + id.GrubUuid()));
  EXPECT_TRUE(Has(grub, "serial --unit=0 --speed=115200"));
  std::string esp = EspGrubConfig(id);
  EXPECT_TRUE(Has(esp, "--fs-uuid --set=root " + id.GrubUuid() + "; then"));
  EXPECT_TRUE(Has(esp, "configfile $prefix/grub.cfg"));
  // Without a serial console neither mentions one.
  p.boot.serial.clear();
  EXPECT_FALSE(Has(IsolinuxConfig(p), "SERIAL"));
  EXPECT_FALSE(Has(GrubConfig(p, id), "serial"));
  EXPECT_FALSE(Has(GrubConfig(p, id), "console="));
}

}  // namespace
}  // namespace imager::stages
