// SPDX-License-Identifier: GPL-3.0-or-later
#include "oci/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "base/fd.h"
#include "base/fs.h"

namespace imager::oci {
namespace {

class ArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir("/tmp", "imager-oci-archive-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = *d;
    layout_ = dir_ + "/layout";
    ASSERT_TRUE(MakeDirs(layout_ + "/blobs/sha256"));
    ASSERT_TRUE(WriteFile(layout_ + "/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}\n"));
    ASSERT_TRUE(WriteFile(layout_ + "/index.json", "{}\n"));
    ASSERT_TRUE(WriteFile(layout_ + "/blobs/sha256/ab", "blob"));
  }
  void TearDown() override { (void)RemoveTree(dir_); }

  std::string dir_, layout_;
};

TEST_F(ArchiveTest, SortedRootOwnedAndDeterministic) {
  ASSERT_TRUE(WriteArchive(layout_, dir_ + "/1.tar", 1700000000));
  ASSERT_EQ(chmod((layout_ + "/index.json").c_str(), 0600), 0);  // modes are not the file's
  ASSERT_TRUE(WriteArchive(layout_, dir_ + "/2.tar", 1700000000));
  EXPECT_EQ(*ReadFile(dir_ + "/1.tar"), *ReadFile(dir_ + "/2.tar"));
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  ASSERT_EQ(archive_read_open_filename(a, (dir_ + "/1.tar").c_str(), 10240), ARCHIVE_OK);
  archive_entry* e;
  std::vector<std::string> names;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    names.push_back(archive_entry_pathname(e));
    EXPECT_EQ(archive_entry_uid(e), 0);
    EXPECT_EQ(archive_entry_mtime(e), 1700000000);
  }
  archive_read_free(a);
  EXPECT_EQ(names, (std::vector<std::string>{"blobs/", "blobs/sha256/", "blobs/sha256/ab",
                                             "index.json", "oci-layout"}));
}

TEST_F(ArchiveTest, RefusesWhatIsNotAFileOrDirectory) {
  ASSERT_EQ(symlink("ab", (layout_ + "/blobs/sha256/cd").c_str()), 0);
  auto st = WriteArchive(layout_, dir_ + "/x.tar", 0);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().find("blobs/sha256/cd is not a regular file or directory"),
            std::string::npos)
      << st.error();
}

}  // namespace
}  // namespace imager::oci
