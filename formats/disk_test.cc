// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/disk.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>

#include "base/fd.h"
#include "base/fs.h"

namespace imager::formats::disk {
namespace {

uint64_t Get64(const std::string& s, size_t off) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(s[off + i]);
  return v;
}
uint32_t Get32(const std::string& s, size_t off) { return static_cast<uint32_t>(Get64(s, off)); }
uint16_t Get16(const std::string& s, size_t off) {
  return static_cast<uint16_t>(static_cast<uint8_t>(s[off]) | static_cast<uint8_t>(s[off + 1])
                                                                  << 8);
}

// Checks a GPT header the way firmware does: signature, its own CRC, the entries' CRC.
void ExpectValidHeader(const std::string& header, const std::string& entries, uint64_t lba) {
  ASSERT_EQ(header.substr(0, 8), "EFI PART");
  std::string h = header.substr(0, 92);
  uint32_t crc = Get32(h, 16);
  std::memset(h.data() + 16, 0, 4);
  EXPECT_EQ(Crc32(h.data(), h.size()), crc);
  EXPECT_EQ(Get64(header, 24), lba);
  EXPECT_EQ(Get32(header, 88), Crc32(entries.data(), entries.size()));
}

std::vector<Partition> ThreeParts() {
  return {{.type = *ParseGuid(kBiosBootType),
           .uuid = GuidFromSeed("a"),
           .first_lba = 2048,
           .last_lba = 4095,
           .name = "bios"},
          {.type = *ParseGuid(kEspType),
           .uuid = GuidFromSeed("b"),
           .first_lba = 4096,
           .last_lba = 6143,
           .name = "esp"},
          {.type = *ParseGuid(kRootX86_64Type),
           .uuid = GuidFromSeed("c"),
           .first_lba = 6144,
           .last_lba = 10239,
           .name = "root"}};
}

TEST(DiskTest, Crc32OfTheCheckString) { EXPECT_EQ(Crc32("123456789", 9), 0xCBF43926u); }

TEST(DiskTest, GuidMixedEndianRoundTrip) {
  auto g = ParseGuid("C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
  ASSERT_TRUE(g) << g.error();
  const uint8_t want[16] = {0x28, 0x73, 0x2A, 0xC1, 0x1F, 0xF8, 0xD2, 0x11,
                            0xBA, 0x4B, 0x00, 0xA0, 0xC9, 0x3E, 0xC9, 0x3B};
  EXPECT_EQ(std::memcmp(g->data(), want, 16), 0);
  EXPECT_EQ(FormatGuid(*g), "C12A7328-F81F-11D2-BA4B-00A0C93EC93B");
  EXPECT_FALSE(ParseGuid("C12A7328F81F-11D2-BA4B-00A0C93EC93B-"));
  EXPECT_FALSE(ParseGuid("X12A7328-F81F-11D2-BA4B-00A0C93EC93B"));
}

TEST(DiskTest, GuidFromSeedIsFixedAndVersion4) {
  EXPECT_EQ(GuidFromSeed("x"), GuidFromSeed("x"));
  EXPECT_NE(GuidFromSeed("x"), GuidFromSeed("y"));
  std::string text = FormatGuid(GuidFromSeed("x"));
  EXPECT_EQ(text[14], '4');
  EXPECT_NE(std::string("89AB").find(text[19]), std::string::npos);
}

TEST(DiskTest, ProtectiveMbrCoversTheDiskAndKeepsBootCode) {
  std::string mbr = ProtectiveMbr(10240, std::string(440, '\x42'));
  ASSERT_EQ(mbr.size(), 512u);
  EXPECT_EQ(mbr[0], '\x42');
  EXPECT_EQ(mbr[439], '\x42');
  EXPECT_EQ(static_cast<uint8_t>(mbr[0x1be + 4]), 0xee);
  EXPECT_EQ(Get32(mbr, 0x1be + 8), 1u);
  EXPECT_EQ(Get32(mbr, 0x1be + 12), 10239u);
  EXPECT_EQ(Get16(mbr, 510), 0xaa55);
}

TEST(DiskTest, GptPrimaryAndBackupAreConsistent) {
  const uint64_t sectors = 10240 + 34;
  auto gpt = MakeGpt(sectors, GuidFromSeed("disk"), ThreeParts());
  ASSERT_TRUE(gpt) << gpt.error();
  ASSERT_EQ(gpt->primary.size(), 33 * 512u);
  ASSERT_EQ(gpt->backup.size(), 33 * 512u);
  std::string entries = gpt->primary.substr(512);
  ExpectValidHeader(gpt->primary, entries, 1);
  EXPECT_EQ(Get64(gpt->primary, 32), sectors - 1);  // where the backup header is
  EXPECT_EQ(Get64(gpt->primary, 72), 2u);
  EXPECT_EQ(Get64(gpt->primary, 48), sectors - 34);  // last usable
  std::string backup_header = gpt->backup.substr(32 * 512);
  EXPECT_EQ(gpt->backup.substr(0, 32 * 512), entries);
  ExpectValidHeader(backup_header, entries, sectors - 1);
  EXPECT_EQ(Get64(backup_header, 32), 1u);
  EXPECT_EQ(Get64(backup_header, 72), sectors - 33);
  // The third entry: type, bounds, name in UTF-16LE.
  const size_t e = 2 * 128;
  EXPECT_EQ(FormatGuid(*reinterpret_cast<const Guid*>(entries.data() + e)), kRootX86_64Type);
  EXPECT_EQ(Get64(entries, e + 32), 6144u);
  EXPECT_EQ(Get64(entries, e + 40), 10239u);
  EXPECT_EQ(entries.substr(e + 56, 8), std::string("r\0o\0o\0t\0", 8));
}

TEST(DiskTest, GptRefusesOverlapsAndPartitionsOutsideTheDisk) {
  auto parts = ThreeParts();
  parts[2].first_lba = 6000;
  auto overlap = MakeGpt(20000, GuidFromSeed("d"), parts);
  ASSERT_FALSE(overlap);
  EXPECT_NE(overlap.error().find("overlap"), std::string::npos) << overlap.error();
  auto outside = MakeGpt(10240, GuidFromSeed("d"), ThreeParts());  // root ends past last usable
  ASSERT_FALSE(outside);
  EXPECT_NE(outside.error().find("outside"), std::string::npos) << outside.error();
}

TEST(DiskTest, BootImgGetsCoreSectorAndNoDriveCheck) {
  std::string boot(512, '\0');
  boot[0x66] = '\xeb';
  boot[0x67] = '\x05';
  boot[510] = '\x55';
  auto code = PatchBootImg({.boot_img = boot, .core_img = "", .core_lba = 2048});
  ASSERT_TRUE(code) << code.error();
  ASSERT_EQ(code->size(), 440u);
  EXPECT_EQ(Get64(*code, 0x5c), 2048u);
  EXPECT_EQ(static_cast<uint8_t>((*code)[0x66]), 0x90);
  EXPECT_EQ(static_cast<uint8_t>((*code)[0x67]), 0x90);
  EXPECT_FALSE(PatchBootImg({.boot_img = "short", .core_img = "", .core_lba = 1}));
}

TEST(DiskTest, CoreImgBlocklistPointsAfterItsFirstSector) {
  std::string core(512 * 3 + 100, '\x11');
  auto patched = PatchCoreImg({.boot_img = "", .core_img = core, .core_lba = 2048});
  ASSERT_TRUE(patched) << patched.error();
  EXPECT_EQ(patched->size(), 512 * 4u);
  EXPECT_EQ(Get64(*patched, 500), 2049u);
  EXPECT_EQ(Get16(*patched, 508), 3u);
  EXPECT_EQ((*patched)[512], '\x11');  // the rest is unchanged
}

TEST(DiskTest, WriteAssemblesMbrGptAndContents) {
  auto dir = MakeTempDir("/tmp", "imager-disk-test-");
  ASSERT_TRUE(dir) << dir.error();
  std::string content(512 * 2049, '\0');  // more than the ESP holds, less than the root
  content.replace(0, 5, "hello");
  content.replace(content.size() - 3, 3, "end");
  ASSERT_TRUE(WriteFile(*dir + "/root.img", content));
  std::string boot(512, '\0');
  boot[0] = '\xeb';
  Layout l{.disk_sectors = 10240 + 34 + 34,
           .disk_guid = GuidFromSeed("disk"),
           .parts = ThreeParts(),
           .contents = {"", "", *dir + "/root.img"},
           .bios_part = 0,
           .boot_img = boot,
           .core_img = std::string(1000, '\x22')};
  ASSERT_TRUE(Write(l, *dir + "/disk.raw"));
  auto disk = ReadFile(*dir + "/disk.raw");
  ASSERT_TRUE(disk) << disk.error();
  ASSERT_EQ(disk->size(), l.disk_sectors * 512);
  EXPECT_EQ((*disk)[0], '\xeb');
  EXPECT_EQ(Get64(*disk, 0x5c), 2048u);
  EXPECT_EQ(Get16(*disk, 510), 0xaa55);
  EXPECT_EQ(disk->substr(512, 8), "EFI PART");
  EXPECT_EQ(disk->substr(disk->size() - 512, 8), "EFI PART");
  EXPECT_EQ((*disk)[2048 * 512], '\x22');
  EXPECT_EQ(Get64(*disk, 2048 * 512 + 500), 2049u);
  EXPECT_EQ(disk->substr(6144 * 512, 5), "hello");
  EXPECT_EQ(disk->substr((6144 + 2049) * 512 - 3, 3), "end");
  // A content larger than its partition is refused.
  l.contents[1] = *dir + "/root.img";
  EXPECT_FALSE(Write(l, *dir + "/disk2.raw"));
  (void)RemoveTree(*dir);
}

}  // namespace
}  // namespace imager::formats::disk
