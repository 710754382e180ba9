// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "base/fd.h"
#include "base/fs.h"
#include "base/owner_record.h"

namespace imager::formats::tar {
namespace {

class TarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir("/tmp", "imager-tar-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = *d;
    root_ = dir_ + "/root";
    ASSERT_EQ(mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((root_ + "/etc").c_str(), 0750), 0);
    ASSERT_TRUE(WriteFile(root_ + "/etc/b", "bee\n"));
    ASSERT_TRUE(WriteFile(root_ + "/etc/a", "a\n"));
    ASSERT_EQ(chmod((root_ + "/etc/a").c_str(), 04755), 0);
    ASSERT_EQ(symlink("b", (root_ + "/etc/link").c_str()), 0);
    ASSERT_EQ(link((root_ + "/etc/b").c_str(), (root_ + "/etc/hard").c_str()), 0);
    ASSERT_EQ(mkfifo((root_ + "/fifo").c_str(), 0600), 0);
    has_xattrs_ = setxattr((root_ + "/etc/a").c_str(), "user.imager", "v", 1, 0) == 0 &&
                  setxattr((root_ + "/etc/a").c_str(), "user.overlay.origin", "x", 1, 0) == 0;
  }
  void TearDown() override { (void)RemoveTree(dir_); }

  std::vector<std::string> Names(const std::string& tarball) {
    std::vector<std::string> out;
    archive* a = archive_read_new();
    archive_read_support_format_all(a);
    archive_read_support_filter_all(a);
    EXPECT_EQ(archive_read_open_filename(a, tarball.c_str(), 10240), ARCHIVE_OK);
    archive_entry* e;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) out.push_back(archive_entry_pathname(e));
    archive_read_free(a);
    return out;
  }

  std::string dir_, root_;
  bool has_xattrs_ = false;
};

TEST_F(TarTest, WriteIsSortedAndDeterministic) {
  WriteOptions o{.source_date_epoch = 1000};
  auto s1 = Write(root_, dir_ + "/1.tar.gz", o);
  ASSERT_TRUE(s1) << s1.error();
  utimensat(AT_FDCWD, (root_ + "/etc/b").c_str(), nullptr, 0);  // touching changes nothing
  auto s2 = Write(root_, dir_ + "/2.tar.gz", o);
  ASSERT_TRUE(s2) << s2.error();
  EXPECT_EQ(*ReadFile(dir_ + "/1.tar.gz"), *ReadFile(dir_ + "/2.tar.gz"));
  EXPECT_EQ(Names(dir_ + "/1.tar.gz"),
            (std::vector<std::string>{"./", "./etc/", "./etc/a", "./etc/b", "./etc/hard",
                                      "./etc/link", "./fifo"}));
  EXPECT_EQ(s1->entries, 7u);
  EXPECT_EQ(s1->bytes, 6u);  // "a\n" + "bee\n"; the hard link carries no data
}

TEST_F(TarTest, NewestMtimeReadsOnlyHeaders) {
  struct timespec times[2] = {{0, UTIME_OMIT}, {1600000000, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, (root_ + "/etc/b").c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
  times[1].tv_sec = 1700000000;
  ASSERT_EQ(utimensat(AT_FDCWD, (root_ + "/etc/a").c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
  for (const char* p : {"", "/etc", "/etc/link", "/fifo"}) {
    times[1].tv_sec = 1500000000;
    ASSERT_EQ(utimensat(AT_FDCWD, (root_ + p).c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
  }
  std::string out = dir_ + "/t.tar.gz";
  ASSERT_TRUE(Write(root_, out, {.dev_nodes = false}));
  auto t = NewestMtime(out);
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(*t, 1700000000);
  ASSERT_TRUE(WriteFile(dir_ + "/not.tar", "no archive here"));
  EXPECT_FALSE(NewestMtime(dir_ + "/not.tar"));
}

TEST_F(TarTest, DevGetsTheStandardNodesAsHeaders) {
  ASSERT_EQ(mkdir((root_ + "/dev").c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(root_ + "/dev/own", ""));
  ASSERT_TRUE(Write(root_, dir_ + "/d.tar", {.source_date_epoch = 5}));
  archive* a = archive_read_new();
  archive_read_support_format_all(a);
  ASSERT_EQ(archive_read_open_filename(a, (dir_ + "/d.tar").c_str(), 10240), ARCHIVE_OK);
  archive_entry* e;
  std::vector<std::string> dev;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    std::string n = archive_entry_pathname(e);
    if (n.rfind("./dev/", 0) != 0) continue;
    dev.push_back(n);
    if (n == "./dev/null") {
      EXPECT_EQ(archive_entry_filetype(e), static_cast<mode_t>(AE_IFCHR));
      EXPECT_EQ(archive_entry_rdevmajor(e), 1u);
      EXPECT_EQ(archive_entry_rdevminor(e), 3u);
      EXPECT_EQ(archive_entry_perm(e), 0666u);
    }
    if (n == "./dev/fd") {
      EXPECT_STREQ(archive_entry_symlink(e), "/proc/self/fd");
    }
  }
  archive_read_free(a);
  EXPECT_EQ(dev, (std::vector<std::string>{
                     "./dev/", "./dev/console", "./dev/fd", "./dev/full", "./dev/null", "./dev/own",
                     "./dev/ptmx", "./dev/pts/", "./dev/random", "./dev/shm/", "./dev/stderr",
                     "./dev/stdin", "./dev/stdout", "./dev/tty", "./dev/urandom", "./dev/zero"}));
}

TEST_F(TarTest, RoundTripKeepsModesLinksAndXattrs) {
  ASSERT_TRUE(Write(root_, dir_ + "/r.tar.zst", {}));
  std::string dest = dir_ + "/dest";
  ASSERT_EQ(mkdir(dest.c_str(), 0755), 0);
  auto r = Extract(dir_ + "/r.tar.zst", dest);
  ASSERT_TRUE(r) << r.error();
  struct stat a, b, h, d;
  ASSERT_EQ(lstat((dest + "/etc/a").c_str(), &a), 0);
  EXPECT_EQ(a.st_mode & 07777, 04755u);
  ASSERT_EQ(lstat((dest + "/etc").c_str(), &d), 0);
  EXPECT_EQ(d.st_mode & 07777, 0750u);
  ASSERT_EQ(lstat((dest + "/etc/b").c_str(), &b), 0);
  ASSERT_EQ(lstat((dest + "/etc/hard").c_str(), &h), 0);
  EXPECT_EQ(b.st_ino, h.st_ino);
  char target[16] = {};
  ASSERT_EQ(readlink((dest + "/etc/link").c_str(), target, sizeof target), 1);
  EXPECT_STREQ(target, "b");
  if (has_xattrs_) {
    char v[8] = {};
    EXPECT_EQ(getxattr((dest + "/etc/a").c_str(), "user.imager", v, sizeof v), 1);
    EXPECT_LT(getxattr((dest + "/etc/a").c_str(), "user.overlay.origin", v, sizeof v), 0)
        << "overlayfs bookkeeping must not be archived";
  }
}

// ca-certificates links hashes to names like this one; they must survive the C locale.
TEST_F(TarTest, RoundTripKeepsUtf8Names) {
  const std::string name = "F\xc5\x91tan\xc3\xbas\xc3\xadtv\xc3\xa1ny.pem";
  ASSERT_TRUE(WriteFile(root_ + "/etc/" + name, "cert\n"));
  ASSERT_EQ(symlink(name.c_str(), (root_ + "/etc/988a38cb.0").c_str()), 0);
  auto w = Write(root_, dir_ + "/u.tar.gz", {});
  ASSERT_TRUE(w) << w.error();
  std::string dest = dir_ + "/dest";
  ASSERT_EQ(mkdir(dest.c_str(), 0755), 0);
  auto r = Extract(dir_ + "/u.tar.gz", dest);
  ASSERT_TRUE(r) << r.error();
  char target[64] = {};
  ASSERT_EQ(readlink((dest + "/etc/988a38cb.0").c_str(), target, sizeof target - 1),
            static_cast<ssize_t>(name.size()));
  EXPECT_EQ(std::string(target), name);
  auto content = ReadFile(dest + "/etc/" + name);
  ASSERT_TRUE(content) << content.error();
  EXPECT_EQ(*content, "cert\n");
}

TEST_F(TarTest, ExtractRefusesEntriesOutsideTheDestination) {
  std::string evil = dir_ + "/evil.tar";
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  ASSERT_EQ(archive_write_open_filename(a, evil.c_str()), ARCHIVE_OK);
  for (const char* name : {"../escaped", "sub/../../escaped2"}) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, 0);
    archive_write_header(a, e);
    archive_entry_free(e);
  }
  archive_write_free(a);
  std::string dest = dir_ + "/dest";
  ASSERT_EQ(mkdir(dest.c_str(), 0755), 0);
  auto r = Extract(evil, dest);
  EXPECT_FALSE(r);
  EXPECT_NE(access((dir_ + "/escaped").c_str(), F_OK), 0);
  EXPECT_NE(access((dir_ + "/escaped2").c_str(), F_OK), 0);
}

TEST_F(TarTest, ExtractRefusesAFileReplacingTheDestination) {
  std::string evil = dir_ + "/dot.tar";
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  ASSERT_EQ(archive_write_open_filename(a, evil.c_str()), ARCHIVE_OK);
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, ".");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_perm(e, 0644);
  archive_entry_set_size(e, 0);
  archive_write_header(a, e);
  archive_entry_free(e);
  archive_write_free(a);
  std::string dest = dir_ + "/dest";
  ASSERT_EQ(mkdir(dest.c_str(), 0755), 0);
  auto r = Extract(evil, dest);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("would replace the root directory"), std::string::npos) << r.error();
  struct stat st;
  ASSERT_EQ(lstat(dest.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(TarTest, OverlayWhiteoutsBecomeOciMarkers) {
  // An upper dir: etc/ replaced (opaque), etc/gone deleted (a 0:0 character device where mknod
  // is allowed), etc/xgone deleted the Linux 6.7+ way (an empty file marked by an xattr).
  if (setxattr((root_ + "/etc").c_str(), "user.overlay.opaque", "y", 1, 0) != 0)
    GTEST_SKIP() << "no user xattrs on /tmp";
  ASSERT_TRUE(WriteFile(root_ + "/etc/xgone", ""));
  ASSERT_EQ(setxattr((root_ + "/etc/xgone").c_str(), "user.overlay.whiteout", "", 0, 0), 0);
  bool chr = mknod((root_ + "/etc/gone").c_str(), S_IFCHR | 0, makedev(0, 0)) == 0;
  WriteOptions o{.source_date_epoch = 7, .dev_nodes = false, .overlay_whiteouts = true};
  auto s = Write(root_, dir_ + "/w.tar", o);
  ASSERT_TRUE(s) << s.error();
  std::vector<std::string> want{"./", "./etc/", "./etc/.wh..wh..opq", "./etc/a", "./etc/b"};
  if (chr) want.push_back("./etc/.wh.gone");
  for (const char* n : {"./etc/hard", "./etc/link", "./etc/.wh.xgone", "./fifo"}) want.push_back(n);
  EXPECT_EQ(Names(dir_ + "/w.tar"), want);
  EXPECT_EQ(s->whiteouts, chr ? 3u : 2u);
  // Without the option the same tree is archived as it is.
  auto plain = Write(root_, dir_ + "/p.tar", {.dev_nodes = false});
  ASSERT_TRUE(plain) << plain.error();
  EXPECT_EQ(plain->whiteouts, 0u);
  auto names = Names(dir_ + "/p.tar");
  EXPECT_NE(std::find(names.begin(), names.end(), "./etc/xgone"), names.end());
}

// A cache entry moved through a registry (stages/remote_cache.h) comes back as it was: the
// overlay upper directory's whiteouts and opaque marks, owner records, links, modes and times.
TEST_F(TarTest, VerbatimRoundTripKeepsAnOverlayLayerAsItIs) {
  if (setxattr((root_ + "/etc").c_str(), "user.overlay.opaque", "y", 1, 0) != 0)
    GTEST_SKIP() << "no user xattrs on /tmp";
  ASSERT_EQ(setxattr((root_ + "/etc/b").c_str(), kOwnerXattr, "7:8", 3, 0), 0);
  ASSERT_TRUE(WriteFile(root_ + "/etc/xgone", ""));
  ASSERT_EQ(setxattr((root_ + "/etc/xgone").c_str(), "user.overlay.whiteout", "", 0, 0), 0);
  bool chr = mknod((root_ + "/etc/gone").c_str(), S_IFCHR | 0, makedev(0, 0)) == 0;
  ASSERT_EQ(mkdir((root_ + "/dev").c_str(), 0755), 0);
  ASSERT_EQ(unlink((root_ + "/fifo").c_str()), 0);  // not in layers; libarchive makes fifos
  struct timespec times[2] = {{0, UTIME_OMIT}, {123456, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, (root_ + "/etc/a").c_str(), times, AT_SYMLINK_NOFOLLOW), 0);
  WriteOptions o{.source_date_epoch = 7, .overlay_whiteouts = true, .verbatim = true};
  auto s = Write(root_, dir_ + "/v.tar.zst", o);
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->whiteouts, 0u);
  std::string out = dir_ + "/out";
  ASSERT_EQ(mkdir(out.c_str(), 0755), 0);
  auto r = Extract(dir_ + "/v.tar.zst", out, {.verbatim = true});
  ASSERT_TRUE(r) << r.error();
  EXPECT_TRUE(r->skipped_devices.empty());
  auto xattr = [](const std::string& path, const char* name) {
    char buf[64];
    ssize_t n = lgetxattr(path.c_str(), name, buf, sizeof buf);
    return n < 0 ? std::string("(none)") : std::string(buf, static_cast<size_t>(n));
  };
  EXPECT_EQ(xattr(out + "/etc", "user.overlay.opaque"), "y");
  EXPECT_EQ(xattr(out + "/etc/b", kOwnerXattr), "7:8");
  EXPECT_EQ(xattr(out + "/etc/xgone", "user.overlay.whiteout"), "");
  if (has_xattrs_) {
    EXPECT_EQ(xattr(out + "/etc/a", "user.overlay.origin"), "x");
  }
  struct stat a, b, hard, gone, dev;
  ASSERT_EQ(lstat((out + "/etc/a").c_str(), &a), 0);
  EXPECT_EQ(a.st_mode & 07777, 04755u);
  EXPECT_EQ(a.st_mtime, 123456);  // not clamped: the entry as it was
  ASSERT_EQ(lstat((out + "/etc/b").c_str(), &b), 0);
  ASSERT_EQ(lstat((out + "/etc/hard").c_str(), &hard), 0);
  EXPECT_EQ(b.st_ino, hard.st_ino);
  EXPECT_EQ(*ReadFile(out + "/etc/link"), "bee\n");
  ASSERT_EQ(lstat((out + "/dev").c_str(), &dev), 0);
  EXPECT_NE(access((out + "/dev/null").c_str(), F_OK), 0) << "verbatim adds no /dev nodes";
  if (chr) {
    ASSERT_EQ(lstat((out + "/etc/gone").c_str(), &gone), 0);
    EXPECT_TRUE(S_ISCHR(gone.st_mode));
    EXPECT_EQ(gone.st_rdev, makedev(0, 0));
  }
}

TEST_F(TarTest, RecordedOwnersAreTheEntriesOwners) {
  // Single-id mode: the sandbox records the owner a file should have (base/owner_record.h).
  if (setxattr((root_ + "/etc").c_str(), kOwnerXattr, "0:42", 4, 0) != 0)
    GTEST_SKIP() << "no user xattrs on /tmp";
  ASSERT_EQ(setxattr((root_ + "/etc/a").c_str(), kOwnerXattr, "7:8", 3, 0), 0);  // setuid
  auto s = Write(root_, dir_ + "/o.tar", {.dev_nodes = false});
  ASSERT_TRUE(s) << s.error();
  archive* a = archive_read_new();
  archive_read_support_format_all(a);
  ASSERT_EQ(archive_read_open_filename(a, (dir_ + "/o.tar").c_str(), 10240), ARCHIVE_OK);
  std::map<std::string, std::tuple<int64_t, int64_t, mode_t, bool>> seen;  // uid gid mode record
  archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    bool record = false;
    const char* name;
    const void* value;
    size_t size;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK)
      record = record || std::string(name) == kOwnerXattr;
    seen[archive_entry_pathname(e)] = {archive_entry_uid(e), archive_entry_gid(e),
                                       archive_entry_perm(e), record};
  }
  archive_read_free(a);
  EXPECT_EQ(seen["./etc/"], std::make_tuple(int64_t{0}, int64_t{42}, mode_t{0750}, false));
  EXPECT_EQ(seen["./etc/a"], std::make_tuple(int64_t{7}, int64_t{8}, mode_t{04755}, false));
  // Without a record the owner is the file's; a symlink cannot have one.
  EXPECT_EQ(std::get<0>(seen["./etc/b"]), static_cast<int64_t>(getuid()));
  EXPECT_EQ(std::get<0>(seen["./etc/link"]), static_cast<int64_t>(getuid()));
}

TEST_F(TarTest, UnknownSuffixIsAnError) {
  auto r = Write(root_, dir_ + "/x.rar", {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("unknown tarball suffix"), std::string::npos);
}

}  // namespace
}  // namespace imager::formats::tar
