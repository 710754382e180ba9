// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/iso_inspect.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <tuple>

#include "base/fd.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "formats/shell_for_tests.h"

namespace imager::formats::iso {
namespace {

constexpr char kIsolinux[] = "/usr/lib/ISOLINUX/isolinux.bin";
constexpr char kIsohdpfx[] = "/usr/lib/ISOLINUX/isohdpfx.bin";

bool Have(const std::string& tool) {
  int st = 0;
  ShellOutput("command -v " + tool, &st);
  return st == 0;
}

std::string Entry32(uint8_t b0, uint8_t b1, uint16_t sectors, uint32_t lba) {
  std::string e(32, '\0');
  e[0] = static_cast<char>(b0);
  e[1] = static_cast<char>(b1);
  e[6] = static_cast<char>(sectors);
  e[7] = static_cast<char>(sectors >> 8);
  for (int i = 0; i < 4; ++i) e[8 + i] = static_cast<char>(lba >> (8 * i));
  return e;
}

// A validation entry for `platform` with its checksum.
std::string Validation(uint8_t platform) {
  std::string v(32, '\0');
  v[0] = 1;
  v[1] = static_cast<char>(platform);
  v[30] = 0x55;
  v[31] = static_cast<char>(0xaa);
  uint32_t sum = 0;
  for (int i = 0; i < 32; i += 2)
    sum += static_cast<uint8_t>(v[i]) | static_cast<uint8_t>(v[i + 1]) << 8;
  uint16_t fix = static_cast<uint16_t>(0x10000 - (sum & 0xffff));
  v[28] = static_cast<char>(fix);
  v[29] = static_cast<char>(fix >> 8);
  return v;
}

TEST(IsoBootCatalog, ParsesInitialAndSectionEntries) {
  std::string cat = Validation(0) + Entry32(0x88, 0, 4, 39);
  std::string header(32, '\0');
  header[0] = static_cast<char>(0x91);
  header[1] = static_cast<char>(0xef);
  header[2] = 1;
  cat += header + Entry32(0x88, 0, 0, 512);
  cat.resize(2048, '\0');
  auto entries = ParseBootCatalog(cat);
  ASSERT_TRUE(entries) << entries.error();
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].platform, "BIOS");
  EXPECT_EQ((*entries)[0].load_sectors, 4u);
  EXPECT_EQ((*entries)[0].lba, 39u);
  EXPECT_EQ((*entries)[1].platform, "UEFI");
  EXPECT_EQ((*entries)[1].emulation, "none");
  EXPECT_EQ((*entries)[1].lba, 512u);
  cat[28] ^= 1;
  EXPECT_FALSE(ParseBootCatalog(cat));
  EXPECT_FALSE(ParseBootCatalog("short"));
}

TEST(IsoBootCatalog, Md5ImplantIsParsed) {
  std::string app = "ISO MD5SUM = 0123456789abcdef0123456789abcdef;SKIPSECTORS = 15;RHLISOSTATUS=1";
  app.resize(512, ' ');
  auto m = ParseMd5Implant(app);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->md5, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(m->skip_sectors, 15);
  EXPECT_FALSE(ParseMd5Implant(std::string(512, ' ')));
}

// A driver descriptor of `block` bytes and the APM entries {name, type, start, blocks}.
std::string Apm(
    uint16_t block,
    const std::vector<std::tuple<std::string, std::string, uint32_t, uint32_t>>& entries) {
  std::string s(32768, '\0');
  s.replace(0, 2, "ER");
  s[2] = static_cast<char>(block >> 8);
  s[3] = static_cast<char>(block);
  auto be32 = [&](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>(v >> (24 - 8 * i));
  };
  for (size_t i = 0; i < entries.size(); ++i) {
    size_t at = (i + 1) * block;
    const auto& [name, type, start, blocks] = entries[i];
    s.replace(at, 2, "PM");
    be32(at + 4, static_cast<uint32_t>(entries.size()));
    be32(at + 8, start);
    be32(at + 12, blocks);
    s.replace(at + 16, name.size(), name);
    s.replace(at + 48, type.size(), type);
  }
  return s;
}

TEST(IsoApm, ParsesEntriesInEitherBlockSize) {
  auto apm =
      ParseApm(Apm(2048, {{"Apple", "Apple_partition_map", 1, 2}, {"EFI", "Apple_HFS", 71, 1024}}));
  ASSERT_EQ(apm.size(), 2u);
  EXPECT_EQ(apm[1].number, 2);
  EXPECT_EQ(apm[1].name, "EFI");
  EXPECT_EQ(apm[1].type, "Apple_HFS");
  EXPECT_EQ(apm[1].start, 284u);  // 512-byte sectors
  EXPECT_EQ(apm[1].sectors, 4096u);
  apm = ParseApm(Apm(512, {{"EFI", "Apple_HFS", 284, 4096}}));
  ASSERT_EQ(apm.size(), 1u);
  EXPECT_EQ(apm[0].start, 284u);
  EXPECT_TRUE(ParseApm(Apm(1024, {{"EFI", "Apple_HFS", 1, 1}})).empty());  // no such block size
  EXPECT_TRUE(ParseApm(std::string(32768, '\0')).empty());
  // A count larger than the system area holds stops at its end.
  auto big = Apm(2048, {{"A", "Apple_HFS", 1, 1}});
  big[2048 + 4] = '\x7f';
  EXPECT_LE(ParseApm(big).size(), 15u);
  EXPECT_TRUE(ParseApm("ER").empty());
}

class IsoInspectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Have("xorriso") || !Have("mkfs.fat") || !Have("mcopy") || access(kIsolinux, R_OK) != 0)
      GTEST_SKIP() << "xorriso, dosfstools, mtools or isolinux missing (dev/deps.txt)";
    auto d = MakeTempDir("/tmp", "imager-isoinspect-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = *d;
    root_ = dir_ + "/root";
    ASSERT_TRUE(MakeDirs(root_ + "/isolinux"));
    ASSERT_TRUE(MakeDirs(root_ + "/EFI/BOOT"));
    ASSERT_TRUE(MakeDirs(root_ + "/images"));
    ASSERT_TRUE(WriteFile(root_ + "/isolinux/isolinux.cfg", "default linux\n"));
    ASSERT_TRUE(WriteFile(root_ + "/EFI/BOOT/grub.cfg", "menuentry x {}\n"));
    ASSERT_TRUE(WriteFile(root_ + "/.treeinfo", "[general]\n"));
    ASSERT_TRUE(WriteFile(root_ + "/data.txt", "data\n"));
    ASSERT_TRUE(WriteFile(root_ + "/SHA256SUMS", Sha256Hex("data\n") + "  ./data.txt\n"));
    int st = 0;
    std::string out = ShellOutput("cd " + dir_ + " && cp " + kIsolinux + " root/isolinux/ && " +
                                      "PATH=$PATH:/usr/sbin mkfs.fat -C efi.img 1024 >/dev/null && "
                                      "cp efi.img root/images/efiboot.img",
                                  &st);
    ASSERT_EQ(st, 0) << out;
  }
  void TearDown() override {
    if (!dir_.empty()) (void)RemoveTree(dir_);
  }

  std::string Make(const std::string& extra) {
    int st = 0;
    std::string out = ShellOutput(
        "cd " + dir_ + " && rm -f t.iso && xorriso -as mkisofs -R -V ANACONDA_X -o t.iso " +
            "-b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 " +
            "-boot-info-table " + extra + " root",
        &st);
    EXPECT_EQ(st, 0) << out;
    return dir_ + "/t.iso";
  }

  Inspection InspectOk(const std::string& iso) {
    auto r = Reader::Open(iso);
    EXPECT_TRUE(r) << r.error();
    if (!r) return {};
    auto in = Inspect(**r, {});
    EXPECT_TRUE(in) << in.error();
    return in ? *in : Inspection{};
  }

  std::string dir_, root_;
};

TEST_F(IsoInspectTest, HybridWithAppendedEsp) {
  std::string iso = Make(std::string("-isohybrid-mbr ") + kIsohdpfx +
                         " -eltorito-alt-boot -e --interval:appended_partition_2:all:: "
                         "-no-emul-boot -isohybrid-gpt-basdat -append_partition 2 0xef efi.img");
  Inspection in = InspectOk(iso);
  EXPECT_EQ(in.volume_id, "ANACONDA_X");
  EXPECT_EQ(in.boot_catalog, "/isolinux/boot.cat");
  ASSERT_EQ(in.boot_entries.size(), 2u);
  EXPECT_EQ(in.boot_entries[0].platform, "BIOS");
  EXPECT_EQ(in.boot_entries[0].image, "/isolinux/isolinux.bin");
  EXPECT_EQ(in.boot_entries[0].load_sectors, 4u);
  EXPECT_EQ(in.boot_entries[1].platform, "UEFI");
  EXPECT_EQ(in.boot_entries[1].image, "appended partition 2");
  EXPECT_EQ(in.esp_image, "appended partition 2");
  bool esp = false;
  for (const auto& p : in.mbr) esp |= p.number == 2 && p.type == "0xef";
  EXPECT_TRUE(esp);
  ASSERT_EQ(in.gpt.size(), 2u);
  EXPECT_EQ(in.gpt[1].start, in.boot_entries[1].lba * 4u);
  EXPECT_EQ(in.layout, "anaconda");
  EXPECT_EQ(in.boot_configs,
            (std::vector<std::string>{"/isolinux/isolinux.cfg", "/EFI/BOOT/grub.cfg"}));
  ASSERT_EQ(in.checksums.size(), 1u);
  EXPECT_TRUE(in.checksums[0].verified && in.checksums[0].ok) << in.checksums[0].detail;
  EXPECT_TRUE(in.warnings.empty());
}

// live-build's options: the ESP image in the tree, in the GPT and (as HFS+) in the APM.
TEST_F(IsoInspectTest, LiveBuildApm) {
  std::string iso = Make(std::string("-isohybrid-mbr ") + kIsohdpfx +
                         " -partition_offset 16 -eltorito-alt-boot -e images/efiboot.img "
                         "-no-emul-boot -isohybrid-gpt-basdat -isohybrid-apm-hfsplus");
  Inspection in = InspectOk(iso);
  ASSERT_EQ(in.boot_entries.size(), 2u);
  const Partition* efi = nullptr;
  for (const auto& p : in.apm)
    if (p.name == "EFI") efi = &p;
  ASSERT_NE(efi, nullptr);
  EXPECT_EQ(efi->type, "Apple_HFS");
  EXPECT_EQ(efi->start, in.boot_entries[1].lba * 4u);
  ASSERT_FALSE(in.mbr.empty());
  EXPECT_EQ(in.mbr[0].start, 64u);  // the partition offset
}

TEST_F(IsoInspectTest, EspImageInsideTheIso) {
  std::string iso = Make("-eltorito-alt-boot -e images/efiboot.img -no-emul-boot");
  Inspection in = InspectOk(iso);
  ASSERT_EQ(in.boot_entries.size(), 2u);
  EXPECT_EQ(in.boot_entries[1].image, "/images/efiboot.img");
  EXPECT_EQ(in.esp_image, "/images/efiboot.img");
  EXPECT_TRUE(in.mbr.empty());
  EXPECT_TRUE(in.gpt.empty());
}

TEST_F(IsoInspectTest, LayoutsAreRecognised) {
  ASSERT_EQ(unlink((root_ + "/.treeinfo").c_str()), 0);
  EXPECT_EQ(InspectOk(Make("")).layout, "anaconda");  // images/efiboot.img and isolinux/
  ASSERT_EQ(unlink((root_ + "/images/efiboot.img").c_str()), 0);
  EXPECT_EQ(InspectOk(Make("")).layout, "unknown");
  ASSERT_TRUE(MakeDirs(root_ + "/live"));
  ASSERT_TRUE(MakeDirs(root_ + "/.disk"));
  ASSERT_TRUE(WriteFile(root_ + "/.disk/info", "Debian\n"));
  EXPECT_EQ(InspectOk(Make("")).layout, "debian-live");
  ASSERT_TRUE(WriteFile(root_ + "/.imager-id", "x\n"));
  EXPECT_EQ(InspectOk(Make("")).layout, "imager");
}

TEST_F(IsoInspectTest, ChecksumsCatchADamagedFile) {
  ASSERT_TRUE(WriteFile(root_ + "/data.txt", "DATA\n"));  // SHA256SUMS no longer matches
  Inspection in = InspectOk(Make(""));
  ASSERT_EQ(in.checksums.size(), 1u);
  EXPECT_TRUE(in.checksums[0].verified);
  EXPECT_FALSE(in.checksums[0].ok);
  EXPECT_NE(in.checksums[0].detail.find("/data.txt (sha256 differs)"), std::string::npos);
}

// The implant isomd5sum's implantisomd5 writes verifies as its checkisomd5 says.
TEST_F(IsoInspectTest, IsoMd5MatchesCheckisomd5) {
  if (!Have("implantisomd5") || !Have("checkisomd5")) GTEST_SKIP() << "isomd5sum missing";
  std::string iso = Make("");
  int st = 0;
  std::string out = ShellOutput("implantisomd5 " + iso, &st);
  ASSERT_EQ(st, 0) << out;
  ShellOutput("checkisomd5 " + iso, &st);
  ASSERT_EQ(st, 0);
  Inspection in = InspectOk(iso);
  ASSERT_EQ(in.checksums.size(), 2u);
  EXPECT_EQ(in.checksums[1].kind, "isomd5sum");
  EXPECT_TRUE(in.checksums[1].verified && in.checksums[1].ok) << in.checksums[1].detail;
  // One byte of a file changed: both tools see it.
  auto data = ReadFile(iso);
  ASSERT_TRUE(data);
  size_t at = data->find("default linux");
  ASSERT_NE(at, std::string::npos);
  (*data)[at] = 'D';
  ASSERT_TRUE(WriteFile(iso, *data));
  ShellOutput("checkisomd5 " + iso, &st);
  EXPECT_NE(st, 0);
  in = InspectOk(iso);
  EXPECT_TRUE(in.checksums[1].verified);
  EXPECT_FALSE(in.checksums[1].ok);
}

}  // namespace
}  // namespace imager::formats::iso
