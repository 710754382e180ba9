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

TEST_F(CatalogTest, ListsNameDescriptionAndOriginSortedAndMarksBrokenOnes) {
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
  auto list =
      ListProfiles({{dir_ + "/profiles", "user"}, {dir_ + "/share/imager/profiles", "package"}});
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].name, "alpha");
  EXPECT_EQ(list[0].description, "First");
  EXPECT_EQ(list[0].origin, "user");
  EXPECT_EQ(list[0].path, dir_ + "/profiles/alpha.yaml");
  EXPECT_EQ(list[1].name, "broken");
  EXPECT_EQ(list[1].error, dir_ + "/profiles/broken.yaml:1:1: distribution.family: missing " +
                               "(allowed: debian, rpm)");
  EXPECT_EQ(list[2].name, "zeta");
  EXPECT_EQ(list[2].error, "");
}

TEST_F(CatalogTest, SearchPathInOrderEachDirectoryOnce) {
  SearchEnv env{.xdg_config_home = "",
                .home = "/home/u",
                .exe = dir_ + "/bin/imager",
                .system_dirs = {"/etc/imager/profiles", dir_ + "/share/imager/profiles"}};
  auto path = ProfileSearchPath(env);
  std::vector<std::string> got;
  for (const auto& d : path) got.push_back(d.path + " " + d.origin);
  EXPECT_EQ(got, (std::vector<std::string>{
                     ". current directory", "/home/u/.config/imager/profiles user",
                     "/etc/imager/profiles system", dir_ + "/share/imager/profiles package",
                     dir_ + "/profiles shipped"}));
  env.xdg_config_home = "/x";
  EXPECT_EQ(ProfileSearchPath(env)[1].path, "/x/imager/profiles");
  env.xdg_config_home = env.home = "";
  EXPECT_EQ(UserProfileDir(env), "");
  EXPECT_EQ(ProfileSearchPath(env)[1].origin, "system");
}

TEST_F(CatalogTest, FindProfileByNameOrPath) {
  Write("share/imager/profiles/live.yaml", "");
  Write("profiles/live.yaml", "");
  std::vector<ProfileDir> dirs = {{dir_ + "/none", "user"},
                                  {dir_ + "/share/imager/profiles", "package"},
                                  {dir_ + "/profiles", "shipped"}};
  EXPECT_EQ(*FindProfile("live", dirs), dir_ + "/share/imager/profiles/live.yaml");
  EXPECT_EQ(*FindProfile("live.yaml", dirs), "live.yaml");
  EXPECT_EQ(*FindProfile("./live", dirs), "./live");
  auto missing = FindProfile("other", dirs);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), "no profile named 'other' (looked for other.yaml in " + dir_ +
                                 "/none, " + dir_ + "/share/imager/profiles, " + dir_ +
                                 "/profiles; 'imager profile list' shows the profiles found, a "
                                 "path is used as it is)");
}

}  // namespace
}  // namespace imager::profiles
