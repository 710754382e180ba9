// SPDX-License-Identifier: GPL-3.0-or-later
#include "profiles/catalog.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/fs.h"

namespace imager::profiles {
namespace {

namespace fs = std::filesystem;

class CatalogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir(fs::temp_directory_path().string(), "imager-catalog-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = *d;
    fs::create_directories(dir_ + "/bin");
    fs::create_directories(dir_ + "/share/imager/profiles");
    fs::create_directories(dir_ + "/profiles/testdata");
  }
  void TearDown() override { ASSERT_TRUE(RemoveTree(dir_)); }
  void Write(const std::string& rel, const std::string& text) {
    std::ofstream(dir_ + "/" + rel) << text;
  }
  std::string dir_;
};

TEST_F(CatalogTest, DirectoriesNextToTheExecutable) {
  EXPECT_EQ(ShippedProfileDirs(dir_ + "/bin/imager"),
            (std::vector<std::string>{dir_ + "/profiles", dir_ + "/share/imager/profiles"}));
  EXPECT_TRUE(ShippedProfileDirs(dir_ + "/profiles/testdata/imager").empty());
}

TEST_F(CatalogTest, ListsNameAndDescriptionSortedAndMarksBrokenOnes) {
  const std::string good =
      "distribution: {family: debian}\nrepositories: [{suite: s, keyring: "
      "k.asc}]\n";
  Write("profiles/k.asc", "");
  Write("profiles/zeta.yaml", "name: zeta\ndescription: Last\n" + good);
  Write("profiles/alpha.yaml", "name: alpha\ndescription: First\n" + good);
  Write("profiles/broken.yaml", "name: broken\n");
  Write("profiles/notes.txt", "not a profile\n");
  Write("profiles/testdata/nested.yaml", "name: nested\n" + good);
  Write("share/imager/profiles/alpha.yaml", "name: alpha\ndescription: Shadowed\n" + good);
  auto list = ListShippedProfiles({dir_ + "/profiles", dir_ + "/share/imager/profiles"});
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].name, "alpha");
  EXPECT_EQ(list[0].description, "First");
  EXPECT_EQ(list[0].path, dir_ + "/profiles/alpha.yaml");
  EXPECT_EQ(list[1].name, "broken");
  EXPECT_EQ(list[1].error, dir_ + "/profiles/broken.yaml:1:1: distribution.family: missing " +
                               "(allowed: debian, rpm)");
  EXPECT_EQ(list[2].name, "zeta");
  EXPECT_EQ(list[2].error, "");
}

TEST_F(CatalogTest, FindProfileByNameOrPath) {
  Write("share/imager/profiles/live.yaml", "");
  std::vector<std::string> dirs = {dir_ + "/profiles", dir_ + "/share/imager/profiles"};
  EXPECT_EQ(FindProfile("live", dirs), dir_ + "/share/imager/profiles/live.yaml");
  EXPECT_EQ(FindProfile("live.yaml", dirs), "live.yaml");
  EXPECT_EQ(FindProfile("./live", dirs), "./live");
  EXPECT_EQ(FindProfile("other", dirs), "other");
}

}  // namespace
}  // namespace imager::profiles
