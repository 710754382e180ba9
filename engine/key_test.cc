// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/key.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "base/fd.h"
#include "base/fs.h"
#include "base/sha256.h"

namespace imager::engine {
namespace {

constexpr const char* kParent = "1111111111111111111111111111111111111111111111111111111111111111";

class KeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir("/tmp", "key-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = *d;
    tree_ = dir_ + "/tree";
    ASSERT_EQ(mkdir(tree_.c_str(), 0755), 0);
    ASSERT_EQ(chmod(tree_.c_str(), 0755), 0);
    Write("f", "x", 0644);
  }
  void TearDown() override { ASSERT_TRUE(RemoveTree(dir_)); }

  void Write(const std::string& rel, const std::string& content, mode_t mode) {
    std::string p = tree_ + "/" + rel;
    ASSERT_TRUE(WriteFile(p, content));
    ASSERT_EQ(chmod(p.c_str(), mode), 0);
  }
  std::string Hash(const std::string& path) {
    auto h = HashTree(path);
    EXPECT_TRUE(h) << h.error();
    return h ? *h : "";
  }
  static std::string Key(const KeyBuilder& b) {
    auto k = b.Build();
    EXPECT_TRUE(k) << k.error();
    return k ? *k : "";
  }

  std::string dir_, tree_;
};

TEST_F(KeyTest, CanonicalTextIsExactAndKeyIsItsSha256) {
  KeyBuilder b("rootfs", 2);
  b.Value("variant", "minbase").Value("arch", "amd64").Parent(kParent);
  auto text = b.Canonical();
  ASSERT_TRUE(text) << text.error();
  EXPECT_EQ(*text,
            "imager-stage-key 1\nstage 6:rootfs\nversion 2\n"
            "input 4:arch value 5:amd64\ninput 7:variant value 7:minbase\n"
            "parent 64:" +
                std::string(kParent) + "\n");
  EXPECT_EQ(Key(b), Sha256Hex(*text));
  // Pinned: a key must never change between releases unless the encoding version is bumped.
  EXPECT_EQ(Key(b), "ee78b71f76ac907a98d9fc9a6fcb97d01dbc45351249b0c2ae38ea56c780a6c6");
}

TEST_F(KeyTest, InputOrderDoesNotMatterParentOrderDoes) {
  std::string k1 = Key(KeyBuilder("s", 1).Value("a", "1").Value("b", "2"));
  std::string k2 = Key(KeyBuilder("s", 1).Value("b", "2").Value("a", "1"));
  EXPECT_EQ(k1, k2);
  std::string p1 = Key(KeyBuilder("s", 1).Parent("x").Parent("y"));
  std::string p2 = Key(KeyBuilder("s", 1).Parent("y").Parent("x"));
  EXPECT_NE(p1, p2);
}

TEST_F(KeyTest, EveryPartChangesTheKey) {
  auto base = [] { return KeyBuilder("s", 1).Value("a", "1").Parent(kParent); };
  std::string k = Key(base());
  EXPECT_EQ(k, Key(base()));
  EXPECT_NE(k, Key(KeyBuilder("t", 1).Value("a", "1").Parent(kParent)));
  EXPECT_NE(k, Key(KeyBuilder("s", 2).Value("a", "1").Parent(kParent)));
  EXPECT_NE(k, Key(KeyBuilder("s", 1).Value("a", "2").Parent(kParent)));
  EXPECT_NE(k, Key(KeyBuilder("s", 1).Value("b", "1").Parent(kParent)));
  EXPECT_NE(k, Key(base().Value("c", "")));
  EXPECT_NE(k, Key(KeyBuilder("s", 1).Value("a", "1").Parent("2")));
  EXPECT_NE(k, Key(KeyBuilder("s", 1).Value("a", "1")));
}

TEST_F(KeyTest, FieldsCannotBleedIntoEachOther) {
  EXPECT_NE(Key(KeyBuilder("s", 1).Value("a", "b value 1:c")),
            Key(KeyBuilder("s", 1).Value("a", "b").Value("c", "")));
  std::string hash = Hash(tree_);
  EXPECT_NE(Key(KeyBuilder("s", 1).Value("t", hash)), Key(KeyBuilder("s", 1).Content("t", tree_)));
}

TEST_F(KeyTest, ContentInputFollowsTheTree) {
  std::string k = Key(KeyBuilder("s", 1).Content("overlay", tree_));
  EXPECT_EQ(k, Key(KeyBuilder("s", 1).Content("overlay", tree_)));
  Write("f", "y", 0644);
  EXPECT_NE(k, Key(KeyBuilder("s", 1).Content("overlay", tree_)));
}

TEST_F(KeyTest, ErrorsAreCollectedAndNamed) {
  KeyBuilder b("rootfs", 1);
  b.Value("a", "1").Value("a", "2").Content("overlay", dir_ + "/missing");
  auto k = b.Build();
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error(),
            "key of stage 'rootfs': input 'a' is given twice; input 'overlay': hash: stat " + dir_ +
                "/missing: No such file or directory");
}

TEST_F(KeyTest, StableAcrossProcesses) {
  auto build = [&] { return Key(KeyBuilder("s", 3).Value("a", "1").Content("t", tree_)); };
  auto pipe = MakePipe();
  ASSERT_TRUE(pipe);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: computes the same key in a fresh process and hands it back.
    _exit(WriteAll(pipe->write.get(), build()) ? 0 : 1);
  }
  pipe->write.reset();
  std::string from_child;
  ASSERT_TRUE(ReadAll(pipe->read.get(), &from_child));
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_EQ(from_child, build());
  EXPECT_EQ(from_child.size(), 64u);
}

TEST_F(KeyTest, TreeHashEncodingIsExact) {
  std::string expected = "1:. d 0755 0 -\n1:f f 0644 1 " + Sha256Hex("x") + "\n";
  EXPECT_EQ(Hash(tree_), Sha256Hex(expected));
  EXPECT_EQ(Hash(tree_ + "/f"), Sha256Hex("1:. f 0644 1 " + Sha256Hex("x") + "\n"));
}

TEST_F(KeyTest, TreeHashIgnoresMtimeButSeesMode) {
  std::string h = Hash(tree_);
  struct timespec times[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, (tree_ + "/f").c_str(), times, 0), 0);
  ASSERT_EQ(utimensat(AT_FDCWD, tree_.c_str(), times, 0), 0);
  EXPECT_EQ(Hash(tree_), h);
  ASSERT_EQ(chmod((tree_ + "/f").c_str(), 0755), 0);
  EXPECT_NE(Hash(tree_), h);
}

TEST_F(KeyTest, TreeHashSeesContentNamesLinksAndNewEntries) {
  std::string h = Hash(tree_);
  ASSERT_EQ(symlink("f", (tree_ + "/l").c_str()), 0);
  std::string with_link = Hash(tree_);
  EXPECT_NE(with_link, h);
  ASSERT_EQ(unlink((tree_ + "/l").c_str()), 0);
  ASSERT_EQ(symlink("g", (tree_ + "/l").c_str()), 0);
  EXPECT_NE(Hash(tree_), with_link);
  ASSERT_EQ(unlink((tree_ + "/l").c_str()), 0);
  EXPECT_EQ(Hash(tree_), h);
  ASSERT_EQ(rename((tree_ + "/f").c_str(), (tree_ + "/g").c_str()), 0);
  EXPECT_NE(Hash(tree_), h);
  ASSERT_EQ(mkdir((tree_ + "/sub").c_str(), 0755), 0);
  std::string with_dir = Hash(tree_);
  Write("sub/empty", "", 0644);
  EXPECT_NE(Hash(tree_), with_dir);
}

TEST_F(KeyTest, TreeHashIsTheSameForACopyElsewhere) {
  ASSERT_EQ(mkdir((tree_ + "/sub").c_str(), 0700), 0);
  Write("sub/a", "aaa", 0600);
  std::string copy = dir_ + "/copy";
  ASSERT_EQ(mkdir(copy.c_str(), 0755), 0);
  ASSERT_EQ(chmod(copy.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((copy + "/sub").c_str(), 0700), 0);
  ASSERT_TRUE(WriteFile(copy + "/sub/a", "aaa"));
  ASSERT_EQ(chmod((copy + "/sub/a").c_str(), 0600), 0);
  ASSERT_TRUE(WriteFile(copy + "/f", "x"));
  ASSERT_EQ(chmod((copy + "/f").c_str(), 0644), 0);
  EXPECT_EQ(Hash(copy), Hash(tree_));
}

}  // namespace
}  // namespace imager::engine
