// SPDX-License-Identifier: GPL-3.0-or-later
#include "sandbox/userns_check.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/fd.h"
#include "base/fs.h"

namespace imager::sandbox {
namespace {

namespace fs = std::filesystem;

class UsernsCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir(fs::temp_directory_path().string(), "imager-userns-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = *d;
    host_ = {dir_ + "/sys", dir_ + "/selinux", "/usr/bin/imager"};
  }
  void TearDown() override { ASSERT_TRUE(RemoveTree(dir_)); }
  void Set(const std::string& rel, const std::string& value) {
    fs::create_directories(fs::path(dir_ + "/" + rel).parent_path());
    std::ofstream(dir_ + "/" + rel) << value << "\n";
  }
  std::string dir_;
  UsernsHost host_;
};

TEST_F(UsernsCheckTest, AnUnrestrictedHostHasNoFindings) {
  Set("sys/kernel/unprivileged_userns_clone", "1");
  Set("sys/user/max_user_namespaces", "63000");
  Set("sys/kernel/apparmor_restrict_unprivileged_userns", "0");
  Set("selinux/enforce", "0");
  fs::create_directories(dir_ + "/selinux/class/user_namespace");
  EXPECT_TRUE(FindUsernsRestrictions(host_).empty());
  UsernsVerdict v = JudgeUserns(true, {});
  EXPECT_TRUE(v.ok);
  EXPECT_EQ(v.detail, "unprivileged user namespaces work");
}

TEST_F(UsernsCheckTest, UbuntusAppArmorRestrictionAndItsProfile) {
  Set("sys/kernel/apparmor_restrict_unprivileged_userns", "1");
  auto found = FindUsernsRestrictions(host_);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_NE(found[0].what.find("kernel.apparmor_restrict_unprivileged_userns=1"),
            std::string::npos);
  EXPECT_NE(found[0].fix.find("> /etc/apparmor.d/imager && apparmor_parser -r "
                              "/etc/apparmor.d/imager"),
            std::string::npos)
      << found[0].fix;
  EXPECT_NE(found[0].fix.find("sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"),
            std::string::npos);
  UsernsVerdict denied = JudgeUserns(false, found);
  EXPECT_FALSE(denied.ok);
  EXPECT_NE(denied.detail.find("AppArmor restricts"), std::string::npos);
  UsernsVerdict allowed = JudgeUserns(true, found);
  EXPECT_TRUE(allowed.ok);
  EXPECT_EQ(allowed.detail,
            "unprivileged user namespaces work (AppArmor restricts them, but allows this "
            "imager)");
}

TEST_F(UsernsCheckTest, TheShippedProfileIsTheOneCheckSuggests) {
  const fs::path source = fs::path(__FILE__).parent_path().parent_path();
  auto shipped = ReadFile((source / "dist/apparmor/imager").string());
  ASSERT_TRUE(shipped) << shipped.error();
  EXPECT_EQ(*shipped, AppArmorProfileFor("/usr/bin/imager"));
  EXPECT_NE(AppArmorProfileFor("/home/u/imager/build/imager")
                .find("profile imager-local /home/u/imager/build/imager flags=(unconfined)"),
            std::string::npos);
}

TEST_F(UsernsCheckTest, DisabledClonesAndNoNamespacesLeft) {
  Set("sys/kernel/unprivileged_userns_clone", "0");
  Set("sys/user/max_user_namespaces", "0");
  auto found = FindUsernsRestrictions(host_);
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].what,
            "unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone=0)");
  EXPECT_NE(found[0].fix.find("sysctl -w kernel.unprivileged_userns_clone=1"), std::string::npos);
  EXPECT_NE(found[1].fix.find("sysctl -w user.max_user_namespaces=15000"), std::string::npos);
  UsernsVerdict v = JudgeUserns(false, found);
  EXPECT_EQ(v.detail,
            "cannot create a user namespace: unprivileged user namespaces are disabled "
            "(kernel.unprivileged_userns_clone=0); no user namespaces may be created "
            "(user.max_user_namespaces=0)");
}

TEST_F(UsernsCheckTest, EnforcingSelinuxWithTheUserNamespaceClass) {
  Set("selinux/enforce", "1");
  EXPECT_TRUE(FindUsernsRestrictions(host_).empty());  // an old policy: no such class
  fs::create_directories(dir_ + "/selinux/class/user_namespace");
  auto found = FindUsernsRestrictions(host_);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_NE(found[0].fix.find("audit2allow"), std::string::npos);
  EXPECT_TRUE(JudgeUserns(true, found).ok);
}

TEST_F(UsernsCheckTest, NothingFoundStillGivesAHint) {
  UsernsVerdict v = JudgeUserns(false, {});
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.detail, "cannot create a user namespace");
  EXPECT_NE(v.hint.find("seccomp=unconfined"), std::string::npos);
}

}  // namespace
}  // namespace imager::sandbox
