// SPDX-License-Identifier: GPL-3.0-or-later
#include "base/owner_record.h"

#include <gtest/gtest.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>

#include "base/fd.h"
#include "base/fs.h"

namespace imager {
namespace {

TEST(OwnerRecordTest, ParsesOnlyTwoDecimalIds) {
  EXPECT_EQ(ParseOwnerRecord("0:42"), (RecordedOwner{0, 42}));
  EXPECT_EQ(ParseOwnerRecord("65534:65534"), (RecordedOwner{65534, 65534}));
  for (const char* bad :
       {"", ":", "1:", ":1", "1:2:3", "a:1", "1:b", "-1:0", "1 :2", "99999999999:0"})
    EXPECT_FALSE(ParseOwnerRecord(bad)) << bad;
  EXPECT_EQ(FormatOwnerRecord({0, 42}), "0:42");
}

TEST(OwnerRecordTest, AppliesTheAttributeOfRegularFiles) {
  char dir[] = "/tmp/owner-record-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string file = std::string(dir) + "/f";
  ASSERT_TRUE(WriteFile(file, "x"));
  struct stat st;
  ASSERT_EQ(lstat(file.c_str(), &st), 0);
  uid_t uid = st.st_uid;
  ApplyOwnerRecord(file, &st);
  EXPECT_EQ(st.st_uid, uid);  // nothing recorded: the file system's owner
  if (lsetxattr(file.c_str(), kOwnerXattr, "0:42", 4, 0) != 0) {
    (void)RemoveTree(dir);
    GTEST_SKIP() << "no user xattrs on /tmp";
  }
  ApplyOwnerRecord(file, &st);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_gid, 42u);
  (void)RemoveTree(dir);
}

}  // namespace
}  // namespace imager
