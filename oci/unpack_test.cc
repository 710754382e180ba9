// SPDX-License-Identifier: GPL-3.0-or-later
#include "oci/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/fs.h"
#include "base/owner_record.h"

namespace imager::oci {
namespace {

// An entry of a hand-made layer: a directory (name ends in '/'), a file, or a symlink.
struct TarEntry {
  std::string name;
  std::string content;
  std::string symlink;
  uint32_t uid = 0, gid = 0;
  mode_t mode = 0;  // 0: 0755 for directories, 0644 for files
};

class UnpackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir("/tmp", "imager-oci-unpack-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = *d;
    dest_ = dir_ + "/dest";
    ASSERT_EQ(mkdir(dest_.c_str(), 0755), 0);
  }
  void TearDown() override { (void)RemoveTree(dir_); }

  std::string MakeLayer(const std::string& name, const std::vector<TarEntry>& entries) {
    std::string path = dir_ + "/" + name;
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_add_filter_gzip(a);
    EXPECT_EQ(archive_write_open_filename(a, path.c_str()), ARCHIVE_OK);
    for (const auto& t : entries) {
      archive_entry* e = archive_entry_new();
      archive_entry_set_pathname(e, t.name.c_str());
      if (!t.name.empty() && t.name.back() == '/') {
        archive_entry_set_filetype(e, AE_IFDIR);
        archive_entry_set_perm(e, t.mode ? t.mode : 0755);
      } else if (!t.symlink.empty()) {
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_symlink(e, t.symlink.c_str());
        archive_entry_set_perm(e, 0777);
      } else {
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_perm(e, t.mode ? t.mode : 0644);
        archive_entry_set_size(e, static_cast<la_int64_t>(t.content.size()));
      }
      archive_entry_set_uid(e, t.uid);
      archive_entry_set_gid(e, t.gid);
      EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK);
      if (!t.content.empty()) archive_write_data(a, t.content.data(), t.content.size());
      archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
    return path;
  }

  bool Exists(const std::string& rel) {
    struct stat st;
    return lstat((dest_ + "/" + rel).c_str(), &st) == 0;
  }

  std::string dir_, dest_;
};

// Applies `layer` to `dest` as single-id mode would: in a child in a user namespace that maps
// only this process's ids (to 0), where no other owner can be set. 0: done; 77: no user
// namespace here; 1: the unpack failed.
int ApplyInSingleIdNamespace(const std::string& layer, const std::string& dest) {
  pid_t pid = fork();
  if (pid == 0) {
    // Child: alone in a new user namespace; reports through its exit status only.
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (unshare(CLONE_NEWUSER) != 0) _exit(77);
    std::string u = "0 " + std::to_string(uid) + " 1", g = "0 " + std::to_string(gid) + " 1";
    (void)WriteFile("/proc/self/setgroups", "deny");
    if (!WriteFile("/proc/self/uid_map", u) || !WriteFile("/proc/self/gid_map", g)) _exit(77);
    _exit(ApplyLayer(layer, "layer", dest) ? 0 : 1);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return 1;
  return WEXITSTATUS(status);
}

std::string Record(const std::string& path) {
  char v[32];
  ssize_t n = lgetxattr(path.c_str(), kOwnerXattr, v, sizeof v);
  return n < 0 ? "" : std::string(v, static_cast<size_t>(n));
}

TEST_F(UnpackTest, OwnersThatCannotBeSetAreRecorded) {
  if (setxattr(dest_.c_str(), "user.test", "v", 1, 0) != 0)
    GTEST_SKIP() << "no user xattrs on /tmp";
  auto l1 = MakeLayer("l1.tar.gz", {{"./etc/", "", "", 0, 42, 02775},
                                    {"./etc/chage", "x", "", 0, 42, 02755},
                                    {"./etc/sudo", "x", "", 7, 8, 04755},
                                    {"./etc/plain", "x"},
                                    {"./etc/link", "", "plain", 5, 5}});
  int rc = ApplyInSingleIdNamespace(l1, dest_);
  if (rc == 77) GTEST_SKIP() << "no user namespaces here";
  ASSERT_EQ(rc, 0);
  struct stat st;
  EXPECT_EQ(Record(dest_ + "/etc"), "0:42");
  ASSERT_EQ(lstat((dest_ + "/etc").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 02775u);
  EXPECT_EQ(Record(dest_ + "/etc/chage"), "0:42");
  ASSERT_EQ(lstat((dest_ + "/etc/chage").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 02755u) << "the set-gid bit stays with its recorded owner";
  EXPECT_EQ(Record(dest_ + "/etc/sudo"), "7:8");
  ASSERT_EQ(lstat((dest_ + "/etc/sudo").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  EXPECT_EQ(Record(dest_ + "/etc/plain"), "") << "a root-owned entry needs no record";
  EXPECT_EQ(Record(dest_ + "/etc/link"), "") << "symlinks cannot carry one";
  EXPECT_EQ(Record(dest_), "");

  // An upper layer that gives the directory back to root drops the lower layer's record.
  auto l2 = MakeLayer("l2.tar.gz", {{"./etc/", "", "", 0, 0, 0755}});
  ASSERT_EQ(ApplyInSingleIdNamespace(l2, dest_), 0);
  EXPECT_EQ(Record(dest_ + "/etc"), "");
  EXPECT_EQ(Record(dest_ + "/etc/chage"), "0:42");
}

TEST_F(UnpackTest, WhiteoutsRemoveLowerEntriesOnly) {
  auto l1 = MakeLayer("l1.tar.gz", {{"./a/"},
                                    {"./a/x", "x"},
                                    {"./a/y", "y"},
                                    {"./b/"},
                                    {"./b/old", "old"},
                                    {"./b/sub/"},
                                    {"./b/sub/deep", "deep"},
                                    {"./c/"},
                                    {"./c/tree/"},
                                    {"./c/tree/f", "f"}});
  // The opaque marker comes after b/new: whiteouts apply to lower layers whatever the order.
  auto l2 = MakeLayer("l2.tar.gz", {{"./a/"},
                                    {"./a/.wh.x"},
                                    {"./b/"},
                                    {"./b/new", "new"},
                                    {"./b/.wh..wh..opq"},
                                    {"./c/.wh.tree"},
                                    {"./c/.wh.never-existed"}});
  auto r1 = ApplyLayer(l1, "layer 1", dest_);
  ASSERT_TRUE(r1) << r1.error();
  auto r2 = ApplyLayer(l2, "layer 2", dest_);
  ASSERT_TRUE(r2) << r2.error();
  EXPECT_FALSE(Exists("a/x"));
  EXPECT_TRUE(Exists("a/y"));
  EXPECT_FALSE(Exists("b/old"));
  EXPECT_FALSE(Exists("b/sub"));
  EXPECT_TRUE(Exists("b/new"));
  EXPECT_TRUE(Exists("b"));
  EXPECT_FALSE(Exists("c/tree"));
  EXPECT_TRUE(Exists("c"));
  EXPECT_FALSE(Exists("a/.wh.x"));
  EXPECT_FALSE(Exists("b/.wh..wh..opq"));
  EXPECT_EQ(r2->whiteouts, 4u);
  auto content = ReadFile(dest_ + "/b/new");
  ASSERT_TRUE(content);
  EXPECT_EQ(*content, "new");
}

TEST_F(UnpackTest, UpperFileReplacesLowerSymlinkWithoutFollowingIt) {
  ASSERT_TRUE(WriteFile(dir_ + "/outside", "keep"));
  auto l1 = MakeLayer("l1.tar.gz", {{"./link", "", dir_ + "/outside"}});
  auto l2 = MakeLayer("l2.tar.gz", {{"./link", "upper"}});
  ASSERT_TRUE(ApplyLayer(l1, "layer 1", dest_));
  ASSERT_TRUE(ApplyLayer(l2, "layer 2", dest_));
  EXPECT_EQ(*ReadFile(dir_ + "/outside"), "keep");
  EXPECT_EQ(*ReadFile(dest_ + "/link"), "upper");
}

TEST_F(UnpackTest, WhiteoutThroughSymlinkStaysInside) {
  ASSERT_EQ(mkdir((dir_ + "/victim").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(dir_ + "/victim/file", "keep"));
  auto l1 = MakeLayer("l1.tar.gz", {{"./escape", "", dir_ + "/victim"}});
  auto l2 = MakeLayer("l2.tar.gz", {{"./escape/.wh.file"}, {"./escape/.wh..wh..opq"}});
  ASSERT_TRUE(ApplyLayer(l1, "layer 1", dest_));
  (void)ApplyLayer(l2, "layer 2", dest_);  // may fail; must not touch the victim
  auto kept = ReadFile(dir_ + "/victim/file");
  ASSERT_TRUE(kept) << kept.error();
  EXPECT_EQ(*kept, "keep");
}

TEST_F(UnpackTest, SymlinkReplacingTheDestinationIsRefused) {
  auto l = MakeLayer("dot.tar.gz", {{".", "", "/"}});
  auto r = ApplyLayer(l, "layer sha256:abc", dest_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("would replace the root directory"), std::string::npos) << r.error();
  struct stat st;
  ASSERT_EQ(lstat(dest_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(UnpackTest, DotDotIsRefusedNamingTheLayer) {
  auto l = MakeLayer("bad.tar.gz", {{"./a/../../evil", "x"}});
  auto r = ApplyLayer(l, "layer sha256:abc", dest_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("layer sha256:abc"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find(".."), std::string::npos) << r.error();
  EXPECT_NE(access((dir_ + "/evil").c_str(), F_OK), 0);
}

}  // namespace
}  // namespace imager::oci
