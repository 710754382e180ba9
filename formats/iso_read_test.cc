// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/iso_read.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>

#include "base/fd.h"
#include "base/fs.h"
#include "formats/shell_for_tests.h"

namespace imager::formats::iso {
namespace {

// Tests images made by xorriso (an independent writer) with Rock Ridge, then damaged on purpose.
class IsoReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int st = 0;
    ShellOutput("command -v xorriso", &st);
    if (st != 0) GTEST_SKIP() << "xorriso missing (dev/deps.txt)";
    auto d = MakeTempDir("/tmp", "imager-isoread-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = *d;
    std::string r = dir_ + "/root";
    for (const char* sub : {"", "/etc", "/a", "/a/b", "/loopme"})
      ASSERT_EQ(mkdir((r + sub).c_str(), 0755), 0) << sub;
    ASSERT_TRUE(WriteFile(r + "/etc/hello.txt", "hello\n"));
    ASSERT_TRUE(WriteFile(r + "/a/b/secret", "s\n"));
    ASSERT_TRUE(WriteFile(r + "/a/xx", "dots\n"));
    ASSERT_TRUE(WriteFile(r + "/a/abc", "slash\n"));
    ASSERT_EQ(chmod((r + "/a/b/secret").c_str(), 0640), 0);
    ASSERT_EQ(symlink("../etc/hello.txt", (r + "/a/link").c_str()), 0);
    ASSERT_EQ(symlink("/etc/passwd", (r + "/a/abs").c_str()), 0);
    std::string big;
    for (uint32_t i = 0; i < 200000; ++i) big += static_cast<char>((i * 7919u) % 251);
    ASSERT_TRUE(WriteFile(r + "/big.bin", big));
    iso_ = dir_ + "/t.iso";
    std::string out = ShellOutput("cd " + dir_ + " && touch -d @1700000000 root/etc/hello.txt &&" +
                                      " xorriso -as mkisofs -R -V T -o t.iso root",
                                  &st);
    ASSERT_EQ(st, 0) << out;
  }
  void TearDown() override {
    if (!dir_.empty()) (void)RemoveTree(dir_);
  }

  std::unique_ptr<Reader> Open(const std::string& path) {
    auto r = Reader::Open(path);
    EXPECT_TRUE(r) << r.error();
    return r ? std::move(*r) : nullptr;
  }

  // Replaces the first `from` in the image by `to` (same length).
  void Patch(const std::string& from, const std::string& to) {
    auto data = ReadFile(iso_);
    ASSERT_TRUE(data);
    size_t at = data->find(from);
    ASSERT_NE(at, std::string::npos) << from;
    data->replace(at, to.size(), to);
    ASSERT_TRUE(WriteFile(iso_, *data));
  }

  std::string dir_, iso_;
};

TEST_F(IsoReadTest, ListsRockRidgeNamesModesAndSymlinks) {
  auto r = Open(iso_);
  ASSERT_TRUE(r);
  auto list = r->List("/a");
  ASSERT_TRUE(list) << list.error();
  std::map<std::string, Entry> by;
  for (const auto& e : *list) by[e.name] = e;
  ASSERT_EQ(by.size(), 5u);
  EXPECT_TRUE(by["b"].IsDir());
  EXPECT_EQ(by["link"].symlink, "../etc/hello.txt");
  EXPECT_TRUE(by["link"].IsSymlink());
  EXPECT_EQ(by["abs"].symlink, "/etc/passwd");
  EXPECT_EQ(by["xx"].path, "/a/xx");
  auto secret = r->Stat("/a/b/secret");
  ASSERT_TRUE(secret) << secret.error();
  EXPECT_EQ(secret->mode, S_IFREG | 0640);
  auto hello = r->Stat("etc//hello.txt");
  ASSERT_TRUE(hello) << hello.error();
  EXPECT_EQ(hello->mtime, 1700000000);
  auto missing = r->Stat("/a/nope");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find(iso_ + ": /a/nope: no such file"), std::string::npos);
}

TEST_F(IsoReadTest, ReadsFilesWhole) {
  auto r = Open(iso_);
  ASSERT_TRUE(r);
  auto big = r->ReadSmall("/big.bin", 1 << 20);
  ASSERT_TRUE(big) << big.error();
  ASSERT_EQ(big->size(), 200000u);
  EXPECT_EQ((*big)[199999], static_cast<char>((199999u * 7919u) % 251));
  EXPECT_FALSE(r->ReadSmall("/big.bin", 1000));
  EXPECT_FALSE(r->ReadSmall("/a", 1000));  // a directory
}

TEST_F(IsoReadTest, ExtractsContentModesSymlinksAndTimes) {
  auto r = Open(iso_);
  ASSERT_TRUE(r);
  std::string dest = dir_ + "/out";
  auto rep = Extract(*r, dest, {});
  ASSERT_TRUE(rep) << rep.error();
  EXPECT_EQ(rep->symlinks, 2u);
  struct stat st;
  ASSERT_EQ(lstat((dest + "/a/b/secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  ASSERT_EQ(lstat((dest + "/etc/hello.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtime, 1700000000);
  ASSERT_EQ(lstat((dest + "/a/abs").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(*ReadFile(dest + "/a/link"), "hello\n");  // a relative link, inside DEST
  // Some paths only, with their parents; an existing file is not overwritten.
  auto part = Extract(*r, dir_ + "/part", {.paths = {"/a/b/secret", "/etc"}});
  ASSERT_TRUE(part) << part.error();
  EXPECT_EQ(*ReadFile(dir_ + "/part/a/b/secret"), "s\n");
  EXPECT_EQ(*ReadFile(dir_ + "/part/etc/hello.txt"), "hello\n");
  EXPECT_FALSE(Extract(*r, dir_ + "/part", {.paths = {"/etc"}}));
}

TEST_F(IsoReadTest, RefusesNamesThatLeaveTheDirectory) {
  // The Rock Ridge NM entry ("NM", length, version, flags, name) renamed to ".." and "a/c".
  Patch(std::string("NM\x07\x01\x00xx", 7), std::string("NM\x07\x01\x00..", 7));
  Patch(std::string("NM\x08\x01\x00"
                    "abc",
                    8),
        std::string("NM\x08\x01\x00"
                    "a/c",
                    8));
  auto r = Open(iso_);
  ASSERT_TRUE(r);
  auto list = r->List("/a");
  ASSERT_FALSE(list);
  EXPECT_NE(list.error().find("/a: an entry named"), std::string::npos) << list.error();
  EXPECT_TRUE(r->Stat("/a/b/secret"));  // lookups pass over the names they cannot match
  auto rep = Extract(*r, dir_ + "/out", {});
  ASSERT_FALSE(rep);
  EXPECT_EQ(ReadFile(dir_ + "/dots").ok(), false);
  EXPECT_EQ(ReadFile(dir_ + "/out/c").ok(), false);
}

TEST_F(IsoReadTest, RefusesADirectoryLoop) {
  auto r = Open(iso_);
  ASSERT_TRUE(r);
  auto loop = r->Stat("/loopme");
  auto root = r->Stat("/");
  ASSERT_TRUE(loop && root);
  auto both = [](uint32_t v) {
    std::string s(8, '\0');
    for (int i = 0; i < 4; ++i) s[i] = s[7 - i] = static_cast<char>(v >> (8 * i));
    return s;
  };
  r.reset();
  // The record of /loopme in the root directory now names the root's own extent.
  Patch(both(loop->lsn), both(root->lsn));
  r = Open(iso_);
  ASSERT_TRUE(r);
  auto rep = Extract(*r, dir_ + "/out", {});
  ASSERT_FALSE(rep);
  EXPECT_NE(rep.error().find("directory loop"), std::string::npos) << rep.error();
}

TEST_F(IsoReadTest, TruncatedImageIsAClearError) {
  auto data = ReadFile(iso_);
  ASSERT_TRUE(data);
  ASSERT_EQ(truncate(iso_.c_str(), data->size() - 400 * 1024), 0);
  auto r = Open(iso_);
  ASSERT_TRUE(r);
  auto rep = Extract(*r, dir_ + "/out", {});
  ASSERT_FALSE(rep);
  EXPECT_NE(rep.error().find("truncated"), std::string::npos) << rep.error();
  ASSERT_EQ(truncate(iso_.c_str(), 20000), 0);
  auto tiny = Reader::Open(iso_);
  ASSERT_FALSE(tiny);
  EXPECT_NE(tiny.error().find("not an ISO 9660 image"), std::string::npos) << tiny.error();
}

TEST(IsoSafeName, RefusesEscapes) {
  EXPECT_TRUE(SafeName("a.b"));
  EXPECT_TRUE(SafeName("..."));
  for (const std::string& bad :
       std::vector<std::string>{"", ".", "..", "a/b", "/", std::string("a\0b", 3)})
    EXPECT_FALSE(SafeName(bad)) << bad;
}

}  // namespace
}  // namespace imager::formats::iso
