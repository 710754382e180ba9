// SPDX-License-Identifier: GPL-3.0-or-later
#include "base/sha256.h"

#include <gtest/gtest.h>

#include "base/fd.h"
#include "base/fs.h"

namespace imager {

constexpr const char* kMillionA =
    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

TEST(Sha256Test, StandardVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')), kMillionA);
}

TEST(Sha256Test, StreamingEqualsOneShot) {
  Sha256 h;
  std::string chunk(1000, 'a');
  for (int i = 0; i < 1000; ++i) h.Update(chunk);
  EXPECT_EQ(h.FinalHex(), kMillionA);
}

TEST(Sha256Test, HashesFiles) {
  auto dir = MakeTempDir("/tmp", "sha256-test-");
  ASSERT_TRUE(dir) << dir.error();
  std::string path = *dir + "/a";
  ASSERT_TRUE(WriteFile(path, std::string(1000000, 'a')));
  auto digest = Sha256File(path);
  ASSERT_TRUE(digest) << digest.error();
  EXPECT_EQ(*digest, kMillionA);
  auto missing = Sha256File(*dir + "/missing");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), "open " + *dir + "/missing: No such file or directory");
  ASSERT_TRUE(RemoveTree(*dir));
}

}  // namespace imager
