// SPDX-License-Identifier: GPL-3.0-or-later
#include "inside/customize.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

namespace imager::inside {
namespace {

namespace fs = std::filesystem;

class CopyIntoImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("inroot-test-" + std::to_string(getpid()));
    fs::create_directories(dir_ / "image/etc");
    fs::create_directories(dir_ / "outside");
    fs::create_directories(dir_ / "src/sub");
    std::ofstream(dir_ / "src/a") << "a";
    std::ofstream(dir_ / "src/sub/b") << "b";
    chmod((dir_ / "src/sub/b").c_str(), 0750);
    fs::create_symlink("../a", dir_ / "src/sub/link");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string P(const std::string& rel) { return (dir_ / rel).string(); }
  fs::path dir_;
};

TEST_F(CopyIntoImageTest, CopiesTreeWithModesAndRelativeLinks) {
  ASSERT_TRUE(CopyIntoImage(P("image"), P("src") + "/", "/opt/x"));
  EXPECT_TRUE(fs::exists(dir_ / "image/opt/x/a"));
  struct stat st;
  ASSERT_EQ(stat(P("image/opt/x/sub/b").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0750u);
  EXPECT_EQ(fs::read_symlink(dir_ / "image/opt/x/sub/link"), "../a");
}

TEST_F(CopyIntoImageTest, SingleFileToPathOrIntoDirectory) {
  ASSERT_TRUE(CopyIntoImage(P("image"), P("src/a"), "/etc/renamed"));
  ASSERT_TRUE(CopyIntoImage(P("image"), P("src/a"), "/etc/dir/"));
  EXPECT_TRUE(fs::exists(dir_ / "image/etc/renamed"));
  EXPECT_TRUE(fs::exists(dir_ / "image/etc/dir/a"));
}

TEST_F(CopyIntoImageTest, SourceSymlinksThatLeaveTheTreeAreRefused) {
  fs::create_symlink("/etc/shadow", dir_ / "src/abs");
  auto st = CopyIntoImage(P("image"), P("src"), "/opt");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().find("src/abs: symlink to '/etc/shadow' leaves the copied tree"),
            std::string::npos)
      << st.error();
  fs::remove(dir_ / "src/abs");
  fs::create_symlink("../../outside", dir_ / "src/sub/up");
  st = CopyIntoImage(P("image"), P("src"), "/opt");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().find("leaves the copied tree"), std::string::npos) << st.error();
}

TEST_F(CopyIntoImageTest, DestinationSymlinksStayInsideTheImage) {
  // An image whose /etc/evil points "out" — absolute and with "..": both resolve in the image.
  fs::create_symlink(P("outside"), dir_ / "image/etc/evil");
  fs::create_symlink("../../../../../outside", dir_ / "image/etc/evil2");
  (void)CopyIntoImage(P("image"), P("src/a"), "/etc/evil/a");
  (void)CopyIntoImage(P("image"), P("src/a"), "/etc/evil2/a");
  EXPECT_TRUE(fs::is_empty(dir_ / "outside"));
  // A symlink at the destination itself is replaced, not written through.
  fs::create_symlink(P("outside/target"), dir_ / "image/etc/leaf");
  ASSERT_TRUE(CopyIntoImage(P("image"), P("src/a"), "/etc/leaf"));
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(dir_ / "image/etc/leaf")));
  EXPECT_TRUE(fs::is_empty(dir_ / "outside"));
}

TEST_F(CopyIntoImageTest, DotDotInTheImagePathIsRefused) {
  auto st = CopyIntoImage(P("image"), P("src/a"), "/etc/../../x");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().find("'..' is not allowed"), std::string::npos) << st.error();
}

}  // namespace
}  // namespace imager::inside
