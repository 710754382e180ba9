// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/initramfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "base/fd.h"
#include "base/fs.h"

namespace imager::formats::initramfs {
namespace {

struct Member {
  mode_t type = 0;
  uint32_t perm = 0;
  int64_t uid = -1, gid = -1, mtime = -1, ino = -1;
  unsigned nlink = 0;
  std::string symlink, content;
};

class InitramfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir("/tmp", "imager-initramfs-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = *d;
    ASSERT_TRUE(WriteFile(dir_ + "/init", "#!/bin/sh\necho init\n"));
    ASSERT_EQ(chmod((dir_ + "/init").c_str(), 0700), 0);
    ASSERT_TRUE(WriteFile(dir_ + "/virtio_blk.ko.xz", std::string("\xfd"
                                                                  "7zXZ\0module",
                                                                  12)));
    ASSERT_TRUE(WriteFile(dir_ + "/isofs.ko.zst", std::string("\x28\xb5\x2f\xfd"
                                                              "zst",
                                                              7)));
    ASSERT_TRUE(WriteFile(dir_ + "/loop.ko", "plain module"));
  }
  void TearDown() override { (void)RemoveTree(dir_); }

  std::vector<Entry> Sample() {
    const std::string m = "lib/modules/6.1.0/kernel/";
    return {
        {"/init", Entry::kFile, dir_ + "/init"},
        {m + "drivers/block/virtio_blk.ko.xz", Entry::kFile, dir_ + "/virtio_blk.ko.xz"},
        {m + "fs/isofs/isofs.ko.zst", Entry::kFile, dir_ + "/isofs.ko.zst"},
        {m + "drivers/block/loop.ko", Entry::kFile, dir_ + "/loop.ko"},
        {"etc/imager-booter.conf", Entry::kFile, "", "probe=cdrom\n", 0600},
        {"bin/sh", Entry::kSymlink, "busybox"},
        {"run", Entry::kDir, "", "", 0700},
        {"empty", Entry::kFile},
    };
  }

  std::string Out(const std::string& name) { return dir_ + "/" + name; }

  // Members in archive order, read back with libarchive.
  std::vector<std::pair<std::string, Member>> Read(const std::string& path) {
    std::vector<std::pair<std::string, Member>> out;
    archive* a = archive_read_new();
    archive_read_support_format_all(a);
    archive_read_support_filter_all(a);
    EXPECT_EQ(archive_read_open_filename(a, path.c_str(), 10240), ARCHIVE_OK)
        << archive_error_string(a);
    archive_entry* e;
    int rc;
    while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
      EXPECT_EQ(archive_format(a), ARCHIVE_FORMAT_CPIO_SVR4_NOCRC);
      Member m;
      m.type = archive_entry_filetype(e);
      m.perm = archive_entry_perm(e);
      m.uid = archive_entry_uid(e);
      m.gid = archive_entry_gid(e);
      m.mtime = archive_entry_mtime(e);
      m.ino = archive_entry_ino64(e);
      m.nlink = archive_entry_nlink(e);
      if (const char* s = archive_entry_symlink(e)) m.symlink = s;
      char buf[4096];
      la_ssize_t n;
      while ((n = archive_read_data(a, buf, sizeof buf)) > 0)
        m.content.append(buf, static_cast<size_t>(n));
      out.emplace_back(archive_entry_pathname(e), m);
    }
    EXPECT_EQ(rc, ARCHIVE_EOF) << archive_error_string(a);
    archive_read_free(a);
    return out;
  }

  std::string Bytes(const std::string& path) {
    auto s = ReadFile(path);
    EXPECT_TRUE(s) << s.error();
    return s ? *s : "";
  }

  std::string dir_;
};

TEST_F(InitramfsTest, RebuildIsBitIdentical) {
  WriteOptions o{.output = Out("1.img"), .source_date_epoch = 1700000000};
  auto r1 = Write(Sample(), o);
  ASSERT_TRUE(r1) << r1.error();
  ASSERT_EQ(utimes((dir_ + "/loop.ko").c_str(), nullptr), 0);  // new source mtimes change nothing
  o.output = Out("2.img");
  auto r2 = Write(Sample(), o);
  ASSERT_TRUE(r2) << r2.error();
  EXPECT_EQ(Bytes(Out("1.img")), Bytes(Out("2.img")));
  EXPECT_EQ(r1->output_bytes, Bytes(Out("1.img")).size());
  EXPECT_EQ(access(Out("1.img.part").c_str(), F_OK), -1);
  // zstd frame magic: the default compression.
  EXPECT_EQ(Bytes(Out("1.img")).substr(0, 4), std::string("\x28\xb5\x2f\xfd", 4));
}

TEST_F(InitramfsTest, ReadBackMembers) {
  auto r = Write(Sample(), {.output = Out("i.img"), .source_date_epoch = 1234});
  ASSERT_TRUE(r) << r.error();
  auto members = Read(Out("i.img"));
  std::vector<std::string> names;
  for (const auto& [n, m] : members) names.push_back(n);
  const std::string m = "lib/modules/6.1.0/kernel/";
  std::vector<std::string> want = {"bin",
                                   "bin/sh",
                                   "empty",
                                   "etc",
                                   "etc/imager-booter.conf",
                                   "init",
                                   "lib",
                                   "lib/modules",
                                   "lib/modules/6.1.0",
                                   "lib/modules/6.1.0/kernel",
                                   m + "drivers",
                                   m + "drivers/block",
                                   m + "drivers/block/loop.ko",
                                   m + "drivers/block/virtio_blk.ko.xz",
                                   m + "fs",
                                   m + "fs/isofs",
                                   m + "fs/isofs/isofs.ko.zst",
                                   "run"};
  EXPECT_EQ(names, want);
  EXPECT_EQ(r->entries, want.size());
  std::map<std::string, Member> by_name(members.begin(), members.end());
  std::set<int64_t> inodes;
  for (const auto& [n, mem] : members) {
    EXPECT_EQ(mem.uid, 0) << n;
    EXPECT_EQ(mem.gid, 0) << n;
    EXPECT_EQ(mem.mtime, 1234) << n;
    EXPECT_EQ(mem.nlink, mem.type == AE_IFDIR ? 2u : 1u) << n;
    inodes.insert(mem.ino);
  }
  EXPECT_EQ(inodes.size(), members.size());  // numbered 1..N
  EXPECT_EQ(*inodes.begin(), 1);
  EXPECT_EQ(*inodes.rbegin(), static_cast<int64_t>(members.size()));

  EXPECT_EQ(by_name["init"].perm, 0755u);  // executable source
  EXPECT_EQ(by_name["init"].content, "#!/bin/sh\necho init\n");
  EXPECT_EQ(by_name["etc/imager-booter.conf"].perm, 0600u);
  EXPECT_EQ(by_name["etc/imager-booter.conf"].content, "probe=cdrom\n");
  EXPECT_EQ(by_name["bin/sh"].type, AE_IFLNK);
  EXPECT_EQ(by_name["bin/sh"].symlink, "busybox");
  EXPECT_EQ(by_name["run"].type, AE_IFDIR);
  EXPECT_EQ(by_name["run"].perm, 0700u);
  EXPECT_EQ(by_name["lib"].perm, 0755u);
  EXPECT_EQ(by_name["empty"].type, AE_IFREG);
  EXPECT_EQ(by_name["empty"].content, "");
  EXPECT_EQ(by_name["empty"].perm, 0644u);
  // Compressed modules are copied as they are.
  EXPECT_EQ(by_name[m + "drivers/block/virtio_blk.ko.xz"].content, std::string("\xfd"
                                                                               "7zXZ\0module",
                                                                               12));
  EXPECT_EQ(by_name[m + "fs/isofs/isofs.ko.zst"].content, std::string("\x28\xb5\x2f\xfd"
                                                                      "zst",
                                                                      7));
  EXPECT_EQ(by_name[m + "drivers/block/loop.ko"].perm, 0644u);
  EXPECT_EQ(r->bytes, 20u + 12u + 7u + 12u + 12u);
}

TEST_F(InitramfsTest, OrderOfInputDoesNotMatter) {
  auto entries = Sample();
  ASSERT_TRUE(Write(entries, {.output = Out("a.img")}));
  std::reverse(entries.begin(), entries.end());
  ASSERT_TRUE(Write(entries, {.output = Out("b.img")}));
  std::rotate(entries.begin(), entries.begin() + 3, entries.end());
  ASSERT_TRUE(Write(entries, {.output = Out("c.img")}));
  EXPECT_EQ(Bytes(Out("a.img")), Bytes(Out("b.img")));
  EXPECT_EQ(Bytes(Out("a.img")), Bytes(Out("c.img")));
}

TEST_F(InitramfsTest, EveryCompressionReadsBack) {
  for (auto c : {Compression::kNone, Compression::kGzip, Compression::kXz, Compression::kZstd}) {
    std::string out = Out(std::string("c-") + CompressionName(c));
    auto r = Write(Sample(), {.output = out, .compression = c, .level = 1});
    ASSERT_TRUE(r) << CompressionName(c) << ": " << r.error();
    auto members = Read(out);
    EXPECT_EQ(members.size(), r->entries) << CompressionName(c);
    ASSERT_TRUE(Write(Sample(), {.output = out + ".again", .compression = c, .level = 1}));
    EXPECT_EQ(Bytes(out), Bytes(out + ".again")) << CompressionName(c);
  }
  std::string none = Bytes(Out("c-none"));
  EXPECT_EQ(none.substr(0, 6), "070701");                    // newc magic
  EXPECT_EQ(none.size() % 4, 0u);                            // no block padding, 4-byte aligned
  EXPECT_NE(none.find("TRAILER!!!"), std::string::npos);     // cpio end marker
  EXPECT_EQ(Bytes(Out("c-gzip")).substr(0, 2), "\x1f\x8b");  // gzip, no timestamp below
  EXPECT_EQ(Bytes(Out("c-gzip")).substr(4, 4), std::string(4, '\0'));
  EXPECT_EQ(Bytes(Out("c-xz")).substr(0, 6), std::string("\xfd"
                                                         "7zXZ\0",
                                                         6));
  EXPECT_EQ(Bytes(Out("c-xz"))[7], '\x01');  // CRC32 check: the kernel's decoder has no CRC64
  EXPECT_TRUE(ParseCompression("zstd"));
  EXPECT_FALSE(ParseCompression("lz4"));
}

// The host's own tools agree: zstd -dc | cpio -t lists the same members.
TEST_F(InitramfsTest, HostCpioListsMembers) {
  if (system("command -v cpio >/dev/null && command -v zstd >/dev/null") != 0)
    GTEST_SKIP() << "cpio or zstd not installed";
  ASSERT_TRUE(Write(Sample(), {.output = Out("t.img")}));
  std::string cmd = "zstd -dc '" + Out("t.img") + "' | cpio -t --quiet 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string listing;
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) listing.append(buf, n);
  EXPECT_EQ(pclose(p), 0) << listing;
  EXPECT_EQ(listing.substr(0, 11), "bin\nbin/sh\n");
  EXPECT_NE(listing.find("\nlib/modules/6.1.0/kernel/fs/isofs/isofs.ko.zst\n"), std::string::npos)
      << listing;
  EXPECT_EQ(std::count(listing.begin(), listing.end(), '\n'), 18);
}

TEST_F(InitramfsTest, DuplicatePathIsAnError) {
  auto entries = Sample();
  entries.push_back({"./etc/imager-booter.conf", Entry::kFile, "", "x"});
  auto r = Write(entries, {.output = Out("d.img")});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("duplicate path etc/imager-booter.conf"), std::string::npos)
      << r.error();
  EXPECT_EQ(access(Out("d.img").c_str(), F_OK), -1);
  EXPECT_EQ(access(Out("d.img.part").c_str(), F_OK), -1);
}

TEST_F(InitramfsTest, MissingSourceIsAnErrorNamingIt) {
  auto entries = Sample();
  entries.push_back({"lib/firmware/x.bin", Entry::kFile, dir_ + "/no-such-file"});
  auto r = Write(entries, {.output = Out("m.img")});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find(dir_ + "/no-such-file"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("No such file"), std::string::npos) << r.error();
  EXPECT_EQ(access(Out("m.img").c_str(), F_OK), -1);
  EXPECT_EQ(access(Out("m.img.part").c_str(), F_OK), -1);
}

TEST_F(InitramfsTest, BadEntriesAreErrors) {
  auto err = [&](std::vector<Entry> entries) {
    auto r = Write(entries, {.output = Out("bad.img")});
    return r ? std::string("(no error)") : r.error();
  };
  EXPECT_NE(err({{"a/../b", Entry::kFile}}).find("'..'"), std::string::npos);
  EXPECT_NE(err({{"/", Entry::kDir}}).find("empty path"), std::string::npos);
  EXPECT_NE(err({{"l", Entry::kSymlink}}).find("symlink without a target"), std::string::npos);
  EXPECT_NE(err({{"f", Entry::kFile, "", "x"}, {"f/g", Entry::kFile}}).find("f is not a directory"),
            std::string::npos);
  EXPECT_NE(err({{"d", Entry::kDir}, {"d", Entry::kDir}}).find("duplicate path d"),
            std::string::npos);
  EXPECT_NE(err({{"dir", Entry::kFile, dir_}}).find("not a regular file"), std::string::npos);
  EXPECT_NE(err({{"f", Entry::kFile, "", "", 010644}}).find("outside 07777"), std::string::npos);
  auto r = Write({{"f", Entry::kFile}}, {.output = Out("n.img"), .source_date_epoch = -1});
  EXPECT_FALSE(r);
}

}  // namespace
}  // namespace imager::formats::initramfs
