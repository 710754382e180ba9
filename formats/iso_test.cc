// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/iso.h"

#include <cdio/iso9660.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <memory>

#include "base/fd.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "formats/shell_for_tests.h"

namespace imager::formats::iso {
namespace {

constexpr int64_t kEpoch = 1764593311;  // 2025-12-01 12:48:31 UTC
constexpr char kIsolinux[] = "/usr/lib/ISOLINUX/isolinux.bin";
constexpr char kIsohdpfx[] = "/usr/lib/ISOLINUX/isohdpfx.bin";

// Output and exit status of a shell command (xorriso and mkfs.fat are independent tools).
std::string Shell(const std::string& cmd, int* status = nullptr) {
  return ShellOutput(cmd, status);
}

bool Have(const std::string& tool) {
  int st = 0;
  Shell("command -v " + tool, &st);
  return st == 0;
}

uint32_t Le32(const std::string& s, size_t off) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[off + i]);
  return v;
}

struct IsoClose {
  void operator()(iso9660_t* i) const { iso9660_close(i); }
};
struct StatFree {
  void operator()(iso9660_stat_t* s) const { iso9660_stat_free(s); }
};
using IsoStat = std::unique_ptr<iso9660_stat_t, StatFree>;

class IsoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir("/tmp", "imager-iso-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = *d;
    root_ = dir_ + "/root";
    for (const char* sub : {"", "/etc", "/bin", "/live", "/isolinux", "/a", "/a/b", "/a/b/c"})
      ASSERT_EQ(mkdir((root_ + sub).c_str(), 0700), 0) << sub;
    ASSERT_TRUE(WriteFile(root_ + "/etc/hello.txt", "hello\n"));
    ASSERT_TRUE(WriteFile(root_ + "/etc/empty", ""));
    ASSERT_TRUE(WriteFile(root_ + "/a/b/c/deep-file-with-a-long-name.conf", "deep\n"));
    ASSERT_TRUE(WriteFile(root_ + "/bin/tool", "#!/bin/sh\necho tool\n"));
    ASSERT_EQ(chmod((root_ + "/bin/tool").c_str(), 0700), 0);
    ASSERT_EQ(chmod((root_ + "/etc/hello.txt").c_str(), 0600), 0);
    ASSERT_EQ(symlink("../etc/hello.txt", (root_ + "/bin/link").c_str()), 0);
    std::string big;
    for (uint32_t i = 0; i < 300000; ++i) big += static_cast<char>((i * 7919u) % 251);
    ASSERT_TRUE(WriteFile(root_ + "/live/filesystem.squashfs", big));
    // A fake isolinux.bin: 3 blocks of a pattern, the boot info table area included.
    std::string boot;
    for (uint32_t i = 0; i < 3 * 2048; ++i) boot += static_cast<char>(i * 13 + 1);
    ASSERT_TRUE(WriteFile(root_ + "/isolinux/isolinux.bin", boot));
  }
  void TearDown() override { (void)RemoveTree(dir_); }

  WriteOptions Options(const std::string& name) {
    WriteOptions o;
    o.root = root_;
    o.output = dir_ + "/" + name;
    o.volume_id = "IMAGER_TEST";
    o.source_date_epoch = kEpoch;
    return o;
  }

  // A FAT ESP made with mkfs.fat; empty when dosfstools is missing.
  std::string MakeEsp() {
    if (!Have("mkfs.fat")) return "";
    std::string esp = dir_ + "/efi.img";
    int st = 0;
    std::string log = Shell("mkfs.fat -C " + esp + " 1440", &st);
    EXPECT_EQ(st, 0) << log;
    return st == 0 ? esp : "";
  }

  // Copies the real isolinux.bin into the tree; false when syslinux is not installed.
  bool UseRealIsolinux() {
    if (access(kIsolinux, R_OK) != 0 || access(kIsohdpfx, R_OK) != 0) return false;
    auto bin = ReadFile(kIsolinux);
    EXPECT_TRUE(bin) << bin.error();
    return bin && WriteFile(root_ + "/isolinux/isolinux.bin", *bin);
  }

  std::string Sha(const std::string& path) {
    auto h = Sha256File(path);
    EXPECT_TRUE(h) << h.error();
    return h ? *h : "";
  }

  std::string Xorriso(const std::string& iso, const std::string& report) {
    return Shell("xorriso -indev " + iso + " " + report + " plain");
  }

  // xorriso's report of `iso` without its numbers of two digits or more (LBAs, sizes) and with
  // blanks squeezed: what must stay the same when an image is written again.
  std::string BootShape(const std::string& iso) {
    return Shell("xorriso -indev " + iso +
                 " -report_el_torito plain -report_system_area plain 2>/dev/null | "
                 "sed -E 's/[0-9]{2,}/N/g' | tr -s ' '");
  }

  std::string dir_, root_;
};

TEST_F(IsoTest, RebuildOfACopiedTreeIsByteIdentical) {
  auto a = Write(Options("a.iso"));
  ASSERT_TRUE(a) << a.error();
  // Another second, another copy of the tree (other inode numbers, other mtimes).
  sleep(1);
  std::string copy = dir_ + "/copy";
  int st = 0;
  std::string log =
      Shell("cp -a " + root_ + " " + copy + " && touch " + copy + "/etc/hello.txt", &st);
  ASSERT_EQ(st, 0) << log;
  auto o = Options("b.iso");
  o.root = copy;
  auto b = Write(o);
  ASSERT_TRUE(b) << b.error();
  EXPECT_EQ(a->bytes, b->bytes);
  EXPECT_EQ(Sha(dir_ + "/a.iso"), Sha(dir_ + "/b.iso"))
      << Shell("cmp -l " + dir_ + "/a.iso " + dir_ + "/b.iso | head");

  auto c = Options("c.iso");
  c.source_date_epoch = kEpoch + 1;
  ASSERT_TRUE(Write(c));
  EXPECT_NE(Sha(dir_ + "/a.iso"), Sha(dir_ + "/c.iso"));
}

TEST_F(IsoTest, HybridRebuildIsByteIdentical) {
  std::string esp = MakeEsp();
  if (esp.empty() || !UseRealIsolinux()) GTEST_SKIP() << "needs dosfstools and isolinux";
  auto o = Options("a.iso");
  o.bios_boot_image = "isolinux/isolinux.bin";
  o.isohybrid_mbr = kIsohdpfx;
  o.efi_image = esp;
  ASSERT_TRUE(Write(o));
  sleep(1);
  o.output = dir_ + "/b.iso";
  ASSERT_TRUE(Write(o));
  EXPECT_EQ(Sha(dir_ + "/a.iso"), Sha(dir_ + "/b.iso"));
  // The GPT GUIDs follow the volume id.
  o.output = dir_ + "/c.iso";
  o.volume_id = "OTHER";
  ASSERT_TRUE(Write(o));
  EXPECT_NE(Xorriso(dir_ + "/a.iso", "-report_system_area"),
            Xorriso(dir_ + "/c.iso", "-report_system_area"));
}

TEST_F(IsoTest, ReadBackWithLibiso9660) {
  auto r = Write(Options("t.iso"));
  ASSERT_TRUE(r) << r.error();
  {
    std::unique_ptr<iso9660_t, IsoClose> joliet(
        iso9660_open_ext((dir_ + "/t.iso").c_str(), ISO_EXTENSION_ALL));
    ASSERT_TRUE(joliet);
    EXPECT_GT(iso9660_ifs_get_joliet_level(joliet.get()), 0);
  }
  // libiso9660 reads Rock Ridge from the primary tree only, without Joliet.
  std::unique_ptr<iso9660_t, IsoClose> iso(
      iso9660_open_ext((dir_ + "/t.iso").c_str(), ISO_EXTENSION_ROCK_RIDGE));
  ASSERT_TRUE(iso);
  char* vol = nullptr;
  ASSERT_TRUE(iso9660_ifs_get_volume_id(iso.get(), &vol));
  EXPECT_STREQ(vol, "IMAGER_TEST");
  free(vol);

  auto read = [&](const std::string& path, iso9660_stat_t* s) {
    std::string data((s->size + 2047) / 2048 * 2048, '\0');
    long n = iso9660_iso_seek_read(iso.get(), data.data(), s->lsn, data.size() / 2048);
    EXPECT_EQ(n, static_cast<long>(data.size())) << path;
    return data.substr(0, s->size);
  };
  struct Want {
    const char* path;
    mode_t mode;
    std::string content;
  };
  auto big = ReadFile(root_ + "/live/filesystem.squashfs");
  ASSERT_TRUE(big);
  for (const Want& w : std::vector<Want>{
           {"/etc/hello.txt", S_IFREG | 0644, "hello\n"},
           {"/etc/empty", S_IFREG | 0644, ""},
           {"/bin/tool", S_IFREG | 0755, "#!/bin/sh\necho tool\n"},
           {"/a/b/c/deep-file-with-a-long-name.conf", S_IFREG | 0644, "deep\n"},
           {"/live/filesystem.squashfs", S_IFREG | 0644, *big},
           {"/etc", S_IFDIR | 0755, ""},
           {"/a/b/c", S_IFDIR | 0755, ""},
       }) {
    IsoStat s(iso9660_ifs_stat_translate(iso.get(), w.path));
    ASSERT_TRUE(s) << w.path;
    EXPECT_EQ(s->rr.b3_rock, yep) << w.path;
    EXPECT_EQ(s->rr.st_uid, 0u) << w.path;
    EXPECT_EQ(s->rr.st_gid, 0u) << w.path;
    EXPECT_EQ(s->rr.st_mode, w.mode) << w.path;
    if (S_ISREG(w.mode)) {
      EXPECT_EQ(read(w.path, s.get()), w.content) << w.path;
    }
  }
  IsoStat link(iso9660_ifs_stat_translate(iso.get(), "/bin/link"));
  ASSERT_TRUE(link);
  EXPECT_TRUE(S_ISLNK(link->rr.st_mode));
  ASSERT_TRUE(link->rr.psz_symlink);
  EXPECT_STREQ(link->rr.psz_symlink, "../etc/hello.txt");
}

TEST_F(IsoTest, BiosBootPatchesTheBootInfoTable) {
  auto o = Options("t.iso");
  o.bios_boot_image = "isolinux/isolinux.bin";
  auto r = Write(o);
  ASSERT_TRUE(r) << r.error();
  std::unique_ptr<iso9660_t, IsoClose> iso(
      iso9660_open_ext((dir_ + "/t.iso").c_str(), ISO_EXTENSION_ROCK_RIDGE));
  ASSERT_TRUE(iso);
  IsoStat s(iso9660_ifs_stat_translate(iso.get(), "/isolinux/isolinux.bin"));
  ASSERT_TRUE(s);
  IsoStat cat(iso9660_ifs_stat_translate(iso.get(), "/isolinux/boot.cat"));
  EXPECT_TRUE(cat) << "the catalog is beside the boot image";
  ASSERT_EQ(s->size, 3u * 2048);
  std::string data(3 * 2048, '\0');
  ASSERT_EQ(iso9660_iso_seek_read(iso.get(), data.data(), s->lsn, 3), 3 * 2048);
  // Boot info table (mkisofs -boot-info-table): PVD LBA, file LBA, length, checksum of the
  // 32-bit words from byte 64 on, then 40 zero bytes.
  EXPECT_EQ(Le32(data, 8), 16u);
  EXPECT_EQ(Le32(data, 12), static_cast<uint32_t>(s->lsn));
  EXPECT_EQ(Le32(data, 16), 3u * 2048);
  uint32_t sum = 0;
  for (size_t off = 64; off < data.size(); off += 4) sum += Le32(data, off);
  EXPECT_EQ(Le32(data, 20), sum);
  EXPECT_EQ(data.substr(24, 40), std::string(40, '\0'));
  // The rest is the file as it was.
  auto orig = ReadFile(root_ + "/isolinux/isolinux.bin");
  ASSERT_TRUE(orig);
  EXPECT_EQ(data.substr(0, 8), orig->substr(0, 8));
  EXPECT_EQ(data.substr(64), orig->substr(64));
}

TEST_F(IsoTest, HybridImageHasBiosAndUefiEntriesMbrAndGpt) {
  if (!Have("xorriso")) GTEST_SKIP() << "needs xorriso";
  std::string esp = MakeEsp();
  if (esp.empty() || !UseRealIsolinux()) GTEST_SKIP() << "needs dosfstools and isolinux";
  auto o = Options("t.iso");
  o.bios_boot_image = "isolinux/isolinux.bin";
  o.isohybrid_mbr = kIsohdpfx;
  o.efi_image = esp;
  auto r = Write(o);
  ASSERT_TRUE(r) << r.error();
  std::string et = Xorriso(o.output, "-report_el_torito");
  EXPECT_NE(et.find("El Torito cat path : /isolinux/boot.cat"), std::string::npos) << et;
  EXPECT_NE(et.find("El Torito boot img :   1  BIOS  y   none  0x0000  0x00      4"),
            std::string::npos)
      << et;
  EXPECT_NE(et.find("El Torito boot img :   2  UEFI  y   none"), std::string::npos) << et;
  EXPECT_NE(et.find("El Torito img opts :   1  boot-info-table isohybrid-suitable"),
            std::string::npos)
      << et;
  std::string sa = Xorriso(o.output, "-report_system_area");
  EXPECT_NE(sa.find("System area summary: MBR isohybrid"), std::string::npos) << sa;
  EXPECT_NE(sa.find("GPT disk GUID"), std::string::npos) << sa;
  // Partition 2 is the ESP, in the MBR as type 0xef and in the GPT, padded to the cylinder
  // alignment; the UEFI entry covers it and the ESP's bytes are where it starts.
  auto esp_data = ReadFile(esp);
  ASSERT_TRUE(esp_data);
  EXPECT_NE(sa.find("GPT start and size :   2"), std::string::npos) << sa;
  size_t at = sa.find("MBR partition      :   2   0x00  0xef");
  ASSERT_NE(at, std::string::npos) << sa;
  std::vector<std::string> f;
  for (const auto& x : Split(sa.substr(at, sa.find('\n', at) - at), ' '))
    if (!x.empty()) f.push_back(x);
  ASSERT_GE(f.size(), 2u);
  uint64_t sectors = std::stoull(f.back());
  uint64_t start = std::stoull(f[f.size() - 2]) * 512;
  EXPECT_GE(sectors * 512, esp_data->size());
  EXPECT_NE(et.find("El Torito img blks :   2  " + std::to_string(sectors / 4)), std::string::npos)
      << et;
  auto image = ReadFile(o.output);
  ASSERT_TRUE(image);
  EXPECT_EQ(image->substr(start, esp_data->size()), *esp_data);
  EXPECT_EQ(image->size(), r->bytes);
}

TEST_F(IsoTest, EfiWithoutIsohybridMbrGetsAGptEsp) {
  if (!Have("xorriso")) GTEST_SKIP() << "needs xorriso";
  std::string esp = MakeEsp();
  if (esp.empty()) GTEST_SKIP() << "needs dosfstools";
  auto o = Options("t.iso");
  o.efi_image = esp;
  auto r = Write(o);
  ASSERT_TRUE(r) << r.error();
  std::string et = Xorriso(o.output, "-report_el_torito");
  EXPECT_NE(et.find("El Torito boot img :   1  UEFI  y   none"), std::string::npos) << et;
  std::string sa = Xorriso(o.output, "-report_system_area");
  // The EFI System partition type GUID C12A7328-F81F-11D2-BA4B-00A0C93EC93B, as stored.
  EXPECT_NE(sa.find("28732ac11ff8d211ba4b00a0c93ec93b"), std::string::npos) << sa;
}

TEST_F(IsoTest, VolumeUuidIsThePvdTime) {
  auto o = Options("t.iso");
  o.volume_uuid = "2026120112483100";
  ASSERT_TRUE(Write(o));
  auto image = ReadFile(o.output);
  ASSERT_TRUE(image);
  // PVD at 0x8000: creation date at 813, modification date at 830 (17 bytes, the last the zone).
  EXPECT_EQ(image->substr(0x8000 + 813, 17), std::string("2026120112483100") + '\0');
  EXPECT_EQ(image->substr(0x8000 + 830, 17), std::string("2026120112483100") + '\0');

  o.volume_uuid.clear();
  ASSERT_TRUE(Write(o));
  image = ReadFile(o.output);
  ASSERT_TRUE(image);
  EXPECT_EQ(VolumeUuidFromEpoch(kEpoch), "2025120112483100");
  EXPECT_EQ(image->substr(0x8000 + 830, 17), std::string("2025120112483100") + '\0');
}

TEST_F(IsoTest, ProgressReachesTheTotal) {
  auto o = Options("t.iso");
  uint64_t last = 0, total = 0, calls = 0;
  o.progress = [&](uint64_t done, uint64_t t) {
    EXPECT_GE(done, last);
    last = done;
    total = t;
    ++calls;
  };
  auto r = Write(o);
  ASSERT_TRUE(r) << r.error();
  EXPECT_GE(calls, 2u);
  EXPECT_EQ(last, total);
  EXPECT_EQ(r->bytes, total);
  struct stat st;
  ASSERT_EQ(stat(o.output.c_str(), &st), 0);
  EXPECT_EQ(static_cast<uint64_t>(st.st_size), r->bytes);
  EXPECT_NE(access((o.output + ".part").c_str(), F_OK), 0);
}

TEST_F(IsoTest, BadInputsAreRefused) {
  auto fails = [&](WriteOptions o, const std::string& want) {
    auto r = Write(o);
    ASSERT_FALSE(r) << want;
    EXPECT_NE(r.error().find(want), std::string::npos) << r.error();
    EXPECT_NE(access(o.output.c_str(), F_OK), 0) << want;
    EXPECT_NE(access((o.output + ".part").c_str(), F_OK), 0) << want;
  };
  auto o = Options("t.iso");
  o.volume_id = "bad-id";
  fails(o, "volume id \"bad-id\"");
  o = Options("t.iso");
  o.volume_id = std::string(33, 'A');
  fails(o, "volume id");
  o = Options("t.iso");
  o.source_date_epoch = -1;
  fails(o, "source date epoch");
  o = Options("t.iso");
  o.volume_uuid = "2026-12-01";
  fails(o, "volume uuid \"2026-12-01\"");
  o = Options("t.iso");
  o.root = dir_ + "/nonexistent";
  fails(o, dir_ + "/nonexistent: No such file or directory");
  o = Options("t.iso");
  o.bios_boot_image = "isolinux/missing.bin";
  fails(o, "BIOS boot image isolinux/missing.bin is not a file under " + root_);
  o = Options("t.iso");
  o.efi_image = dir_ + "/no-efi.img";
  fails(o, "opening EFI image " + dir_ + "/no-efi.img: No such file or directory");
  o = Options("t.iso");
  o.isohybrid_mbr = dir_ + "/mbr.bin";
  fails(o, "an isohybrid MBR needs the BIOS boot image");
  o = Options("t.iso");
  ASSERT_EQ(mkfifo((root_ + "/etc/fifo").c_str(), 0600), 0);
  fails(o, root_ + "/etc/fifo to the ISO: only directories");
  ASSERT_EQ(unlink((root_ + "/etc/fifo").c_str()), 0);
  if (geteuid() != 0) {
    ASSERT_EQ(chmod((root_ + "/etc/hello.txt").c_str(), 0), 0);
    fails(o, "hello.txt");
  }
}

}  // namespace
}  // namespace imager::formats::iso

namespace imager::formats::iso {
namespace {

// Rewrite() of the hybrid image Write() makes for imager's live ISOs: the same El Torito
// entries, isohybrid MBR and appended ESP; files removed and added; the same bytes twice; the
// ESP replaced when asked.
TEST_F(IsoTest, RewriteReplaysAHybridImage) {
  if (!Have("xorriso")) GTEST_SKIP() << "needs xorriso";
  std::string esp = MakeEsp();
  if (esp.empty() || !UseRealIsolinux()) GTEST_SKIP() << "needs dosfstools and isolinux";
  auto o = Options("in.iso");
  o.bios_boot_image = "isolinux/isolinux.bin";
  o.isohybrid_mbr = kIsohdpfx;
  o.efi_image = esp;
  ASSERT_TRUE(Write(o));
  ASSERT_TRUE(WriteFile(dir_ + "/new.txt", "new\n"));
  RewriteOptions r{.input = o.output,
                   .output = dir_ + "/out.iso",
                   .volume_uuid = "2025120112483100",
                   .source_date_epoch = kEpoch,
                   .remove = {"/etc/empty"},
                   .files = {{dir_ + "/new.txt", "/x/y/new.txt", 0600, 0, 0, kEpoch}}};
  auto w = Rewrite(r);
  ASSERT_TRUE(w) << w.error();
  EXPECT_EQ(BootShape(r.output), BootShape(o.output));
  std::string ls = Shell("xorriso -indev " + r.output + " -find / -exec lsdl 2>/dev/null");
  EXPECT_NE(ls.find("-rw-------    1 0        0               4 Dec  1  2025 '/x/y/new.txt'"),
            std::string::npos)
      << ls;
  EXPECT_EQ(ls.find("/etc/empty"), std::string::npos) << ls;
  EXPECT_NE(ls.find("/etc/hello.txt"), std::string::npos) << ls;

  std::string first = Sha(r.output);
  ASSERT_TRUE(Rewrite(r));
  EXPECT_EQ(Sha(r.output), first);

  // The appended ESP replaced: its bytes where partition 2 starts.
  std::string esp2 = dir_ + "/esp2.img";
  auto data = ReadFile(esp);
  ASSERT_TRUE(data);
  std::string changed = *data;
  changed[3] = 'X';
  ASSERT_TRUE(WriteFile(esp2, changed));
  r.esp_partition = 2;
  r.esp_image = esp2;
  ASSERT_TRUE(Rewrite(r));
  EXPECT_EQ(BootShape(r.output), BootShape(o.output));
  auto image = ReadFile(r.output);
  ASSERT_TRUE(image);
  EXPECT_NE(image->find(changed), std::string::npos);
  EXPECT_EQ(image->find(*data), std::string::npos);
}

// The image Write() makes with an ESP and no isohybrid MBR (a protective MBR and a GPT).
TEST_F(IsoTest, RewriteReplaysAGptEsp) {
  if (!Have("xorriso")) GTEST_SKIP() << "needs xorriso";
  std::string esp = MakeEsp();
  if (esp.empty()) GTEST_SKIP() << "needs dosfstools";
  auto o = Options("in.iso");
  o.efi_image = esp;
  ASSERT_TRUE(Write(o));
  RewriteOptions r{.input = o.output, .output = dir_ + "/out.iso", .source_date_epoch = kEpoch};
  auto w = Rewrite(r);
  ASSERT_TRUE(w) << w.error();
  EXPECT_EQ(BootShape(r.output), BootShape(o.output));
}

// An image made by xorriso with live-build's options (isohdpfx.bin, -partition_offset 16, the
// UEFI image in the tree named in the GPT and the APM): the same boot setup, the same bytes twice.
TEST_F(IsoTest, RewriteReplaysALiveBuildImage) {
  if (!Have("xorriso")) GTEST_SKIP() << "needs xorriso";
  std::string esp = MakeEsp();
  if (esp.empty() || !UseRealIsolinux()) GTEST_SKIP() << "needs dosfstools and isolinux";
  ASSERT_TRUE(MakeDirs(root_ + "/boot/grub"));
  ASSERT_EQ(rename(esp.c_str(), (root_ + "/boot/grub/efi.img").c_str()), 0);
  const std::string in = dir_ + "/lb.iso";
  int st = 0;
  std::string log =
      Shell(std::string("xorriso -as mkisofs -R -r -J -joliet-long -l -iso-level 3 ") +
                "-isohybrid-mbr " + kIsohdpfx + " -partition_offset 16 -V LB " +
                "-b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot " +
                "-boot-load-size 4 -boot-info-table -eltorito-alt-boot " +
                "-e boot/grub/efi.img -no-emul-boot -isohybrid-gpt-basdat " +
                "-isohybrid-apm-hfsplus -o " + in + " " + root_ + " 2>&1",
            &st);
  ASSERT_EQ(st, 0) << log;
  ASSERT_NE(BootShape(in).find("APM partition path : 1 /boot/grub/efi.img"), std::string::npos)
      << BootShape(in);
  RewriteOptions r{.input = in,
                   .output = dir_ + "/out.iso",
                   .volume_id = "LB edited",
                   .source_date_epoch = kEpoch};
  auto w = Rewrite(r);
  ASSERT_TRUE(w) << w.error();
  EXPECT_EQ(BootShape(r.output), BootShape(in));
  std::string first = Sha(r.output);
  ASSERT_TRUE(Rewrite(r));
  EXPECT_EQ(Sha(r.output), first);
}

TEST_F(IsoTest, RewriteOfAPlainImageAndMissingPaths) {
  auto o = Options("in.iso");
  ASSERT_TRUE(Write(o));
  RewriteOptions r{.input = o.output,
                   .output = dir_ + "/out.iso",
                   .volume_id = "Lower case-id",
                   .source_date_epoch = kEpoch};
  ASSERT_TRUE(Rewrite(r));
  auto image = ReadFile(r.output);
  ASSERT_TRUE(image);
  EXPECT_EQ(image->substr(0x8000 + 40, 13), "Lower case-id");
  r.remove = {"/no/such"};
  auto bad = Rewrite(r);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error(), "/no/such: not in the image");
}

}  // namespace
}  // namespace imager::formats::iso
