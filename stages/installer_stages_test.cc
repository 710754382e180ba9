// SPDX-License-Identifier: GPL-3.0-or-later
#include "stages/installer_stages.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "base/fs.h"
#include "stages/build.h"
#include "stages/rootfs.h"

namespace imager::stages {
namespace {

class NullSink : public ProgressSink {
 public:
  void StageStarted(const std::string&) override {}
  void StageProgress(const std::string&, uint64_t, uint64_t, const std::string&) override {}
  void StageNote(const std::string&, const std::string&) override {}
  void StageDone(const std::string&, double) override {}
  void StageCached(const std::string&, const std::string&) override {}
  void StageFailed(const std::string&, double, const std::string&) override {}
};

PackageFiles Fake(const std::vector<std::string>& names) {
  PackageFiles f;
  for (const auto& n : names) {
    f.packages.push_back({n, "1", "amd64", "http://mirror/" + n + ".deb", std::string(64, 'a'), 1});
    f.paths.push_back("/nonexistent/" + n + ".deb");
  }
  return f;
}

class InstallerPlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir("/tmp", "installer-plan-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = *d;
    Cache::Options co;
    co.durable = false;
    auto c = Cache::Open(dir_ + "/cache", Cache::Access::kBuild, co);
    ASSERT_TRUE(c) << c.error();
    cache_ = std::move(*c);
    p_.name = "inst";
    p_.source = dir_ + "/inst.yaml";
    p_.distribution = {profiles::Family::kDebian, "bookworm", "amd64"};
    p_.packages.include = {"linux-image-amd64"};
    p_.installer.type = profiles::InstallerType::kCalamares;
    p_.installer.offline_packages = {"grub-pc"};
    p_.output.formats = {profiles::Format::kIso};
    p_.output.volume_id = "INST";
    o_.cache_dir = dir_ + "/cache";
    o_.out_dir = dir_ + "/out";
    o_.packages = Fake({"base-files", "linux-image-amd64"});
    o_.tools = Fake({"isolinux"});
    o_.installer = Fake({"calamares"});
    o_.offline_packages = Fake({"grub-pc"});
  }
  void TearDown() override {
    cache_ = Cache();
    ASSERT_TRUE(RemoveTree(dir_));
  }
  std::string dir_;
  Cache cache_;
  NullSink sink_;
  profiles::Profile p_;
  BuildOptions o_;
};

TEST_F(InstallerPlanTest, TheInstallerIsLayersAboveTheTargetAndImagesOfTheirOwn) {
  Pipeline pipeline(cache_, sink_, {.log_dir = dir_ + "/logs", .profile = "inst"});
  auto layers = PlanBuild(p_, o_, &pipeline);
  ASSERT_TRUE(layers) << layers.error();
  // The live session: the target's layers (with the distribution's initramfs the installed
  // system boots with), then the installer's.
  EXPECT_EQ(*layers, (std::vector<std::string>{"packages", "config", kInitrdStage,
                                               "installer-packages", "installer-config"}));
  auto order = pipeline.Order();
  ASSERT_TRUE(order) << order.error();
  for (const char* stage : {"squashfs", "installer-squashfs", "installer-config-squashfs",
                            "installer-check", "offline-repo", "initramfs", "iso"})
    EXPECT_NE(std::find(order->begin(), order->end(), stage), order->end()) << stage;
  // The ISO comes after the check and every image.
  auto at = [&](const char* s) { return std::find(order->begin(), order->end(), s); };
  EXPECT_LT(at("installer-check"), at("iso"));
  EXPECT_LT(at("installer-config-squashfs"), at("iso"));
}

TEST_F(InstallerPlanTest, ABrandingChangeKeepsTheTargetAndInstallerPackagesKeys) {
  auto keys = [&]() {
    Pipeline pipeline(cache_, sink_, {.log_dir = dir_ + "/logs", .profile = "inst"});
    EXPECT_TRUE(PlanBuild(p_, o_, &pipeline));
    auto k = pipeline.Keys();
    EXPECT_TRUE(k) << k.error();
    return std::map<std::string, std::string>(k->begin(), k->end());
  };
  auto before = keys();
  p_.installer.branding.product_name = "Rebranded";
  auto after = keys();
  for (const char* same : {"packages", "config", "squashfs", "installer-packages",
                           "installer-squashfs", "offline-repo", "tools"})
    EXPECT_EQ(before[same], after[same]) << same;
  for (const char* changed : {"installer-config", "installer-config-squashfs", "installer-check",
                              "initramfs", "bootloader", "iso"})
    EXPECT_NE(before[changed], after[changed]) << changed;
}

TEST_F(InstallerPlanTest, TheBooterStacksTheThreeImagesBottomFirst) {
  Medium medium = LiveMedium(p_);
  Pipeline pipeline(cache_, sink_, {.log_dir = dir_ + "/logs", .profile = "inst"});
  std::vector<std::string> layers = {"packages", "config"};
  ASSERT_TRUE(PlanInstaller(p_, o_, &layers, &pipeline, &medium));
  EXPECT_EQ(layers, (std::vector<std::string>{"packages", "config", "installer-packages",
                                              "installer-config"}));
  BootIdentity id = MakeBootIdentity(p_, std::string(64, 'e'), 0);
  std::string c = BooterConfig(p_, id, medium);
  auto first = c.find("image=/live/filesystem.squashfs\n");
  auto second = c.find("image=/live/installer.squashfs\n");
  auto third = c.find("image=/live/installer-config.squashfs\n");
  ASSERT_NE(first, std::string::npos);
  ASSERT_NE(second, std::string::npos);
  ASSERT_NE(third, std::string::npos);
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
  EXPECT_EQ(medium.trees, std::vector<std::string>{"offline-repo"});
}

TEST_F(InstallerPlanTest, AnInstallerNeedsAnIsoAndItsPackages) {
  Medium none;  // no iso among the outputs
  Pipeline pipeline(cache_, sink_, {.log_dir = dir_ + "/logs", .profile = "inst"});
  std::vector<std::string> layers = {"packages"};
  auto st = PlanInstaller(p_, o_, &layers, &pipeline, &none);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().find("add iso to output.formats"), std::string::npos) << st.error();
  Medium medium = LiveMedium(p_);
  o_.installer = {};
  st = PlanInstaller(p_, o_, &layers, &pipeline, &medium);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().find("run 'imager resolve'"), std::string::npos) << st.error();
}

}  // namespace
}  // namespace imager::stages
