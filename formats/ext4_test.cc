// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/ext4.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdio>

#include "base/fd.h"
#include "base/fs.h"
#include "base/owner_record.h"
#include "formats/shell_for_tests.h"

namespace imager::formats::ext4 {
namespace {

class Ext4Test : public ::testing::Test {
 protected:
  void SetUp() override {
    int st = 0;
    ShellOutput("command -v mke2fs debugfs", &st);
    if (st != 0) GTEST_SKIP() << "mke2fs and debugfs missing: install e2fsprogs (dev/deps.txt)";
    // The writer runs them by name, as the tools sandbox's PATH has them; an unprivileged user's
    // PATH may lack the sbin directories.
    const char* path = getenv("PATH");
    std::string p = path ? path : "/usr/bin:/bin";
    if (p.find("/usr/sbin") == std::string::npos)
      setenv("PATH", (p + ":/usr/sbin:/sbin").c_str(), 1);
    auto d = MakeTempDir("/tmp", "imager-ext4-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = *d;
    root_ = dir_ + "/root";
    ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((root_ + "/etc").c_str(), 0750), 0);
    ASSERT_TRUE(WriteFile(root_ + "/etc/a", "a\n"));
    ASSERT_TRUE(WriteFile(root_ + "/etc/b", "bee\n"));
    ASSERT_EQ(chmod((root_ + "/etc/a").c_str(), 04755), 0);
  }
  void TearDown() override {
    if (!dir_.empty()) (void)RemoveTree(dir_);
  }

  // What debugfs answers to `request` ("stat PATH", "ea_list PATH") about `image`.
  std::string Debugfs(const std::string& image, const std::string& request) {
    // debugfs reads the image back: e2fsprogs' own reader.
    return ShellOutput("debugfs -R '" + request + "' " + image);
  }

  WriteOptions Options() const {
    return {.root = root_,
            .output = dir_ + "/root.ext4",
            .size = 0,
            .uuid = "6e0c1c2a-3f7e-4b8e-9a55-0d1f6b2c9e11",
            .hash_seed = "0b7c7a38-5b44-4e39-8f3c-6c0b0e1f2a3d",
            .label = "root",
            .source_date_epoch = 1000};
  }

  std::string dir_, root_;
};

TEST_F(Ext4Test, RecordedOwnersAreTheInodesOwners) {
  // Single-id mode: the sandbox records the owner a file should have (base/owner_record.h).
  if (setxattr((root_ + "/etc").c_str(), kOwnerXattr, "0:42", 4, 0) != 0)
    GTEST_SKIP() << "no user xattrs on /tmp";
  ASSERT_EQ(setxattr((root_ + "/etc/a").c_str(), kOwnerXattr, "7:8", 3, 0), 0);  // setuid
  ASSERT_EQ(setxattr((root_ + "/etc/a").c_str(), "user.test", "v1", 2, 0), 0);
  auto m = Measure(root_, 0);
  ASSERT_TRUE(m) << m.error();
  EXPECT_EQ(m->recorded.size(), 2u);

  const std::string image = dir_ + "/root.ext4";
  auto s = Write(Options());
  ASSERT_TRUE(s) << s.error();
  std::string etc = Debugfs(image, "stat /etc"), a = Debugfs(image, "stat /etc/a");
  EXPECT_NE(etc.find("User:     0   Group:    42"), std::string::npos) << etc;
  EXPECT_NE(a.find("User:     7   Group:     8"), std::string::npos) << a;
  EXPECT_NE(a.find("Mode:  04755"), std::string::npos) << a;
  char user[32];
  snprintf(user, sizeof user, "User: %5u ", getuid());
  std::string b = Debugfs(image, "stat /etc/b");
  EXPECT_NE(b.find(user), std::string::npos) << "without a record the owner is the file's: " << b;
  for (const char* p : {"/etc", "/etc/a"}) {
    std::string ea = Debugfs(image, std::string("ea_list ") + p);
    EXPECT_EQ(ea.find(kOwnerXattr), std::string::npos) << p << ": " << ea;
  }
  EXPECT_NE(Debugfs(image, "ea_list /etc/a").find("user.test"), std::string::npos)
      << "other xattrs kept";
}

TEST_F(Ext4Test, ARecordOnANameDebugfsCannotTakeIsAnError) {
  const std::string odd = root_ + "/etc/a\"b";
  ASSERT_TRUE(WriteFile(odd, "x"));
  struct timespec old[2] = {{500, 0}, {500, 0}};  // before the epoch: no time to clamp
  ASSERT_EQ(utimensat(AT_FDCWD, odd.c_str(), old, AT_SYMLINK_NOFOLLOW), 0);
  if (setxattr(odd.c_str(), kOwnerXattr, "7:8", 3, 0) != 0)
    GTEST_SKIP() << "no user xattrs on /tmp";
  auto s = Write(Options());
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().find("cannot set the owner of '/etc/a\"b'"), std::string::npos) << s.error();
}

}  // namespace
}  // namespace imager::formats::ext4
