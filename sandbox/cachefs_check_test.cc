// SPDX-License-Identifier: GPL-3.0-or-later
#include "sandbox/cachefs_check.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/fs.h"

namespace imager::sandbox {
namespace {

namespace fs = std::filesystem;

// A podman container: an overlay root, a volume for /out, proc; a host with NFS and sshfs homes,
// a noexec /tmp, and /srv mounted over twice (the later mount is the one in effect).
constexpr const char* kMountinfo =
    "1082 987 0:90 / / rw,relatime - overlay overlay "
    "rw,lowerdir=/l/1:/l/2,upperdir=/u,workdir=/w,userxattr\n"
    "1083 1082 0:93 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
    "1090 1082 8:1 /vol/out /out rw,relatime - ext4 /dev/sda1 rw\n"
    "1091 1082 0:44 / /home/n rw,relatime - nfs4 srv:/home/n rw,vers=4.2\n"
    "1092 1082 0:45 / /home/s rw,nosuid,nodev,relatime - fuse.sshfs u@h:/ rw,user_id=1000\n"
    "1093 1082 0:46 / /tmp rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,size=1024k\n"
    "1094 1082 8:2 / /srv rw,relatime - xfs /dev/sdb1 rw\n"
    "1095 1094 8:3 / /srv rw,relatime - btrfs /dev/sdc1 rw\n"
    "1096 1082 8:4 / /outside rw,relatime - ext4 /dev/sdd1 rw\n";

class CacheFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir(fs::temp_directory_path().string(), "imager-cachefs-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = *d;
    std::ofstream(dir_ + "/mountinfo") << kMountinfo;
  }
  void TearDown() override { ASSERT_TRUE(RemoveTree(dir_)); }
  MountEntry At(const std::string& path) {
    auto m = MountHolding(dir_ + "/mountinfo", path);
    EXPECT_TRUE(m) << m.error();
    return m ? *m : MountEntry{};
  }
  std::string dir_;
};

TEST_F(CacheFsTest, TheLongestMountPointHoldsTheDirectory) {
  EXPECT_EQ(At("/home/imager/.cache/imager").target, "/");
  EXPECT_EQ(At("/out/cache").fstype, "ext4");
  EXPECT_EQ(At("/out").target, "/out");
  EXPECT_EQ(At("/outside/x").target, "/outside");  // not /out: whole components only
  EXPECT_EQ(At("/srv/cache").fstype, "btrfs");     // the later of two mounts on /srv
  EXPECT_EQ(At("/tmp/c").vfs_options,
            (std::vector<std::string>{"rw", "nosuid", "nodev", "noexec", "relatime"}));
  EXPECT_FALSE(MountHolding(dir_ + "/missing", "/x"));
}

TEST_F(CacheFsTest, AnOverlayRootFailsAVolumeIsFine) {
  auto root = JudgeCacheMount(At("/home/imager/.cache/imager"));
  ASSERT_EQ(root.size(), 1u);
  EXPECT_TRUE(root[0].fail);
  EXPECT_NE(root[0].detail.find("overlay filesystem, / (overlay)"), std::string::npos);
  EXPECT_NE(root[0].hint.find("a volume"), std::string::npos);
  EXPECT_TRUE(JudgeCacheMount(At("/out/cache")).empty());
  EXPECT_TRUE(JudgeCacheMount(At("/srv/cache")).empty());
}

TEST_F(CacheFsTest, NetworkAndFuseFilesystemsFail) {
  for (const char* dir : {"/home/n/.cache", "/home/s/.cache"}) {
    auto f = JudgeCacheMount(At(dir));
    ASSERT_FALSE(f.empty()) << dir;
    EXPECT_TRUE(f[0].fail) << dir;
    EXPECT_NE(f[0].detail.find("lacks the extended attributes or whiteouts"), std::string::npos);
  }
  // sshfs is also nosuid,nodev: two warnings after the failure.
  EXPECT_EQ(JudgeCacheMount(At("/home/s/.cache")).size(), 3u);
}

TEST_F(CacheFsTest, MountFlagsAreNamed) {
  auto f = JudgeCacheMount(At("/tmp/c"));
  ASSERT_EQ(f.size(), 3u);
  EXPECT_TRUE(f[0].fail);
  EXPECT_EQ(f[0].detail,
            "the cache's filesystem /tmp (tmpfs) is mounted noexec: the tools tree's programs "
            "cannot be run from the cache");
  EXPECT_FALSE(f[1].fail);
  EXPECT_NE(f[1].detail.find("nosuid"), std::string::npos);
  EXPECT_NE(f[2].hint.find("mounted without nodev"), std::string::npos);
}

}  // namespace
}  // namespace imager::sandbox
