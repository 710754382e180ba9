// SPDX-License-Identifier: GPL-3.0-or-later
#include "booter/modules.h"

#include <gtest/gtest.h>
#include <lzma.h>
#include <zstd.h>

namespace imager::booter {
namespace {

std::string Payload() {
  std::string s;
  for (int i = 0; i < 200000; ++i) s += static_cast<char>('a' + (i * 7919) % 26);
  return s;
}

TEST(ModulesTest, CompressionFromName) {
  EXPECT_EQ(CompressionOf("kernel/fs/isofs/isofs.ko"), Compression::kNone);
  EXPECT_EQ(CompressionOf("kernel/fs/isofs/isofs.ko.xz"), Compression::kXz);
  EXPECT_EQ(CompressionOf("isofs.ko.zst"), Compression::kZstd);
  EXPECT_EQ(CompressionOf("isofs.ko.gz"), Compression::kGzip);
}

TEST(ModulesTest, XzRoundTrip) {
  auto in = Payload();
  std::string packed(lzma_stream_buffer_bound(in.size()), '\0');
  size_t pos = 0;
  ASSERT_EQ(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, nullptr,
                                    reinterpret_cast<const uint8_t*>(in.data()), in.size(),
                                    reinterpret_cast<uint8_t*>(packed.data()), &pos, packed.size()),
            LZMA_OK);
  packed.resize(pos);
  auto out = Decompress(packed, Compression::kXz);
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(*out, in);
  EXPECT_FALSE(Decompress(packed.substr(0, packed.size() / 2), Compression::kXz));
}

TEST(ModulesTest, ZstdRoundTrip) {
  auto in = Payload();
  std::string packed(ZSTD_compressBound(in.size()), '\0');
  size_t n = ZSTD_compress(packed.data(), packed.size(), in.data(), in.size(), 3);
  ASSERT_FALSE(ZSTD_isError(n));
  packed.resize(n);
  auto out = Decompress(packed, Compression::kZstd);
  ASSERT_TRUE(out) << out.error();
  EXPECT_EQ(*out, in);
  EXPECT_FALSE(Decompress(packed.substr(0, packed.size() / 2), Compression::kZstd));
}

TEST(ModulesTest, MissingFileReportedAndLoadingGoesOn) {
  auto r = LoadModules({"no/such.ko", "/nonexistent/other.ko.xz"}, "/nonexistent-dir");
  ASSERT_EQ(r.errors.size(), 2u);
  EXPECT_EQ(r.errors[0], "open /nonexistent-dir/no/such.ko: No such file or directory");
  EXPECT_EQ(r.errors[1], "open /nonexistent/other.ko.xz: No such file or directory");
  EXPECT_EQ(r.loaded, 0u);
}

}  // namespace
}  // namespace imager::booter
