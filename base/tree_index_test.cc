// SPDX-License-Identifier: GPL-3.0-or-later
#include "base/tree_index.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/fs.h"

namespace imager {
namespace {

class TreeIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir("/tmp", "tree-index-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = *d;
    ASSERT_TRUE(MakeDirs(dir_ + "/t/etc/sub"));
    ASSERT_TRUE(WriteFile(dir_ + "/t/etc/passwd", "root:x:0:0::/root:/bin/sh\n"));
    ASSERT_TRUE(WriteFile(dir_ + "/t/etc/sub/weird\nname\\x", "odd"));
    ASSERT_EQ(symlink("../etc/passwd", (dir_ + "/t/link").c_str()), 0);
  }
  void TearDown() override { ASSERT_TRUE(RemoveTree(dir_)); }
  TreeIndex Index(const TreeIndex* previous = nullptr) {
    auto i = IndexTree(dir_ + "/t", previous);
    EXPECT_TRUE(i) << i.error();
    return i ? *i : TreeIndex{};
  }
  std::string dir_;
};

TEST_F(TreeIndexTest, IndexesEveryEntryInWalkOrderAndRoundTrips) {
  TreeIndex i = Index();
  std::vector<std::string> paths;
  for (const auto& e : i.entries) paths.push_back(e.path);
  EXPECT_EQ(paths, (std::vector<std::string>{".", "etc", "etc/passwd", "etc/sub",
                                             "etc/sub/weird\nname\\x", "link"}));
  auto parsed = TreeIndex::Parse(i.Serialize());
  ASSERT_TRUE(parsed) << parsed.error();
  EXPECT_EQ(parsed->Serialize(), i.Serialize());
  EXPECT_EQ(parsed->Digest(), i.Digest());
  EXPECT_EQ(Index().Digest(), i.Digest());
  // passwd (26 bytes), the odd name (3), the link's target (13); directories do not count.
  EXPECT_EQ(i.ApparentSize(), 26u + 3u + 13u);
  ASSERT_EQ(link((dir_ + "/t/etc/passwd").c_str(), (dir_ + "/t/passwd2").c_str()), 0);
  EXPECT_EQ(Index().ApparentSize(), 26u + 3u + 13u);  // a hard link once
}

TEST_F(TreeIndexTest, EachKindOfChangeMovesTheDigestAndIsNamed) {
  TreeIndex before = Index();
  // Same size, same mtime: only the bytes differ (what a bad disk or a careful edit does).
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/t/etc/passwd").c_str(), &st), 0);
  {
    UniqueFd fd(open((dir_ + "/t/etc/passwd").c_str(), O_WRONLY));
    ASSERT_EQ(pwrite(fd.get(), "R", 1, 0), 1);
  }
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  ASSERT_EQ(utimensat(AT_FDCWD, (dir_ + "/t/etc/passwd").c_str(), times, 0), 0);
  TreeIndex now = Index(&before);
  EXPECT_NE(now.Digest(), before.Digest());
  EXPECT_EQ(DescribeChange(before, now), "etc/passwd: content changed");

  before = now;
  ASSERT_EQ(chmod((dir_ + "/t/etc/passwd").c_str(), 0600), 0);
  now = Index(&before);
  EXPECT_EQ(DescribeChange(before, now), "etc/passwd: mode changed");

  before = now;
  ASSERT_EQ(unlink((dir_ + "/t/link").c_str()), 0);
  ASSERT_EQ(symlink("/etc/shadow", (dir_ + "/t/link").c_str()), 0);
  now = Index(&before);
  // The parent directory's mtime moved too.
  EXPECT_EQ(DescribeChange(before, now),
            "2 changes: .: modification time changed; link: content changed");

  before = now;
  ASSERT_EQ(unlink((dir_ + "/t/etc/sub/weird\nname\\x").c_str()), 0);
  now = Index(&before);
  EXPECT_EQ(DescribeChange(before, now),
            "2 changes: etc/sub: modification time changed; etc/sub/weird\nname\\x: file missing");

  before = now;
  if (setxattr((dir_ + "/t/etc/passwd").c_str(), "user.test", "1", 1, 0) == 0) {
    now = Index(&before);
    EXPECT_EQ(DescribeChange(before, now), "etc/passwd: content changed");
  }
}

TEST_F(TreeIndexTest, UnchangedFingerprintsReuseHashesMovedOnesAreHashedAgain) {
  TreeIndex before = Index();
  // A forged previous index with a wrong hash for an entry whose fingerprint matches: reused.
  TreeIndex forged = before;
  forged.entries[2].hash = std::string(64, '0');
  EXPECT_EQ(Index(&forged).entries[2].hash, forged.entries[2].hash);
  // A hard link moves the ctime (link count): the entry is read again, and the same bytes give
  // the same digest.
  ASSERT_EQ(link((dir_ + "/t/etc/passwd").c_str(), (dir_ + "/passwd-link").c_str()), 0);
  TreeIndex now = Index(&forged);
  EXPECT_EQ(now.entries[2].hash, before.entries[2].hash);
  EXPECT_NE(now.entries[2].ctime_ns, before.entries[2].ctime_ns);
  EXPECT_EQ(now.Digest(), before.Digest());
  EXPECT_EQ(DescribeChange(before, now), "");
}

TEST_F(TreeIndexTest, UnreadableFilesAreAPermissionError) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads everything";
  ASSERT_EQ(chmod((dir_ + "/t/etc/passwd").c_str(), 0), 0);
  auto i = IndexTree(dir_ + "/t");
  ASSERT_FALSE(i);
  EXPECT_TRUE(IsPermissionError(i.error())) << i.error();
  EXPECT_NE(i.error().find("etc/passwd"), std::string::npos) << i.error();
  ASSERT_EQ(chmod((dir_ + "/t/etc/passwd").c_str(), 0644), 0);
}

TEST(TreeIndexParseTest, MalformedIndexesAreErrors) {
  EXPECT_FALSE(TreeIndex::Parse("abc 644 0 0 1 2 3 4 x\n"));
  EXPECT_FALSE(TreeIndex::Parse(std::string(64, 'a') + " 644 0 0 1 2 3 x\n"));
  EXPECT_FALSE(TreeIndex::Parse(std::string(64, 'a') + " 644 0 0 1 2 3 z4 x\n"));
  EXPECT_FALSE(TreeIndex::Parse(std::string(64, 'a') + " 644 0 0 1 2 3 4 x"));
  EXPECT_TRUE(TreeIndex::Parse(""));
}

}  // namespace
}  // namespace imager
