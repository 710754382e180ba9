// SPDX-License-Identifier: GPL-3.0-or-later
// The build plan as data: golden plans of the shipped profiles, every field of every stage's
// options keyed, and plan-time errors from the outputs, families and installers tables.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "base/fs.h"
#include "engine/key.h"
#include "families/family.h"
#include "profiles/loader.h"
#include "stages/build.h"
#include "stages/disk_stages.h"
#include "stages/iso_stages.h"
#include "stages/outputs.h"

namespace imager::stages {
namespace {

namespace fs = std::filesystem;

const fs::path kSource = fs::path(__FILE__).parent_path().parent_path();

class PlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/plan-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    o_.cache_dir = dir_ + "/cache";
    o_.out_dir = dir_ + "/out";
    o_.source_date_epoch = 1700000000;
  }
  void TearDown() override { fs::remove_all(dir_); }

  profiles::Profile Load(const std::string& name) {
    auto p = profiles::LoadProfile((kSource / "profiles" / name).string());
    EXPECT_TRUE(p) << p.error();
    return p ? *p : profiles::Profile{};
  }

  // A profile file in the test's directory.
  Result<profiles::Profile> LoadText(const std::string& yaml) {
    std::string path = dir_ + "/p.yaml";
    if (auto st = WriteFile(path, yaml); !st) return st.take_error();
    if (auto st = WriteFile(dir_ + "/k.asc", "key"); !st) return st.take_error();
    if (auto st = WriteFile(dir_ + "/script.sh", "#!/bin/sh\ntrue\n"); !st) return st.take_error();
    chmod((dir_ + "/script.sh").c_str(), 0755);
    if (auto st = MakeDirs(dir_ + "/files"); !st) return st.take_error();
    return profiles::LoadProfile(path);
  }

  // Every stage: the fake lock's packages, so package stages are planned as in a build.
  static PackageFiles Fake(const std::vector<std::string>& names) {
    PackageFiles f;
    for (const auto& n : names) {
      f.packages.push_back({n, "1.0", "amd64", "http://m/" + n + ".deb", std::string(64, 'a'), 1});
      f.paths.push_back("/cache/" + n + ".deb");
    }
    f.repositories = {{"http://m", "bookworm", "d", "r", std::string(64, 'b')}};
    return f;
  }

  std::string dir_;
  BuildOptions o_;
};

// The plans of the shipped profiles, without a lock (what `imager build --plan` shows on a
// fresh checkout): tests/golden/plan/NAME.txt. IMAGER_UPDATE_GOLDEN=1 rewrites them.
TEST_F(PlanTest, ShippedProfilesMatchTheirGoldenPlans) {
  for (const char* name : {"debian-live", "debian-installer", "openeuler-24.03-live"}) {
    auto p = Load(std::string(name) + ".yaml");
    auto plan = Plan(p, o_);
    ASSERT_TRUE(plan) << plan.error();
    std::string text = PlanText(*plan, /*details=*/false);
    std::string golden = (kSource / "tests/golden/plan" / (std::string(name) + ".txt")).string();
    if (getenv("IMAGER_UPDATE_GOLDEN")) {
      ASSERT_TRUE(WriteFile(golden, text));
    }
    auto want = ReadFile(golden);
    ASSERT_TRUE(want) << want.error() << " (IMAGER_UPDATE_GOLDEN=1 writes it)";
    EXPECT_EQ(text, *want) << name << ": the plan changed; if that is intended, rerun with "
                           << "IMAGER_UPDATE_GOLDEN=1 and review the diff";
  }
}

// osbuild's rule: a stage's key is the hash of exactly what it receives. Every field of every
// stage's options, changed alone, changes that stage's key inputs; a profile that has every
// stage (all rootfs settings, every output, an installer with an offline repository).
TEST_F(PlanTest, ChangingAnyOptionsFieldChangesTheKey) {
  auto p = LoadText(R"(
name: every-stage
distribution: {family: debian, release: bookworm}
repositories: [{type: deb, mirror: "http://m", keyring: k.asc}]
packages: {include: [linux-image-amd64]}
rootfs:
  users: [{name: u, password: {plain: x}}]
  files: [{from: files/, to: /etc/x/}]
  services: {enable: [a.service], disable: [b.service]}
  run: [script.sh]
installer: {type: calamares, offline_packages: [grub-pc]}
output: {formats: [iso, tar, squashfs, oci, oci-archive, raw, qcow2], disk: {size: 2G}}
)");
  ASSERT_TRUE(p) << p.error();
  o_.packages = Fake({"base-files", "linux-image-amd64"});
  o_.tools = Fake({"isolinux"});
  o_.installer = Fake({"calamares"});
  o_.offline_packages = Fake({"grub-pc"});
  Pipeline pipeline(*Cache::Open(o_.cache_dir, Cache::Access::kRead),
                    *engine::MakeProgress(engine::ProgressStyle::kPlain, -1), {});
  ASSERT_TRUE(PlanBuild(*p, o_, &pipeline));
  std::string other = dir_ + "/other-content";
  ASSERT_TRUE(WriteFile(other, "different"));
  auto canonical = [](const Stage& s, const std::vector<KeyInput>& inputs) {
    engine::KeyBuilder b(s.name, s.version);
    for (const auto& in : inputs) b.Add(in);
    auto text = b.Canonical();
    EXPECT_TRUE(text) << text.error();
    return text ? *text : "";
  };
  size_t stages = 0, fields = 0;
  for (const auto& s : pipeline.stages()) {
    ASSERT_TRUE(s.variants) << s.name << " was not made with MakeStage";
    ++stages;
    std::string base = canonical(s, s.inputs);
    for (const auto& [field, inputs] : s.variants(other)) {
      ++fields;
      EXPECT_NE(canonical(s, inputs), base)
          << s.name << ": changing " << field << " does not change the key";
    }
    for (const auto& [field, why] : s.unkeyed)
      EXPECT_FALSE(std::string(why).empty()) << s.name << "." << field;
  }
  EXPECT_GE(stages, 19u);
  EXPECT_GE(fields, 60u);
}

TEST_F(PlanTest, AnOutputTheFamilyCannotBuildNamesTheField) {
  auto p = LoadText(R"(
name: r
distribution: {family: rpm}
repositories: [{type: rpm-md, url: "http://m", gpgcheck: false}]
packages: {include: [bash]}
output: {formats: [raw]}
)");
  ASSERT_TRUE(p) << p.error();
  auto plan = Plan(*p, o_);
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().find("p.yaml:"), std::string::npos) << plan.error();
  EXPECT_NE(plan.error().find("disk images are not implemented for the rpm family"),
            std::string::npos)
      << plan.error();
}

TEST_F(PlanTest, EveryFormatIsAvailableAndNamedByTheTable) {
  for (const auto& o : OutputFormats())
    EXPECT_NE(AvailableOutputs().find(o.name), std::string::npos);
  for (const auto& [f, name] : profiles::EnumNames<profiles::Format>())
    EXPECT_NE(FindOutput(f), nullptr) << name;
}

// qcow2 alone: the disk stage is planned above the image's layers (not the installer's) and the
// tools tree, and only NAME.qcow2 is published; the tools get GRUB's BIOS parts.
TEST_F(PlanTest, Qcow2PlansToolsDiskAndQcow2) {
  auto p = Load("debian-installer.yaml");
  p.output.formats = {profiles::Format::kQcow2, profiles::Format::kIso};
  auto plan = Plan(p, o_);
  ASSERT_TRUE(plan) << plan.error();
  const PlannedStage* disk = nullptr;
  int qcow2 = 0, tools = 0;
  for (const auto& s : *plan) {
    if (s.name == kDiskStage) disk = &s;
    qcow2 += s.name == kQcow2Stage;
    tools += s.name == "tools";
  }
  ASSERT_NE(disk, nullptr);
  EXPECT_EQ(qcow2, 1);
  EXPECT_EQ(tools, 1);
  EXPECT_NE(std::find(disk->parents.begin(), disk->parents.end(), "tools"), disk->parents.end());
  for (const auto& parent : disk->parents)
    EXPECT_EQ(parent.find("installer"), std::string::npos) << parent;
  auto pubs = Publications(p);
  ASSERT_GE(pubs.size(), 1u);
  EXPECT_EQ(pubs[0].stage, kQcow2Stage);
  EXPECT_EQ(pubs[0].name, "debian-installer.qcow2");
  auto tool_packages = families::ToolPackages(p);
  EXPECT_NE(std::find(tool_packages.begin(), tool_packages.end(), "grub-pc-bin"),
            tool_packages.end());
  p.output.formats = {profiles::Format::kIso};
  tool_packages = families::ToolPackages(p);
  EXPECT_EQ(std::find(tool_packages.begin(), tool_packages.end(), "grub-pc-bin"),
            tool_packages.end());
}

// A live ISO carries an image per layer (a change above the packages rewrites only small
// images); with the squashfs output or an installer, the one merged root image.
TEST_F(PlanTest, LiveIsoStacksAnImagePerLayerUnlessOneMergedImageIsNeeded) {
  auto p = Load("debian-live.yaml");
  p.output.formats = {profiles::Format::kIso};
  auto parents_of = [](const std::vector<PlannedStage>& plan, const std::string& name) {
    for (const auto& s : plan)
      if (s.name == name) return s.parents;
    return std::vector<std::string>{"(no stage " + name + ")"};
  };
  auto plan = Plan(p, o_);
  ASSERT_TRUE(plan) << plan.error();
  EXPECT_EQ(parents_of(*plan, "squashfs-packages"), std::vector<std::string>{"packages"});
  EXPECT_EQ(parents_of(*plan, "squashfs-config"), std::vector<std::string>{"config"});
  EXPECT_EQ(parents_of(*plan, "squashfs-users"), std::vector<std::string>{"users"});
  EXPECT_EQ(parents_of(*plan, "squashfs"), std::vector<std::string>{"(no stage squashfs)"});
  auto iso = parents_of(*plan, "iso");
  for (const char* image : {"squashfs-packages", "squashfs-config", "squashfs-users"})
    EXPECT_NE(std::find(iso.begin(), iso.end(), image), iso.end()) << image;
  Medium m = LayeredMedium(p, {"packages", "config", "users"});
  ASSERT_EQ(m.images.size(), 3u);
  EXPECT_EQ(m.images[0].path, kMediumImage);
  EXPECT_EQ(m.images[1].path, "/live/config.squashfs");
  EXPECT_EQ(m.images[2].file, "debian-live-users.squashfs");
  EXPECT_NE(BooterConfig(p, {}, m).find("image=/live/users.squashfs\n"), std::string::npos);

  p.output.formats = {profiles::Format::kSquashfs, profiles::Format::kIso};
  plan = Plan(p, o_);
  ASSERT_TRUE(plan) << plan.error();
  EXPECT_EQ(parents_of(*plan, "squashfs-packages"),
            std::vector<std::string>{"(no stage squashfs-packages)"});
  iso = parents_of(*plan, "iso");
  EXPECT_NE(std::find(iso.begin(), iso.end(), "squashfs"), iso.end());
  EXPECT_TRUE(MergedLiveImage(Load("debian-installer.yaml")));
}

// The distribution's initramfs is a layer of its own above the image's, planned only for the
// outputs that boot with it; a live ISO's images neither wait for it nor carry it.
TEST_F(PlanTest, TheDistributionsInitramfsIsALayerOnlyForOutputsThatBootWithIt) {
  using F = profiles::Format;
  auto p = Load("debian-live.yaml");
  auto parents_of = [](const std::vector<PlannedStage>& plan, const std::string& name) {
    for (const auto& s : plan)
      if (s.name == name) return s.parents;
    return std::vector<std::string>{"(no stage " + name + ")"};
  };
  auto has = [](const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  const std::vector<std::string> image{"packages", "config", "users"};
  const std::vector<std::string> booted{"packages", "config", "users", kInitrdStage};
  for (auto formats : {std::vector<F>{F::kIso}, std::vector<F>{F::kOci}}) {
    p.output.formats = formats;
    auto plan = Plan(p, o_);
    ASSERT_TRUE(plan) << plan.error();
    EXPECT_EQ(parents_of(*plan, kInitrdStage),
              std::vector<std::string>{"(no stage " + std::string(kInitrdStage) + ")"});
  }
  p.output.formats = {F::kIso, F::kTar, F::kRaw};
  auto plan = Plan(p, o_);
  ASSERT_TRUE(plan) << plan.error();
  EXPECT_EQ(parents_of(*plan, kInitrdStage), image);
  EXPECT_EQ(parents_of(*plan, "tar"), booted);
  EXPECT_TRUE(has(parents_of(*plan, kDiskStage), kInitrdStage));
  EXPECT_EQ(parents_of(*plan, "squashfs-users"), std::vector<std::string>{"users"});
  EXPECT_FALSE(has(parents_of(*plan, "iso"), kInitrdStage));
  EXPECT_FALSE(has(parents_of(*plan, "initramfs"), kInitrdStage));

  // An installer's target is installed onto a disk: its image has the initramfs, and the
  // installer's layers stack on it.
  auto inst = Load("debian-installer.yaml");
  plan = Plan(inst, o_);
  ASSERT_TRUE(plan) << plan.error();
  EXPECT_TRUE(has(parents_of(*plan, "squashfs"), kInitrdStage));
  EXPECT_TRUE(has(parents_of(*plan, "installer-packages"), kInitrdStage));
}

TEST_F(PlanTest, PublicationsFollowTheTable) {
  auto p = Load("debian-live.yaml");
  p.output.formats = {profiles::Format::kOciArchive, profiles::Format::kIso};
  auto pubs = Publications(p);
  ASSERT_EQ(pubs.size(), 3u);
  EXPECT_EQ(pubs[0].name, "debian-live.oci.tar");
  EXPECT_EQ(pubs[1].name, "debian-live.iso");
  EXPECT_EQ(pubs[2].name, "SHA256SUMS");
}

}  // namespace
}  // namespace imager::stages
