// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/iso_replay.h"

#include <gtest/gtest.h>

namespace imager::formats::iso {
namespace {

// What libisofs reports of a live-build ISO (xorriso -isohybrid-mbr isohdpfx.bin
// -partition_offset 16 ... -e boot/grub/efi.img -isohybrid-gpt-basdat -isohybrid-apm-hfsplus).
const std::vector<std::string> kLiveBuildElTorito = {
    "El Torito catalog  : 70  1",
    "El Torito cat path : /isolinux/boot.cat",
    "El Torito images   :   N  Pltf  B   Emul  Ld_seg  Hdpt  Ldsiz         LBA",
    "El Torito boot img :   1  BIOS  y   none  0x0000  0x00      4        1095",
    "El Torito boot img :   2  UEFI  y   none  0x0000  0x00   4096          71",
    "El Torito img path :   1  /isolinux/isolinux.bin",
    "El Torito img opts :   1  boot-info-table isohybrid-suitable",
    "El Torito img path :   2  /boot/grub/efi.img",
};
const std::vector<std::string> kLiveBuildSystemArea = {
    "System area options: 0x00000102",
    "System area summary: MBR isohybrid cyl-align-on GPT APM",
    "ISO image size/512 : 6144",
    "Partition offset   : 16",
    "MBR heads per cyl  : 64",
    "MBR secs per head  : 32",
    "MBR partition table:   N Status  Type        Start       Blocks",
    "MBR partition      :   1   0x80  0x00           64         6080",
    "MBR partition      :   2   0x00  0xef          284         4096",
    "MBR partition path :   2  /boot/grub/efi.img",
    "GPT                :   N  Info",
    "GPT disk GUID      :      3230323331313144b230303231333230",
    "GPT entry array    :      12  208  overlapping",
    "GPT lba range      :      64  6090  6143",
    "GPT partition name :   1  490053004f00480079006200720069006400",
    "GPT partname local :   1  ISOHybrid",
    "GPT partition GUID :   1  3230323331313144b231303231333230",
    "GPT type GUID      :   1  a2a0d0ebe5b9334487c068b6b72699c7",
    "GPT partition flags:   1  0x1000000000000001",
    "GPT start and size :   1  64  6024",
    "GPT partname local :   2  ISOHybrid1",
    "GPT type GUID      :   2  a2a0d0ebe5b9334487c068b6b72699c7",
    "GPT start and size :   2  284  4096",
    "GPT partition path :   2  /boot/grub/efi.img",
    "APM                :   N  Info",
    "APM block size     :      2048",
    "APM gap fillers    :      0",
    "APM partition name :   1  EFI",
    "APM partition type :   1  Apple_HFS",
    "APM start and size :   1  71  1024",
    "APM partition path :   1  /boot/grub/efi.img",
};

TEST(IsoReplayTest, LiveBuildIsohybridWithGptAndApm) {
  auto r = ParseBootReport(kLiveBuildElTorito, kLiveBuildSystemArea);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->partition_offset, 16u);
  EXPECT_EQ(r->heads_per_cyl, 64);
  EXPECT_EQ(r->secs_per_head, 32);
  EXPECT_EQ(r->apm_block_size, 2048);
  // Headlines and table-wide lines make no partitions.
  EXPECT_EQ(r->mbr.size(), 2u);
  EXPECT_EQ(r->gpt.size(), 2u);
  EXPECT_EQ(r->gpt.at(1).name, "ISOHybrid");
  ASSERT_EQ(r->apm.size(), 1u);
  EXPECT_EQ(r->apm.at(1).name, "EFI");
  EXPECT_EQ(r->apm.at(1).apm_type, "Apple_HFS");
  EXPECT_EQ(r->apm.at(1).start, 284u);  // 512-byte blocks
  EXPECT_EQ(r->gpt.at(2).name, "ISOHybrid1");
  auto plan = PlanReplay(*r);
  ASSERT_TRUE(plan) << plan.error();
  // isohybrid, cylinder aligned, an active partition
  EXPECT_EQ(plan->system_area_options, 1 << 1 | 1 << 8 | 1 << 15);
  EXPECT_EQ(plan->image_paths,
            (std::vector<std::string>{"/isolinux/isolinux.bin", "/boot/grub/efi.img"}));
  // BIOS: boot info table, isohybrid; UEFI: in the GPT as basic data, in the APM.
  EXPECT_EQ(plan->isolinux_options, (std::vector<int>{1 << 0 | 1 << 1, 1 << 2 | 1 << 8}));
  EXPECT_TRUE(plan->appended.empty());
  EXPECT_FALSE(plan->part_like_isohybrid);
}

// archiso: GRUB2's MBR, a partition offset, the ESP appended as a GPT partition, xorriso's
// 300 KiB padding behind it (the gap filler).
TEST(IsoReplayTest, ArchisoGrub2MbrWithAppendedEsp) {
  auto r = ParseBootReport(
      {"El Torito cat path : /boot.catalog",
       "El Torito boot img :   1  BIOS  y   none  0x0000  0x00      4          71",
       "El Torito boot img :   2  UEFI  y   none  0x0000  0x00   4096          77",
       "El Torito img path :   1  /boot/grub/eltorito.img",
       "El Torito img opts :   1  boot-info-table grub2-boot-info"},
      {"System area summary: MBR protective-msdos-label grub2-mbr cyl-align-off GPT",
       "ISO image size/512 : 5068", "Partition offset   : 16",
       "MBR partition      :   1   0x00  0xee            1         5067",
       "MBR partition      :   2   0x80  0x00            0            1",  // --mbr-force-bootable
       "GPT partname local :   1  ISO9660",
       "GPT type GUID      :   1  a2a0d0ebe5b9334487c068b6b72699c7",
       "GPT start and size :   1  64  244", "GPT partname local :   2  Appended2",
       "GPT type GUID      :   2  28732ac11ff8d211ba4b00a0c93ec93b",
       "GPT start and size :   2  308  4096", "GPT partname local :   3  Gap1",
       "GPT type GUID      :   3  a2a0d0ebe5b9334487c068b6b72699c7",
       "GPT start and size :   3  4404  600"});
  ASSERT_TRUE(r) << r.error();
  auto plan = PlanReplay(*r);
  ASSERT_TRUE(plan) << plan.error();
  EXPECT_EQ(plan->system_area_options, 1 << 0 | 2 << 8 | 1 << 14 | 1 << 15);
  ASSERT_EQ(plan->appended.size(), 1u);
  EXPECT_EQ(plan->appended.at(2).type, 0xef);
  EXPECT_TRUE(plan->appended_as_gpt);
  EXPECT_EQ(plan->tail_blocks, 150u);
  EXPECT_EQ(plan->image_paths[1], "--interval:appended_partition_2:all::");
  EXPECT_EQ(plan->isolinux_options, (std::vector<int>{1 << 0 | 1 << 9, 0}));
}

// grub-mkrescue: GRUB2's MBR, a protective MBR, the UEFI image in the tree also a GPT ESP
// (-efi-boot-part --efi-boot-image); gap fillers around it.
TEST(IsoReplayTest, GrubMkrescueEfiBootPart) {
  auto r = ParseBootReport(
      {"El Torito cat path : /boot.catalog",
       "El Torito boot img :   1  BIOS  y   none  0x0000  0x00      4        1059",
       "El Torito boot img :   2  UEFI  y   none  0x0000  0x00   4096          32",
       "El Torito img path :   1  /boot/grub/i386-pc/eltorito.img",
       "El Torito img opts :   1  boot-info-table grub2-boot-info",
       "El Torito img path :   2  /efi.img"},
      {"System area summary: MBR protective-msdos-label grub2-mbr cyl-align-off GPT",
       "ISO image size/512 : 4916", "MBR partition      :   1   0x00  0xee  1  4915",
       "GPT partname local :   1  Gap0",
       "GPT type GUID      :   1  a2a0d0ebe5b9334487c068b6b72699c7",
       "GPT start and size :   1  64  64", "GPT partname local :   2  EFI boot partition",
       "GPT type GUID      :   2  28732ac11ff8d211ba4b00a0c93ec93b",
       "GPT start and size :   2  128  4096", "GPT partition path :   2  /efi.img",
       "GPT partname local :   3  Gap1",
       "GPT type GUID      :   3  a2a0d0ebe5b9334487c068b6b72699c7",
       "GPT start and size :   3  4224  628"});
  ASSERT_TRUE(r) << r.error();
  auto plan = PlanReplay(*r);
  ASSERT_TRUE(plan) << plan.error();
  EXPECT_TRUE(plan->efi_boot_part);
  EXPECT_TRUE(plan->appended.empty());
  EXPECT_EQ(plan->tail_blocks, 0u);
  // A GPT partition that is none of those is refused, not dropped.
  auto sa = std::vector<std::string>{"System area summary: MBR protective-msdos-label GPT",
                                     "ISO image size/512 : 4916",
                                     "GPT partname local :   2  Linux root",
                                     "GPT type GUID      :   2  af3dc60f838472478e793d69d8477de4",
                                     "GPT start and size :   2  128  4096",
                                     "GPT partition path :   2  /root.img"};
  r = ParseBootReport({}, sa);
  ASSERT_TRUE(r);
  plan = PlanReplay(*r);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error(),
            "GPT partition 2 (\"Linux root\", type af3dc60f838472478e793d69d8477de4) is not one "
            "this writer can replay");
}

TEST(IsoReplayTest, WhatIsNotReplayedIsNamed) {
  auto with = [](std::vector<std::string> sa) {
    auto r = ParseBootReport(kLiveBuildElTorito, sa);
    EXPECT_TRUE(r);
    auto plan = PlanReplay(*r);
    EXPECT_FALSE(plan);
    return plan ? "" : plan.error();
  };
  // An HFS+ filesystem (xorriso -hfsplus) has APM partitions that are no boot image.
  auto sa = kLiveBuildSystemArea;
  sa.push_back("APM partition name :   2  HFSPLUS_Hybrid");
  sa.push_back("APM partition type :   2  Apple_HFS");
  sa.push_back("APM start and size :   2  90  200");
  EXPECT_NE(with(sa).find("APM partition 2 (\"HFSPLUS_Hybrid\", Apple_HFS)"), std::string::npos);
  EXPECT_NE(with({"System area summary: MBR CHRP"}).find("(MBR CHRP) is not one"),
            std::string::npos);
  // A generic MBR's own partition table: libisofs would write it cleared.
  EXPECT_EQ(with({"System area summary: MBR", "ISO image size/512 : 6144",
                  "MBR partition      :   1   0x80  0x83           64         6080"}),
            "MBR partition 1 (type 0x83, start 64) is not one this writer can replay");
  auto r =
      ParseBootReport({"El Torito cat path : /boot.cat",
                       "El Torito boot img :   1  BIOS  y   fd1.4  0x0000  0x00      1          30",
                       "El Torito img path :   1  /floppy.img"},
                      {});
  ASSERT_TRUE(r);
  auto plan = PlanReplay(*r);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error(), "El Torito image /floppy.img: emulation fd1.4 is not replayed");
  EXPECT_FALSE(ParseBootReport({"El Torito img path :   3  /x"}, {}));
}

TEST(IsoReplayTest, GarbledNumbersAreZeroNotAnException) {
  auto r = ParseBootReport({"El Torito boot img : x BIOS y none zz q 0x-1 ~"},
                           {"MBR partition : 1 0x80 0xzz -5 junk", "APM start and size : a b c",
                            "Partition offset : 99999999999999999999"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->images.at(0).lba, 0u);
  EXPECT_EQ(r->mbr.at(1).start, 0u);
}

TEST(IsoReplayTest, ClearPartitionTablesKeepsTheBootCode) {
  std::string sa(32768, '\0');
  sa.replace(0, 8, "ER\x08\x00\xeb\x02\xff\xff", 8);
  std::fill_n(sa.begin() + 8, 430, 'c');   // boot code
  std::fill_n(sa.begin() + 446, 64, 'p');  // MBR partition table
  sa[510] = '\x55';
  sa[511] = '\xaa';
  sa.replace(2048, 2, "PM");  // two APM entries, then none
  sa.replace(4096, 2, "PM");
  sa.replace(8192, 2, "XY");
  ClearPartitionTables(&sa);
  EXPECT_EQ(sa.substr(0, 8), std::string("ER\x08\x00\xeb\x02\xff\xff", 8));
  EXPECT_EQ(sa.substr(8, 430), std::string(430, 'c'));
  EXPECT_EQ(sa.substr(446, 64), std::string(64, '\0'));
  EXPECT_EQ(sa.substr(2048, 4096), std::string(4096, '\0'));
  EXPECT_EQ(sa.substr(8192, 2), "XY");
  // A GPT: everything past the MBR goes.
  sa.replace(512, 8, "EFI PART");
  ClearPartitionTables(&sa);
  EXPECT_EQ(sa.find_first_not_of('\0', 512), std::string::npos);
}

}  // namespace
}  // namespace imager::formats::iso
