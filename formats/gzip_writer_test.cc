// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/gzip_writer.h"

#include <archive.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <libdeflate.h>
#include <unistd.h>

#include <random>
#include <string>

#include "base/fd.h"
#include "base/fs.h"
#include "formats/archive_util.h"

namespace imager::formats {
namespace {

class GzipWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir("/tmp", "imager-gzip-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = *d;
  }
  void TearDown() override { ASSERT_TRUE(RemoveTree(dir_)); }

  // Compresses `data` into a file (written in uneven slices, as libarchive's blocks come) and
  // returns the file's bytes.
  std::string Compress(const std::string& data, const GzipWriter::Options& o) {
    std::string path = dir_ + "/out.gz";
    UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    EXPECT_TRUE(fd.valid());
    GzipWriter gz(fd.get(), o);
    for (size_t at = 0, step = 1; at < data.size(); at += step, step = step * 3 % 100003 + 1)
      EXPECT_TRUE(gz.Write(data.data() + at, std::min(step, data.size() - at)));
    auto st = gz.Finish();
    EXPECT_TRUE(st) << st.error();
    auto bytes = ReadFile(path);
    EXPECT_TRUE(bytes) << bytes.error();
    return bytes ? *bytes : std::string();
  }

  // What libarchive (the reader imager's own extract uses) decompresses from `gz`: every member.
  static std::string Decompress(const std::string& gz) {
    ArchivePtr a(archive_read_new(), archive_read_free);
    archive_read_support_filter_gzip(a.get());
    archive_read_support_format_raw(a.get());
    EXPECT_EQ(archive_read_open_memory(a.get(), gz.data(), gz.size()), ARCHIVE_OK);
    archive_entry* e = nullptr;
    EXPECT_EQ(archive_read_next_header(a.get(), &e), ARCHIVE_OK) << archive_error_string(a.get());
    std::string out;
    char buf[1 << 16];
    la_ssize_t n;
    while ((n = archive_read_data(a.get(), buf, sizeof buf)) > 0) out.append(buf, n);
    EXPECT_EQ(n, 0) << archive_error_string(a.get());
    return out;
  }

  // Member by member with libdeflate's decompressor; the number of members in `*members`.
  static std::string Members(const std::string& gz, size_t* members) {
    libdeflate_decompressor* d = libdeflate_alloc_decompressor();
    std::string out;
    std::string buf(8u << 20, '\0');
    *members = 0;
    for (size_t at = 0; at < gz.size(); ++*members) {
      size_t in = 0, got = 0;
      auto rc = libdeflate_gzip_decompress_ex(d, gz.data() + at, gz.size() - at, buf.data(),
                                              buf.size(), &in, &got);
      EXPECT_EQ(rc, LIBDEFLATE_SUCCESS) << "member " << *members << " at byte " << at;
      if (rc != LIBDEFLATE_SUCCESS) break;
      out.append(buf.data(), got);
      at += in;
    }
    libdeflate_free_decompressor(d);
    return out;
  }

  static std::string Sample(size_t size) {
    // Half text that compresses, half noise that does not.
    std::mt19937 rng(7);
    std::string s;
    while (s.size() < size) {
      s += "usr/share/doc/package-" + std::to_string(rng() % 100) + "/changelog.Debian.gz\n";
      for (int i = 0; i < 40; ++i) s += static_cast<char>(rng());
    }
    s.resize(size);
    return s;
  }

  std::string dir_;
};

TEST_F(GzipWriterTest, MembersDecompressToTheInputWhateverTheThreads) {
  std::string data = Sample((3u << 20) + 12345);
  GzipWriter::Options one{.level = 6, .piece = 1u << 20, .threads = 1};
  GzipWriter::Options four = one;
  four.threads = 4;
  std::string a = Compress(data, one), b = Compress(data, four);
  EXPECT_EQ(a, b) << "the bytes depend on the number of threads";
  ASSERT_GT(a.size(), 18u);
  EXPECT_EQ(a.substr(0, 3), std::string("\x1f\x8b\x08", 3));
  EXPECT_EQ(a.substr(4, 4), std::string(4, '\0')) << "a member records a time";
  EXPECT_EQ(Decompress(a), data);
  size_t members = 0;
  EXPECT_EQ(Members(a, &members), data);
  EXPECT_EQ(members, 4u) << "one member per started MiB";
  EXPECT_LT(a.size(), data.size());
}

TEST_F(GzipWriterTest, AnEmptyInputIsOneEmptyMember) {
  std::string gz = Compress("", {});
  size_t members = 0;
  EXPECT_EQ(Members(gz, &members), "");
  EXPECT_EQ(members, 1u);
}

TEST_F(GzipWriterTest, AFailedWriteIsAnError) {
  UniqueFd full(open("/dev/full", O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(full.valid());
  GzipWriter gz(full.get(), {.level = 1, .piece = 64u << 10, .threads = 2});
  std::string data = Sample(1u << 20);
  Status st;
  for (int i = 0; i < 4 && st; ++i) st = gz.Write(data.data(), data.size());
  if (st) st = gz.Finish();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().find("gzip: write"), std::string::npos) << st.error();
}

TEST_F(GzipWriterTest, AbandonedWithoutFinishStopsItsThreads) {
  UniqueFd null(open("/dev/null", O_WRONLY | O_CLOEXEC));
  std::string data = Sample(1u << 20);
  {
    GzipWriter gz(null.get(), {.level = 1, .piece = 64u << 10, .threads = 3});
    ASSERT_TRUE(gz.Write(data.data(), data.size()));
  }  // the destructor joins the workers; the test would hang or crash otherwise
  SUCCEED();
}

}  // namespace
}  // namespace imager::formats
