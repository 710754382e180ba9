// SPDX-License-Identifier: GPL-3.0-or-later
#include "stages/lost_owners.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "base/fd.h"
#include "base/fs.h"
#include "base/owner_record.h"

namespace imager::stages {
namespace {

class LostOwnersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir("/tmp", "imager-lost-owners-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = *d;
    top_ = dir_ + "/top";
    below_ = dir_ + "/below";
    ASSERT_TRUE(MakeDirs(top_ + "/usr/bin"));
    ASSERT_TRUE(MakeDirs(below_ + "/var/mail"));
  }
  void TearDown() override { (void)RemoveTree(dir_); }

  // A file of the layer `layer` with `mode` and, unless empty, the owner record `record`.
  void Put(const std::string& layer, const std::string& path, mode_t mode,
           const std::string& record) {
    std::string full = layer + path;
    struct stat st;
    if (lstat(full.c_str(), &st) != 0) {
      ASSERT_TRUE(WriteFile(full, "x"));
    }
    ASSERT_EQ(chmod(full.c_str(), mode), 0);
    if (!record.empty()) {
      ASSERT_EQ(setxattr(full.c_str(), kOwnerXattr, record.data(), record.size(), 0), 0);
    }
  }

  mode_t Mode(const std::string& path) {
    struct stat st;
    EXPECT_EQ(lstat((top_ + path).c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }

  std::string dir_, top_, below_;
};

TEST_F(LostOwnersTest, OnlyOwnersThatWereNotRecordedLoseTheirSetIdBits) {
  if (setxattr(top_.c_str(), "user.test", "v", 1, 0) != 0) GTEST_SKIP() << "no user xattrs on /tmp";
  Put(top_, "/usr/bin/chage", 02755, "0:42");  // recorded as asked
  Put(top_, "/usr/bin/su", 04755, "");         // nothing recorded: 0:0
  Put(top_, "/usr/bin/other", 02755, "0:43");  // recorded, but not what the package asked
  Put(top_, "/usr/bin/named", 02755, "0:9");   // asked by a name the image lacks
  Put(below_, "/var/mail", 02775, "0:8");      // only in the layer below
  std::vector<AskedOwner> asked{
      {"login", "/usr/bin/chage", "root:shadow", 0, 42},
      {"login", "/usr/bin/su", "5:0", 5, 0},
      {"x", "/usr/bin/other", "0:42", 0, 42},
      {"dpkg-statoverride", "/usr/bin/named", "root:nosuch", 0, std::nullopt},
      {"base-files", "/var/mail", "root:mail", 0, 8},
      {"x", "/usr/bin/gone", "0:42", 0, 42},  // in no layer: skipped
  };
  auto r = CheckAskedOwners({top_, below_}, asked);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->recorded, 2u);
  EXPECT_EQ(r->lost, (std::vector<std::string>{
                         "login: /usr/bin/su should be 5:0, is 0:0",
                         "x: /usr/bin/other should be 0:42, is 0:43",
                         "dpkg-statoverride: /usr/bin/named should be root:nosuch, is 0:9",
                     }));
  EXPECT_EQ(r->stripped.size(), 3u);
  EXPECT_EQ(Mode("/usr/bin/chage"), 02755u) << "its owner is in the image: the bit stays";
  EXPECT_EQ(Mode("/usr/bin/su"), 0755u);
  EXPECT_EQ(Mode("/usr/bin/other"), 0755u);
  EXPECT_EQ(Mode("/usr/bin/named"), 0755u);
}

TEST_F(LostOwnersTest, AWhiteoutHidesTheLayerBelow) {
  if (setxattr(top_.c_str(), "user.test", "v", 1, 0) != 0) GTEST_SKIP() << "no user xattrs on /tmp";
  ASSERT_TRUE(MakeDirs(top_ + "/var"));
  if (mknod((top_ + "/var/mail").c_str(), S_IFCHR | 0, makedev(0, 0)) != 0)
    GTEST_SKIP() << "needs CAP_MKNOD for an overlayfs whiteout";
  Put(below_, "/var/mail", 02775, "");
  auto r = CheckAskedOwners({top_, below_}, {{"base-files", "/var/mail", "0:8", 0, 8}});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->recorded, 0u);
  EXPECT_TRUE(r->lost.empty()) << "deleted in the image: nothing to keep or lose";
}

TEST_F(LostOwnersTest, OnlyPackagesWithASetIdFileInTheImageAreRead) {
  ASSERT_TRUE(MakeDirs(below_ + "/var/lib/dpkg/info"));
  ASSERT_TRUE(MakeDirs(below_ + "/usr/bin"));
  ASSERT_TRUE(WriteFile(below_ + "/var/lib/dpkg/info/passwd:amd64.list",
                        "/.\n/usr\n/usr/bin\n/usr/bin/chage\n/usr/bin/chfn\n"));
  ASSERT_TRUE(WriteFile(below_ + "/var/lib/dpkg/info/less.list", "/usr/bin/less\n/usr/bin\n"));
  Put(below_, "/usr/bin/chage", 0755, "");
  Put(below_, "/usr/bin/chfn", 0755, "");
  Put(below_, "/usr/bin/less", 0755, "");
  auto has = [&](const std::string& name) {
    auto r = PackageHasSetIdFile({top_, below_}, name, "amd64");
    EXPECT_TRUE(r) << r.error();
    return r && *r;
  };
  EXPECT_FALSE(has("passwd")) << "no set-id file yet";
  EXPECT_FALSE(has("less")) << "the list without the architecture is found too";
  Put(top_, "/usr/bin/chage", 02755, "");  // the layer above makes it set-gid
  EXPECT_TRUE(has("passwd"));
  EXPECT_FALSE(has("less"));
  Put(below_, "/usr/bin/less", 04755, "");
  EXPECT_TRUE(has("less"));
  EXPECT_TRUE(has("not-installed")) << "without dpkg's list, only the package tells";

  // A symlink in the layer that leads out of it is resolved inside: a set-uid host file is not
  // the package's.
  ASSERT_EQ(symlink("/usr/bin", (top_ + "/host").c_str()), 0);
  ASSERT_TRUE(WriteFile(below_ + "/var/lib/dpkg/info/hostlink.list", "/host/mount\n"));
  struct stat st;
  ASSERT_EQ(stat("/usr/bin/mount", &st), 0);
  ASSERT_TRUE(st.st_mode & S_ISUID) << "the test needs the host's set-uid /usr/bin/mount";
  EXPECT_FALSE(has("hostlink"));
}

}  // namespace
}  // namespace imager::stages
