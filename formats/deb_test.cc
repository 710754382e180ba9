// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/deb.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace imager::formats::deb {
namespace {

namespace fs = std::filesystem;

TEST(DebTest, ParseControlJoinsContinuationLines) {
  auto f = ParseControl(
      "Package: base-files\nEssential: yes\nDescription: Debian base system\n misc files\n .\n"
      " more\nDepends: a\n");
  EXPECT_EQ(f["Package"], "base-files");
  EXPECT_EQ(f["Essential"], "yes");
  EXPECT_EQ(f["Description"], "Debian base system\nmisc files\n.\nmore");
  EXPECT_EQ(f["Depends"], "a");
}

TEST(DebTest, ParseRelationsDropsVersionsAndQualifiers) {
  auto r = ParseRelations(
      "libc6 (>= 2.34), perl:any | perl-base [amd64], debconf (>= 0.5) | "
      "debconf-2.0,  ");
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0], (std::vector<std::string>{"libc6"}));
  EXPECT_EQ(r[1], (std::vector<std::string>{"perl", "perl-base"}));
  EXPECT_EQ(r[2], (std::vector<std::string>{"debconf", "debconf-2.0"}));
  EXPECT_TRUE(ParseRelations("").empty());
}

class DebFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (system("command -v dpkg-deb >/dev/null") != 0) GTEST_SKIP() << "dpkg-deb missing";
    dir_ = fs::temp_directory_path() / ("deb-test-" + std::to_string(getpid()));
    fs::create_directories(dir_ / "pkg/DEBIAN");
    fs::create_directories(dir_ / "pkg/usr/bin");
    std::ofstream(dir_ / "pkg/DEBIAN/control")
        << "Package: demo\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@e.invalid>\n"
           "Pre-Depends: libc6\nDescription: demo\n";
    std::ofstream(dir_ / "pkg/usr/bin/demo") << "#!/bin/sh\n";
    chmod((dir_ / "pkg/usr/bin/demo").c_str(), 0755);
    fs::create_symlink("demo", dir_ / "pkg/usr/bin/demo2");
    std::string cmd = "dpkg-deb --root-owner-group -Zxz --build " + (dir_ / "pkg").string() + " " +
                      (dir_ / "demo.deb").string() + " >/dev/null";
    ASSERT_EQ(system(cmd.c_str()), 0);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(DebFileTest, ReadsControlFields) {
  auto f = ReadControl((dir_ / "demo.deb").string());
  ASSERT_TRUE(f) << f.error();
  EXPECT_EQ((*f)["Package"], "demo");
  EXPECT_EQ((*f)["Pre-Depends"], "libc6");
}

TEST_F(DebFileTest, ExtractsDataWithModesAndLinks) {
  fs::create_directories(dir_ / "root");
  auto r = ExtractData((dir_ / "demo.deb").string(), (dir_ / "root").string());
  ASSERT_TRUE(r) << r.error();
  struct stat st;
  ASSERT_EQ(lstat((dir_ / "root/usr/bin/demo").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_EQ(fs::read_symlink(dir_ / "root/usr/bin/demo2"), "demo");
  EXPECT_FALSE(fs::exists(dir_ / "root/DEBIAN"));
}

TEST_F(DebFileTest, NotADebIsAClearError) {
  auto r = ReadControl((dir_ / "pkg/DEBIAN/control").string());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("control"), std::string::npos) << r.error();
}

}  // namespace
}  // namespace imager::formats::deb
