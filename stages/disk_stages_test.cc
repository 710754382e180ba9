// SPDX-License-Identifier: GPL-3.0-or-later
#include "stages/disk_stages.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace imager::stages {
namespace {

profiles::Profile Disky() {
  profiles::Profile p;
  p.name = "box";
  p.description = "A box";
  p.boot.cmdline = "quiet";
  p.boot.serial = "ttyS1,9600";
  return p;
}

TEST(DiskStagesTest, IdsAreFixedPerIdentityAndDistinct) {
  DiskIds a = DiskIds::From("box-0123456789abcdef"), b = DiskIds::From("box-0123456789abcdef");
  DiskIds c = DiskIds::From("box-fedcba9876543210");
  EXPECT_EQ(a.root_uuid, b.root_uuid);
  EXPECT_EQ(a.disk_guid, b.disk_guid);
  EXPECT_NE(a.root_uuid, c.root_uuid);
  EXPECT_NE(a.disk_guid, c.disk_guid);
  // Every id of one disk differs from the others.
  std::vector<std::string> all{a.root_uuid, a.hash_seed, a.disk_guid,
                               a.bios_guid, a.esp_guid,  a.root_guid};
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end());
  // The root's UUID as /dev/disk/by-uuid spells it (lower case): root=UUID= must match it.
  for (char ch : a.root_uuid) EXPECT_FALSE(ch >= 'A' && ch <= 'Z') << a.root_uuid;
  EXPECT_EQ(a.root_uuid.size(), 36u);
}

TEST(DiskStagesTest, FstabMountsRootAndEspByUuid) {
  DiskIds ids = DiskIds::From("box-1");
  std::string f = DiskFstab(Disky(), ids, "1a2b3c4d");
  EXPECT_NE(f.find("UUID=" + ids.root_uuid + " / ext4 defaults,errors=remount-ro,x-systemd.growfs"),
            std::string::npos)
      << f;
  EXPECT_NE(f.find("UUID=1A2B-3C4D /boot/efi vfat"), std::string::npos) << f;
  EXPECT_EQ(DiskFstab(Disky(), ids, "").find("/boot/efi"), std::string::npos);
}

TEST(DiskStagesTest, RepartGrowsTheExistingRootPartitionOnly) {
  std::string r = DiskRepart();
  EXPECT_NE(r.find("[Partition]\nType=root\n"), std::string::npos) << r;
  // No size, no format, no copy: the partition is matched by type and only grows.
  for (const char* key : {"SizeMaxBytes", "Format", "CopyFiles", "CopyBlocks"})
    EXPECT_EQ(r.find(key), std::string::npos) << key;
  EXPECT_NE(DiskFstab(Disky(), DiskIds::From("x"), "").find("x-systemd.growfs"), std::string::npos);
}

TEST(DiskStagesTest, GrubMenusFindTheRootByUuidAndBootItsKernelLinks) {
  DiskIds ids = DiskIds::From("box-1");
  std::string c = DiskGrubConfig(Disky(), ids);
  EXPECT_NE(c.find("search --no-floppy --fs-uuid --set=root " + ids.root_uuid), std::string::npos);
  EXPECT_NE(c.find("serial --unit=1 --speed=9600"), std::string::npos) << c;
  EXPECT_NE(c.find("menuentry \"A box\""), std::string::npos) << c;
  EXPECT_NE(c.find("linux /vmlinuz root=UUID=" + ids.root_uuid +
                   " ro quiet console=tty0 console=ttyS1,9600\n"),
            std::string::npos)
      << c;
  EXPECT_NE(c.find("initrd /initrd.img"), std::string::npos) << c;
  std::string esp = DiskEspGrubConfig(ids);
  EXPECT_NE(esp.find("--set=root " + ids.root_uuid), std::string::npos) << esp;
  EXPECT_NE(esp.find("configfile $prefix/grub.cfg"), std::string::npos) << esp;
}

}  // namespace
}  // namespace imager::stages
