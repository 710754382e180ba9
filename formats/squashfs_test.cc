// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/squashfs.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <map>

#include "base/fd.h"
#include "base/fs.h"
#include "base/owner_record.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "formats/shell_for_tests.h"

namespace imager::formats::squashfs {
namespace {

// Output of a shell command (squashfs-tools read the images back: an independent reader).
std::string Shell(const std::string& cmd, int* status = nullptr) {
  return ShellOutput("TZ=UTC " + cmd, status);
}

class SquashfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int st = 0;
    Shell("unsquashfs -help", &st);
    ASSERT_NE(st, 127) << "unsquashfs missing: install squashfs-tools (dev/deps.txt)";
    auto d = MakeTempDir("/tmp", "imager-squashfs-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = *d;
    root_ = dir_ + "/root";
    ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((root_ + "/etc").c_str(), 0750), 0);
    ASSERT_EQ(mkdir((root_ + "/etc/empty").c_str(), 0700), 0);
    ASSERT_TRUE(WriteFile(root_ + "/etc/b", "bee\n"));
    ASSERT_TRUE(WriteFile(root_ + "/etc/a", "a\n"));
    ASSERT_TRUE(WriteFile(root_ + "/etc/zero", ""));
    ASSERT_EQ(chmod((root_ + "/etc/a").c_str(), 04755), 0);
    ASSERT_EQ(symlink("b", (root_ + "/etc/link").c_str()), 0);
    ASSERT_EQ(symlink("/nowhere/at/all", (root_ + "/dangling").c_str()), 0);
    ASSERT_EQ(link((root_ + "/etc/b").c_str(), (root_ + "/etc/hard").c_str()), 0);
    ASSERT_EQ(mkfifo((root_ + "/fifo").c_str(), 0600), 0);
    // Several blocks, some repeated (deduplicated) and a tail fragment.
    std::string big;
    for (uint32_t i = 0; i < 300000; ++i) big += static_cast<char>((i * 7919u) % 251);
    ASSERT_TRUE(WriteFile(root_ + "/big", big + big.substr(0, 1000)));
    has_xattrs_ = setxattr((root_ + "/etc/a").c_str(), "user.test", "v1", 2, 0) == 0 &&
                  setxattr((root_ + "/etc/a").c_str(), "user.overlay.origin", "x", 1, 0) == 0;
  }
  void TearDown() override { (void)RemoveTree(dir_); }

  struct Entry {
    std::string mode, owner, size, time, target;  // size: "MAJOR,MINOR" for devices
  };
  // "unsquashfs -lln", by path inside the image.
  std::map<std::string, Entry> List(const std::string& image) {
    std::map<std::string, Entry> out;
    for (const auto& line : Split(Shell("unsquashfs -lln " + image), '\n')) {
      std::vector<std::string> f;
      for (const auto& w : Split(line, ' '))
        if (!w.empty()) f.push_back(w);
      size_t i = 0;
      while (i < f.size() && !StartsWith(f[i], "squashfs-root")) ++i;
      if (i < 5 || i == f.size()) continue;
      Entry e{f[0], f[1], "", f[i - 2] + " " + f[i - 1], ""};
      for (size_t j = 2; j < i - 2; ++j) e.size += f[j];
      if (i + 2 < f.size() && f[i + 1] == "->") e.target = f[i + 2];
      std::string name = f[i].substr(std::string("squashfs-root").size());
      out[name.empty() ? "/" : name] = e;
    }
    return out;
  }

  std::string Extract(const std::string& image) {
    std::string dest = dir_ + "/x";
    int st = 0;
    std::string log = Shell("unsquashfs -no-progress -d " + dest + " " + image, &st);
    EXPECT_EQ(st, 0) << log;
    return dest;
  }

  std::string dir_, root_;
  bool has_xattrs_ = false;
};

TEST_F(SquashfsTest, ReadBackKeepsNamesModesLinksAndContents) {
  std::string image = dir_ + "/r.sqfs";
  auto s = Write(root_, image, {});
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->entries, 11u);  // root + 10
  EXPECT_EQ(s->inodes, 10u);   // the hard link shares one
  EXPECT_EQ(s->bytes, 301006u);
  EXPECT_EQ(s->image_bytes % 4096, 0u);
  auto ls = List(image);
  std::vector<std::string> names;
  for (const auto& [name, e] : ls) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"/", "/big", "/dangling", "/etc", "/etc/a", "/etc/b",
                                             "/etc/empty", "/etc/hard", "/etc/link", "/etc/zero",
                                             "/fifo"}));
  EXPECT_EQ(ls["/etc/a"].mode, "-rwsr-xr-x");
  EXPECT_EQ(ls["/etc"].mode, "drwxr-x---");
  EXPECT_EQ(ls["/etc/empty"].mode, "drwx------");
  EXPECT_EQ(ls["/fifo"].mode, "prw-------");
  EXPECT_EQ(ls["/etc/link"].mode, "lrwxrwxrwx");
  EXPECT_EQ(ls["/etc/link"].target, "b");
  EXPECT_EQ(ls["/dangling"].target, "/nowhere/at/all");
  EXPECT_EQ(ls["/big"].size, "301000");
  std::string owner = std::to_string(getuid()) + "/" + std::to_string(getgid());
  EXPECT_EQ(ls["/etc/b"].owner, owner);

  std::string x = Extract(image);
  EXPECT_EQ(*ReadFile(x + "/big"), *ReadFile(root_ + "/big"));
  EXPECT_EQ(*ReadFile(x + "/etc/b"), "bee\n");
  EXPECT_EQ(*ReadFile(x + "/etc/zero"), "");
  struct stat b, h;
  ASSERT_EQ(lstat((x + "/etc/b").c_str(), &b), 0);
  ASSERT_EQ(lstat((x + "/etc/hard").c_str(), &h), 0);
  EXPECT_EQ(b.st_ino, h.st_ino) << "hard link kept";
  EXPECT_EQ(b.st_nlink, 2u);
  if (has_xattrs_) {
    char v[8] = {};
    EXPECT_EQ(lgetxattr((x + "/etc/a").c_str(), "user.test", v, sizeof v), 2);
    EXPECT_STREQ(v, "v1");
    EXPECT_LT(lgetxattr((x + "/etc/a").c_str(), "user.overlay.origin", v, sizeof v), 0)
        << "overlayfs bookkeeping must not be stored";
  }
}

TEST_F(SquashfsTest, SameTreeGivesIdenticalImages) {
  WriteOptions o{.threads = 4, .source_date_epoch = 1000};
  auto s1 = Write(root_, dir_ + "/1.sqfs", o);
  ASSERT_TRUE(s1) << s1.error();
  utimensat(AT_FDCWD, (root_ + "/etc/b").c_str(), nullptr, 0);  // newer than the epoch: clamped
  o.threads = 1;
  auto s2 = Write(root_, dir_ + "/2.sqfs", o);
  ASSERT_TRUE(s2) << s2.error();
  EXPECT_EQ(*Sha256File(dir_ + "/1.sqfs"), *Sha256File(dir_ + "/2.sqfs"));
  EXPECT_NE(Shell("unsquashfs -s " + dir_ + "/1.sqfs").find("Thu Jan  1 00:16:40 1970"),
            std::string::npos);
  for (const auto& [name, e] : List(dir_ + "/1.sqfs"))
    EXPECT_EQ(e.time, "1970-01-01 00:16") << name;

  // A changed file changes the image.
  ASSERT_TRUE(WriteFile(root_ + "/etc/b", "bee!\n"));
  ASSERT_TRUE(Write(root_, dir_ + "/3.sqfs", o));
  EXPECT_NE(*Sha256File(dir_ + "/1.sqfs"), *Sha256File(dir_ + "/3.sqfs"));
}

TEST_F(SquashfsTest, ImageTimeIsTheNewestMtimeWithoutAnEpoch) {
  struct timespec t[2] = {{0, UTIME_OMIT}, {86400 * 2, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, root_.c_str(), t, AT_SYMLINK_NOFOLLOW), 0);
  std::vector<std::string> all{root_ + "/etc/a",    root_ + "/etc/b",     root_ + "/etc/zero",
                               root_ + "/etc/link", root_ + "/etc/empty", root_ + "/etc",
                               root_ + "/dangling", root_ + "/fifo",      root_ + "/big"};
  for (const auto& p : all) ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), t, AT_SYMLINK_NOFOLLOW), 0);
  t[1].tv_sec = 86400 * 3;
  ASSERT_EQ(utimensat(AT_FDCWD, (root_ + "/etc/zero").c_str(), t, 0), 0);
  ASSERT_TRUE(Write(root_, dir_ + "/t.sqfs", {}));
  EXPECT_NE(Shell("unsquashfs -s " + dir_ + "/t.sqfs").find("Sun Jan  4 00:00:00 1970"),
            std::string::npos)
      << Shell("unsquashfs -s " + dir_ + "/t.sqfs");
}

TEST_F(SquashfsTest, EveryCompressorReadsBack) {
  for (auto c : {Compressor::kZstd, Compressor::kXz, Compressor::kLz4, Compressor::kGzip}) {
    SCOPED_TRACE(CompressorName(c));
    std::string image = dir_ + "/" + CompressorName(c) + ".sqfs";
    WriteOptions o{.compressor = c, .level = c == Compressor::kLz4 ? 0 : 3, .block_size = 65536};
    auto s = Write(root_, image, o);
    ASSERT_TRUE(s) << s.error();
    std::string info = Shell("unsquashfs -s " + image);
    EXPECT_NE(info.find(std::string("Compression ") + CompressorName(c)), std::string::npos)
        << info;
    EXPECT_NE(info.find("Block size 65536"), std::string::npos) << info;
    EXPECT_LT(s->image_bytes, s->bytes) << "repetitive data compresses";
    std::string x = Extract(image);
    EXPECT_EQ(*ReadFile(x + "/big"), *ReadFile(root_ + "/big"));
    (void)RemoveTree(x);
  }
}

TEST_F(SquashfsTest, ProgressReachesTheTotal) {
  uint64_t last_done = 0, last_total = 0, calls = 0;
  WriteOptions o;
  o.progress = [&](uint64_t done, uint64_t total) {
    EXPECT_GE(done, last_done);
    last_done = done;
    last_total = total;
    ++calls;
  };
  auto s = Write(root_, dir_ + "/p.sqfs", o);
  ASSERT_TRUE(s) << s.error();
  EXPECT_GT(calls, 1u);
  EXPECT_EQ(last_done, s->bytes);
  EXPECT_EQ(last_total, s->bytes);
}

TEST_F(SquashfsTest, DeviceNodesAndOwners) {
  if (mknod((root_ + "/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0 ||
      mknod((root_ + "/sda").c_str(), S_IFBLK | 0660, makedev(8, 0)) != 0 ||
      lchown((root_ + "/etc/b").c_str(), 1, 2) != 0 || chmod((root_ + "/sda").c_str(), 0660) != 0 ||
      chmod((root_ + "/null").c_str(), 0666) != 0)
    GTEST_SKIP() << "needs CAP_MKNOD and CAP_CHOWN (tests/rootless/squashfs_owners.sh covers "
                    "owners without them)";
  ASSERT_TRUE(Write(root_, dir_ + "/d.sqfs", {}));
  auto ls = List(dir_ + "/d.sqfs");
  EXPECT_EQ(ls["/null"].mode, "crw-rw-rw-");
  EXPECT_EQ(ls["/null"].size, "1,3");
  EXPECT_EQ(ls["/sda"].mode, "brw-rw----");
  EXPECT_EQ(ls["/sda"].size, "8,0");
  EXPECT_EQ(ls["/etc/b"].owner, "1/2");
  EXPECT_EQ(ls["/etc/hard"].owner, "1/2");
}

TEST_F(SquashfsTest, OverlayLayerKeepsWhiteoutsAndOpaqueDirectories) {
  ASSERT_TRUE(MakeDirs(root_ + "/gone"));
  ASSERT_TRUE(WriteFile(root_ + "/etc/removed", ""));
  if (setxattr((root_ + "/etc/removed").c_str(), "user.overlay.whiteout", "", 0, 0) != 0 ||
      setxattr((root_ + "/gone").c_str(), "user.overlay.opaque", "y", 1, 0) != 0)
    GTEST_SKIP() << "no user xattrs on this filesystem";
  WriteOptions o;
  o.overlay_layer = true;
  ASSERT_TRUE(Write(root_, dir_ + "/l.sqfs", o));
  auto ls = List(dir_ + "/l.sqfs");
  EXPECT_EQ(ls["/etc/removed"].mode, "c---------") << "a whiteout the kernel reads";
  EXPECT_EQ(ls["/etc/removed"].size, "0,0");
  // sqfs2tar writes every xattr as a pax record.
  std::string tar = Shell("sqfs2tar " + dir_ + "/l.sqfs | strings");
  EXPECT_NE(tar.find("SCHILY.xattr.trusted.overlay.opaque=y"), std::string::npos);
  EXPECT_EQ(tar.find("user.overlay"), std::string::npos);
  // Without the option the same tree is an ordinary image: the marks are bookkeeping.
  ASSERT_TRUE(Write(root_, dir_ + "/p.sqfs", {}));
  EXPECT_EQ(List(dir_ + "/p.sqfs")["/etc/removed"].mode, "-rw-r--r--");
  EXPECT_EQ(Shell("sqfs2tar " + dir_ + "/p.sqfs | strings").find("overlay.opaque"),
            std::string::npos);
}

TEST_F(SquashfsTest, RecordedOwnersAreTheInodesOwners) {
  // Single-id mode: the sandbox records the owner a file should have (base/owner_record.h).
  if (setxattr((root_ + "/etc").c_str(), kOwnerXattr, "0:42", 4, 0) != 0)
    GTEST_SKIP() << "no user xattrs on this filesystem";
  ASSERT_EQ(setxattr((root_ + "/etc/a").c_str(), kOwnerXattr, "7:8", 3, 0), 0);  // setuid
  ASSERT_EQ(setxattr(root_.c_str(), kOwnerXattr, "0:5", 3, 0), 0);
  std::string image = dir_ + "/o.sqfs";
  auto s = Write(root_, image, {});
  ASSERT_TRUE(s) << s.error();
  auto ls = List(image);
  EXPECT_EQ(ls["/"].owner, "0/5");
  EXPECT_EQ(ls["/etc"].owner, "0/42");
  EXPECT_EQ(ls["/etc/a"].owner, "7/8");
  EXPECT_EQ(ls["/etc/a"].mode, "-rwsr-xr-x");
  EXPECT_EQ(ls["/etc/b"].owner, std::to_string(getuid()) + "/" + std::to_string(getgid()));
  std::string x = Extract(image);
  for (const char* p : {"", "/etc", "/etc/a"}) {
    char v[16];
    EXPECT_LT(lgetxattr((x + p).c_str(), kOwnerXattr, v, sizeof v), 0)
        << p << ": the record describes the layer, not the image";
  }
  if (has_xattrs_) {
    char v[8] = {};
    EXPECT_EQ(lgetxattr((x + "/etc/a").c_str(), "user.test", v, sizeof v), 2)
        << "other xattrs kept";
  }
}

TEST_F(SquashfsTest, BadOptionsAreRefused) {
  auto expect_error = [&](WriteOptions o, const std::string& needle) {
    auto r = Write(root_, dir_ + "/bad.sqfs", o);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find(needle), std::string::npos) << r.error();
    EXPECT_NE(access((dir_ + "/bad.sqfs").c_str(), F_OK), 0);
  };
  expect_error({.block_size = 100000}, "power of two");
  expect_error({.block_size = 2048}, "power of two");
  expect_error({.compressor = Compressor::kZstd, .level = 23}, "out of range for zstd (1..22)");
  expect_error({.compressor = Compressor::kLz4, .level = 1}, "lz4 has no compression levels");
  EXPECT_FALSE(ParseCompressor("lzo"));
  EXPECT_EQ(*ParseCompressor("xz"), Compressor::kXz);
  auto r = Write(root_ + "/etc/a", dir_ + "/bad.sqfs", {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("not a directory"), std::string::npos) << r.error();
  r = Write(dir_ + "/missing", dir_ + "/bad.sqfs", {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("missing"), std::string::npos) << r.error();
}

}  // namespace
}  // namespace imager::formats::squashfs
