// SPDX-License-Identifier: GPL-3.0-or-later
#include "repo/openpgp.h"

#include <gtest/gtest.h>

#include <memory>

#include "base/fd.h"
#include "base/fs.h"
#include "repo/testing/deb_repo.h"

namespace imager::repo {
namespace {

namespace fs = std::filesystem;
using test::GpgKey;

constexpr const char* kText = "Origin: Test\nSuite: testing\n- a line starting with a dash\n";

class OpenPgpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::string m = test::MissingTools(); !m.empty()) {
      missing_ = m;
      return;
    }
    dir_ = *MakeTempDir("/tmp", "imager-openpgp-test-");
    for (const char* d : {"/good", "/other", "/old", "/files"}) fs::create_directories(dir_ + d);
    good_ = new GpgKey(dir_ + "/good", "Imager Test Good <good@example.invalid>");
    other_ = new GpgKey(dir_ + "/other", "Imager Test Other <other@example.invalid>");
    expired_ =
        new GpgKey(dir_ + "/old", "Imager Test Old <old@example.invalid>", "1d", "20200101T000000");
  }
  static void TearDownTestSuite() {
    delete good_;
    delete other_;
    delete expired_;
    if (!dir_.empty()) (void)RemoveTree(dir_);
  }
  void SetUp() override {
    if (!missing_.empty()) GTEST_SKIP() << "missing tools: " << missing_;
    ASSERT_TRUE(good_->ok() && other_->ok() && expired_->ok()) << "gpg key generation failed";
    files_ = dir_ + "/files/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(files_);
    ASSERT_TRUE(WriteFile(files_ + "/Release", kText));
  }
  std::string Signed(const GpgKey& key) {
    std::string out = files_ + "/InRelease";
    EXPECT_TRUE(key.ClearSign(files_ + "/Release", out));
    return out;
  }

  static inline std::string missing_, dir_;
  static inline GpgKey *good_ = nullptr, *other_ = nullptr, *expired_ = nullptr;
  std::string files_;
};

TEST_F(OpenPgpTest, DearmorGivesTheBinaryExport) {
  auto asc = ReadFile(good_->asc());
  auto bin = ReadFile(good_->gpg());
  ASSERT_TRUE(asc && bin);
  auto d = Dearmor(*asc, "key.asc");
  ASSERT_TRUE(d) << d.error();
  EXPECT_EQ(*d, *bin);
  // Two blocks in one file: both keys, in order.
  auto asc2 = ReadFile(other_->asc());
  auto bin2 = ReadFile(other_->gpg());
  auto both = Dearmor(*asc + *asc2, "both.asc");
  ASSERT_TRUE(both) << both.error();
  EXPECT_EQ(*both, *bin + *bin2);
}

TEST_F(OpenPgpTest, DearmorRejectsGarbage) {
  auto none = Dearmor("just text\n", "k.asc");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().find("no '-----BEGIN PGP PUBLIC KEY BLOCK-----'"), std::string::npos);
  auto bad = Dearmor(
      "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQIN*BG\n-----END PGP PUBLIC KEY BLOCK-----\n",
      "k.asc");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("k.asc:3: invalid base64"), std::string::npos) << bad.error();
  auto open = Dearmor("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQIN\n", "k.asc");
  ASSERT_FALSE(open);
  EXPECT_NE(open.error().find("without an END line"), std::string::npos);
}

TEST_F(OpenPgpTest, InlineWithArmoredAndBinaryKeyrings) {
  std::string f = Signed(*good_);
  for (const auto& keyring : {good_->asc(), good_->gpg()}) {
    auto v = VerifyInline(f, keyring);
    ASSERT_TRUE(v) << v.error();
    EXPECT_EQ(v->content, kText);
    ASSERT_EQ(v->fingerprints.size(), 1u);
    EXPECT_EQ(v->fingerprints[0], good_->fingerprint());
  }
}

TEST_F(OpenPgpTest, DetachedSignature) {
  ASSERT_TRUE(good_->DetachSign(files_ + "/Release", files_ + "/Release.gpg"));
  auto v = VerifyDetached(files_ + "/Release", files_ + "/Release.gpg", good_->asc());
  ASSERT_TRUE(v) << v.error();
  EXPECT_EQ(v->fingerprints, std::vector<std::string>{good_->fingerprint()});
  ASSERT_TRUE(WriteFile(files_ + "/Release", std::string(kText) + "Extra: field\n"));
  auto bad = VerifyDetached(files_ + "/Release", files_ + "/Release.gpg", good_->asc());
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("BAD signature"), std::string::npos) << bad.error();
}

TEST_F(OpenPgpTest, TamperedInlineIsABadSignature) {
  std::string f = Signed(*good_);
  auto text = ReadFile(f);
  size_t at = text->find("Suite: testing");
  ASSERT_NE(at, std::string::npos);
  text->replace(at, 14, "Suite: testinG");
  ASSERT_TRUE(WriteFile(f, *text));
  auto v = VerifyInline(f, good_->asc());
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().find("BAD signature by key " + good_->key_id()), std::string::npos)
      << v.error();
}

TEST_F(OpenPgpTest, UnknownKeyNamesTheKeyId) {
  std::string f = Signed(*other_);
  auto v = VerifyInline(f, good_->asc());
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().find("signed by key ID " + other_->key_id()), std::string::npos) << v.error();
  EXPECT_NE(v.error().find("which is not in " + good_->asc()), std::string::npos) << v.error();
}

TEST_F(OpenPgpTest, ExpiredKey) {
  std::string f = Signed(*expired_);
  auto v = VerifyInline(f, expired_->gpg());
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().find("which has expired"), std::string::npos) << v.error();
}

TEST_F(OpenPgpTest, UnsignedOrPaddedFilesAreRefused) {
  auto plain = VerifyInline(files_ + "/Release", good_->asc());
  ASSERT_FALSE(plain);
  EXPECT_NE(plain.error().find("not an inline-signed file"), std::string::npos) << plain.error();
  std::string f = Signed(*good_);
  auto text = ReadFile(f);
  ASSERT_TRUE(WriteFile(f, *text + "Suite: evil\n"));
  auto padded = VerifyInline(f, good_->asc());
  ASSERT_FALSE(padded);
  EXPECT_NE(padded.error().find("unsigned data"), std::string::npos) << padded.error();
}

TEST_F(OpenPgpTest, MissingGpgvSaysWhatToInstall) {
  std::string f = Signed(*good_);
  OpenPgpOptions o;
  o.gpgv = "imager-no-such-gpgv";
  auto v = VerifyInline(f, good_->asc(), o);
  ASSERT_FALSE(v);
  EXPECT_NE(v.error().find("install the gpgv package"), std::string::npos) << v.error();
}

TEST(OpenPgpStatusTest, NoPubkeyWithoutKeyIdIsRefusedNotOverread) {
  auto v = InterpretGpgvStatus("[GNUPG:] NO_PUBKEY\n", "InRelease", "k.asc");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error(), "InRelease: signed by key ID ? which is not in k.asc");
}

TEST(OpenPgpStatusTest, Decisions) {
  const std::string good =
      "[GNUPG:] NEWSIG\n[GNUPG:] GOODSIG 1122334455667788 A <a@x>\n"
      "[GNUPG:] VALIDSIG AAAABBBBCCCCDDDDEEEEFFFF1122334455667788 2023-06-10 1 0 4 0 22 8 01 "
      "AAAABBBBCCCCDDDDEEEEFFFF1122334455667788\n";
  auto v = InterpretGpgvStatus(good, "InRelease", "k.asc");
  ASSERT_TRUE(v) << v.error();
  EXPECT_EQ(v->fingerprints[0], "AAAABBBBCCCCDDDDEEEEFFFF1122334455667788");
  // A second signature by a key we do not have does not spoil a good one (as in apt).
  auto two = InterpretGpgvStatus(
      good + "[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG 99 22 8 01 1 9 -\n[GNUPG:] NO_PUBKEY 99\n",
      "InRelease", "k.asc");
  ASSERT_TRUE(two) << two.error();
  EXPECT_EQ(two->notes, std::vector<std::string>{"NO_PUBKEY 99"});
  // But a bad one does.
  auto bad = InterpretGpgvStatus(good + "[GNUPG:] BADSIG 99 Evil <e@x>\n", "InRelease", "k.asc");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(),
            "InRelease: BAD signature by key 99 (Evil <e@x>): the file was modified after it was "
            "signed, or is corrupt");
  auto revoked = InterpretGpgvStatus("[GNUPG:] REVKEYSIG 77 R <r@x>\n", "InRelease", "k.asc");
  ASSERT_FALSE(revoked);
  EXPECT_NE(revoked.error().find("revoked"), std::string::npos);
  auto none = InterpretGpgvStatus("[GNUPG:] NODATA 1\n", "InRelease", "k.asc");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error(), "InRelease: no OpenPGP signature found (the file is not signed)");
  // What gpgv 2.2 reports for a signature made on 2020-01-02 that expired a day later.
  auto expired = InterpretGpgvStatus(
      "[GNUPG:] EXPSIG 2AB36A8373841406 Old <o@e.invalid>\n"
      "[GNUPG:] VALIDSIG 8E877D5E4C9FD6560B2FF37C2AB36A8373841406 2020-01-02 1577923200 "
      "1578009600 4 0 22 8 01 8E877D5E4C9FD6560B2FF37C2AB36A8373841406\n",
      "InRelease", "k.asc");
  ASSERT_FALSE(expired);
  EXPECT_EQ(expired.error(),
            "InRelease: the signature by key 2AB36A8373841406 (Old <o@e.invalid>) has expired on "
            "2020-01-03 00:00:00 UTC: the mirror serves stale metadata, or the clock is wrong");
}

}  // namespace
}  // namespace imager::repo
