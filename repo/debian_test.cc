// SPDX-License-Identifier: GPL-3.0-or-later
#include "repo/debian.h"

#include <gtest/gtest.h>

#include "base/fd.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "repo/curl_fetcher.h"
#include "repo/testing/deb_repo.h"
#include "repo/testing/http_server.h"

namespace imager::repo {
namespace {

namespace fs = std::filesystem;
using test::DebRepo;
using test::GpgKey;
using test::PublishOptions;

constexpr int64_t kJune11th2023 = 1686441600;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

class DebianTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::string m = test::MissingTools(); !m.empty()) {
      missing_ = m;
      return;
    }
    dir_ = *MakeTempDir("/tmp", "imager-debian-test-");
    fs::create_directories(dir_ + "/key");
    fs::create_directories(dir_ + "/other");
    key_ = new GpgKey(dir_ + "/key", "Imager Fixture Archive <archive@example.invalid>");
    other_ = new GpgKey(dir_ + "/other", "Someone Else <else@example.invalid>");
    base_ = new DebRepo(dir_ + "/base");
    for (const auto& spec : test::StandardSpecs()) built_ = base_->Add(spec) && built_;
  }
  static void TearDownTestSuite() {
    delete key_;
    delete other_;
    delete base_;
    if (!dir_.empty()) (void)RemoveTree(dir_);
  }
  void SetUp() override {
    if (!missing_.empty()) GTEST_SKIP() << "missing tools: " << missing_;
    ASSERT_TRUE(key_->ok() && other_->ok() && built_) << "fixture setup failed";
    t_ = dir_ + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    repo_ = base_->CopyTo(t_ + "/repo");
    cache_ = t_ + "/cache";
  }

  profiles::Repository Repo(const std::string& suite = "testing") {
    profiles::Repository r;
    r.mirror = repo_.url() + "/";
    r.suite = suite;
    r.components = {"main"};
    r.keyring = key_->asc();
    return r;
  }
  Result<DebianMetadata> Fetch(const profiles::Repository& r, bool offline = false) {
    MetadataOptions o{.cache_dir = cache_, .offline = offline, .fetcher = &fetcher_};
    o.now = kJune11th2023;
    return FetchDebianMetadata(r, "amd64", o);
  }
  std::string Dists() const { return repo_.root() + "/dists/testing"; }

  static inline std::string missing_, dir_;
  static inline GpgKey *key_ = nullptr, *other_ = nullptr;
  static inline DebRepo* base_ = nullptr;
  static inline bool built_ = true;
  std::string t_, cache_;
  DebRepo repo_{""};
  test::FakeFetcher fetcher_;
};

TEST_F(DebianTest, GoodRepositoryIsVerifiedAndItsIndexFetched) {
  ASSERT_TRUE(repo_.Publish({}, key_));
  auto md = Fetch(Repo());
  ASSERT_TRUE(md) << md.error();
  EXPECT_EQ(md->mirror, repo_.url());
  EXPECT_EQ(md->release_url, repo_.url() + "/dists/testing/InRelease");
  EXPECT_EQ(md->release_sha256, *Sha256File(Dists() + "/InRelease"));
  EXPECT_EQ(md->release.suite, "testing");
  EXPECT_EQ(md->release.codename, "fixture");
  EXPECT_EQ(md->release.date, "Sat, 10 Jun 2023 08:37:11 UTC");
  EXPECT_EQ(md->release.date_unix, 1686386231);
  ASSERT_EQ(md->indexes.size(), 1u);  // arch:all lives in binary-amd64 (No-Support-for-...)
  const PackagesIndex& ix = md->indexes[0];
  EXPECT_EQ(ix.name, "main/binary-amd64/Packages.xz");
  EXPECT_EQ(ix.path, MetadataDir(cache_, repo_.url()) + "/dists/testing/" + ix.name);
  EXPECT_EQ(*Sha256File(ix.path), ix.sha256);
  ASSERT_EQ(fetcher_.seen.size(), 2u);
  EXPECT_EQ(fetcher_.seen[1].sha256, ix.sha256);
  EXPECT_EQ(fetcher_.seen[1].size, ix.size);
}

TEST_F(DebianTest, SecondRunIsConditionalAndReusesVerifiedIndexes) {
  ASSERT_TRUE(repo_.Publish({}, key_));
  ASSERT_TRUE(Fetch(Repo()));
  fetcher_.seen.clear();
  auto md = Fetch(Repo());
  ASSERT_TRUE(md) << md.error();
  ASSERT_EQ(fetcher_.seen.size(), 1u);
  EXPECT_TRUE(Contains(fetcher_.seen[0].url, "/InRelease"));
  EXPECT_EQ(fetcher_.seen[0].etag, "\"fake\"");
}

TEST_F(DebianTest, AcquireByHash) {
  ASSERT_TRUE(repo_.Publish({.by_hash = true}, key_));
  auto md = Fetch(Repo());
  ASSERT_TRUE(md) << md.error();
  ASSERT_EQ(fetcher_.seen.size(), 2u);
  EXPECT_EQ(fetcher_.seen[1].url, repo_.url() + "/dists/testing/main/binary-amd64/by-hash/SHA256/" +
                                      md->indexes[0].sha256);
  EXPECT_EQ(md->indexes[0].name, "main/binary-amd64/Packages.xz");
}

TEST_F(DebianTest, OfflineUsesOnlyTheCache) {
  ASSERT_TRUE(repo_.Publish({}, key_));
  auto none = Fetch(Repo(), true);
  ASSERT_FALSE(none);
  EXPECT_TRUE(
      Contains(none.error(), "offline: no cached metadata for " + repo_.url() + "/dists/testing/"))
      << none.error();
  ASSERT_TRUE(Fetch(Repo()));
  fetcher_.seen.clear();
  auto md = Fetch(Repo(), true);
  ASSERT_TRUE(md) << md.error();
  EXPECT_TRUE(fetcher_.seen.empty());
  EXPECT_EQ(md->indexes.size(), 1u);
}

TEST_F(DebianTest, ReleaseAndReleaseGpgWhenThereIsNoInRelease) {
  ASSERT_TRUE(repo_.Publish({.inrelease = false}, key_));
  auto md = Fetch(Repo());
  ASSERT_TRUE(md) << md.error();
  EXPECT_EQ(md->release_url, repo_.url() + "/dists/testing/Release");
  EXPECT_EQ(md->release_sha256, *Sha256File(Dists() + "/Release"));
}

TEST_F(DebianTest, MissingSignature) {
  ASSERT_TRUE(repo_.Publish({.inrelease = false, .release_gpg = false}, key_));
  auto md = Fetch(Repo());
  ASSERT_FALSE(md);
  EXPECT_TRUE(Contains(md.error(), "missing signature: " + repo_.url() +
                                       "/dists/testing/Release has no Release.gpg"))
      << md.error();
}

TEST_F(DebianTest, BinaryAllWhenTheArchiveKeepsItApartAndGzipWithoutXz) {
  ASSERT_TRUE(repo_.Publish({.all_in_arch_indexes = false, .xz = false}, key_));
  auto md = Fetch(Repo());
  ASSERT_TRUE(md) << md.error();
  ASSERT_EQ(md->indexes.size(), 2u);
  EXPECT_EQ(md->indexes[0].name, "main/binary-amd64/Packages.gz");
  EXPECT_EQ(md->indexes[1].name, "main/binary-all/Packages.gz");
  EXPECT_EQ(md->indexes[1].arch, "all");
}

TEST_F(DebianTest, TamperedPackagesNamesTheFileAndBothHashes) {
  ASSERT_TRUE(repo_.Publish({}, key_));
  std::string xz = Dists() + "/main/binary-amd64/Packages.xz";
  std::string listed = *Sha256File(xz);
  auto bytes = ReadFile(xz);
  (*bytes)[bytes->size() / 2] ^= 0x20;  // same size, other content
  ASSERT_TRUE(WriteFile(xz, *bytes));
  std::string actual = *Sha256File(xz);
  auto md = Fetch(Repo());
  ASSERT_FALSE(md);
  EXPECT_EQ(md.error(), repo_.url() +
                            "/dists/testing/main/binary-amd64/Packages.xz: sha256 "
                            "mismatch: the signed Release lists " +
                            listed + ", the file has " + actual + " (tampered or corrupted index)");
  EXPECT_FALSE(fs::exists(MetadataDir(cache_, repo_.url()) +
                          "/dists/testing/main/binary-amd64/Packages.xz"));
}

TEST_F(DebianTest, TamperedInReleaseIsABadSignature) {
  ASSERT_TRUE(repo_.Publish({}, key_));
  auto text = ReadFile(Dists() + "/InRelease");
  size_t at = text->find("Codename: fixture");
  ASSERT_NE(at, std::string::npos);
  text->replace(at, 17, "Codename: fixturf");
  ASSERT_TRUE(WriteFile(Dists() + "/InRelease", *text));
  auto md = Fetch(Repo());
  ASSERT_FALSE(md);
  EXPECT_TRUE(Contains(md.error(), repo_.url() + "/dists/testing/InRelease: "));
  EXPECT_TRUE(Contains(md.error(), "BAD signature by key " + key_->key_id())) << md.error();
  EXPECT_FALSE(fs::exists(MetadataDir(cache_, repo_.url()) + "/dists/testing/InRelease"));
}

TEST_F(DebianTest, SignedByAnotherKeyNamesTheKeyId) {
  ASSERT_TRUE(repo_.Publish({}, other_));
  auto md = Fetch(Repo());
  ASSERT_FALSE(md);
  EXPECT_TRUE(Contains(md.error(), "signed by key ID " + other_->key_id() + " (fingerprint " +
                                       other_->fingerprint() + ") which is not in " + key_->asc()))
      << md.error();
}

TEST_F(DebianTest, BinaryKeyringWorksToo) {
  ASSERT_TRUE(repo_.Publish({}, key_));
  auto r = Repo();
  r.keyring = key_->gpg();
  auto md = Fetch(r);
  ASSERT_TRUE(md) << md.error();
}

TEST_F(DebianTest, MissingComponentListsWhatTheSuiteHas) {
  ASSERT_TRUE(repo_.Publish({}, key_));
  auto r = Repo();
  r.components = {"main", "non-free", "contrib"};
  auto md = Fetch(r);
  ASSERT_FALSE(md);
  EXPECT_EQ(md.error(), repo_.url() +
                            "/dists/testing/InRelease: suite testing has no components non-free, "
                            "contrib (it has: main)");
}

TEST_F(DebianTest, MissingSuite) {
  ASSERT_TRUE(repo_.Publish({}, key_));
  auto md = Fetch(Repo("nosuch"));
  ASSERT_FALSE(md);
  EXPECT_EQ(md.error(), "suite nosuch not found at " + repo_.url() +
                            "/dists/ (neither InRelease nor Release exists)");
}

TEST_F(DebianTest, CurlOverFileUrlsFallsBackAndFindsMissingSuites) {
  ASSERT_TRUE(repo_.Publish({.inrelease = false}, key_));
  auto curl = MakeCurlFetcher({.retries = 0});
  MetadataOptions o{.cache_dir = cache_, .fetcher = curl.get()};
  o.now = kJune11th2023;
  auto md = FetchDebianMetadata(Repo(), "amd64", o);
  ASSERT_TRUE(md) << md.error();
  EXPECT_EQ(md->release_url, repo_.url() + "/dists/testing/Release");
  auto missing = FetchDebianMetadata(Repo("nosuch"), "amd64", o);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), "suite nosuch not found at " + repo_.url() +
                                 "/dists/ (neither InRelease nor Release exists)");
}

TEST_F(DebianTest, HttpConditionalGetAndServerErrors) {
  ASSERT_TRUE(repo_.Publish({}, key_));
  test::HttpServer server;
  ASSERT_TRUE(server.ok());
  server.Set("/debian/dists/testing/InRelease",
             {.body = *ReadFile(Dists() + "/InRelease"), .etag = "\"r1\""});
  server.Set("/debian/dists/testing/main/binary-amd64/Packages.xz",
             {.body = *ReadFile(Dists() + "/main/binary-amd64/Packages.xz")});
  auto curl = MakeCurlFetcher({.retries = 0});
  MetadataOptions o{.cache_dir = cache_, .fetcher = curl.get()};
  o.now = kJune11th2023;
  auto r = Repo();
  r.mirror = server.Url("/debian");
  auto first = FetchDebianMetadata(r, "amd64", o);
  ASSERT_TRUE(first) << first.error();
  auto second = FetchDebianMetadata(r, "amd64", o);
  ASSERT_TRUE(second) << second.error();
  auto seen = server.RequestsFor("/debian/dists/testing/InRelease");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].Header("if-none-match"), "\"r1\"");
  EXPECT_EQ(seen[1].status, 304);
  EXPECT_EQ(server.RequestsFor("/debian/dists/testing/main/binary-amd64/Packages.xz").size(), 1u);
  EXPECT_EQ(second->release_sha256, first->release_sha256);

  r.suite = "nosuch";
  auto missing = FetchDebianMetadata(r, "amd64", o);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), "suite nosuch not found at " + server.Url("/debian") +
                                 "/dists/ (neither InRelease nor Release exists)");
  server.Set("/debian/dists/broken/InRelease", {.fail_times = 10, .fail_status = 503});
  r.suite = "broken";
  auto down = FetchDebianMetadata(r, "amd64", o);
  ASSERT_FALSE(down);
  EXPECT_TRUE(
      Contains(down.error(), "fetch " + server.Url("/debian/dists/broken/InRelease") + ": "))
      << down.error();
  EXPECT_TRUE(Contains(down.error(), "503")) << down.error();
}

TEST_F(DebianTest, MissingArchitecture) {
  ASSERT_TRUE(repo_.Publish({.archs = {"arm64"}}, key_));
  auto md = Fetch(Repo());
  ASSERT_FALSE(md);
  EXPECT_TRUE(Contains(md.error(), "suite testing has no architecture amd64 (it has: arm64)"))
      << md.error();
}

TEST_F(DebianTest, ExpiredReleaseIsRefused) {
  ASSERT_TRUE(repo_.Publish({.valid_until = "Sat, 10 Jun 2023 20:00:00 UTC"}, key_));
  auto md = Fetch(Repo());
  ASSERT_FALSE(md);
  EXPECT_TRUE(Contains(md.error(), "the Release expired on Sat, 10 Jun 2023 20:00:00 UTC"))
      << md.error();
}

std::string Read(const std::string& path) {
  auto r = ReadFile(path);
  return r ? *r : "<" + r.error() + ">";
}

TEST_F(DebianTest, RefusedReleasesLeaveTheCachedOneAsItWas) {
  ASSERT_TRUE(repo_.Publish({}, key_));
  ASSERT_TRUE(Fetch(Repo()));
  std::string cached = MetadataDir(cache_, repo_.url()) + "/dists/testing/InRelease";
  auto good = ReadFile(cached);
  ASSERT_TRUE(good);
  auto text = ReadFile(Dists() + "/InRelease");
  text->replace(text->find("Codename: fixture"), 17, "Codename: fixturf");
  ASSERT_TRUE(WriteFile(Dists() + "/InRelease", *text));
  auto tampered = Fetch(Repo());
  ASSERT_FALSE(tampered);
  EXPECT_TRUE(Contains(tampered.error(), "BAD signature")) << tampered.error();
  EXPECT_EQ(Read(cached), *good);
  EXPECT_FALSE(fs::exists(cached + ".new"));
  ASSERT_TRUE(repo_.Publish({.valid_until = "Sat, 10 Jun 2023 20:00:00 UTC"}, key_));
  auto expired = Fetch(Repo());
  ASSERT_FALSE(expired);
  EXPECT_TRUE(Contains(expired.error(), "(Valid-Until)")) << expired.error();
  EXPECT_EQ(Read(cached), *good);
  EXPECT_FALSE(fs::exists(cached + ".new"));
}

TEST_F(DebianTest, UnreachableMirrorIsNotAMissingSuite) {
  auto r = Repo();
  r.mirror = "http://127.0.0.1:9/debian";
  auto md = Fetch(r);
  ASSERT_FALSE(md);
  EXPECT_TRUE(Contains(md.error(), "fetch http://127.0.0.1:9/debian/dists/testing/InRelease: "))
      << md.error();
}

TEST_F(DebianTest, AutoMirrorMustBeResolvedFirst) {
  auto r = Repo();
  r.mirror = "auto";
  auto md = Fetch(r);
  ASSERT_FALSE(md);
  EXPECT_TRUE(Contains(md.error(), "is not a URL")) << md.error();
}

TEST(DebianReleaseTest, ParsesFieldsAndTheSha256List) {
  auto rel = ParseRelease(
      "Origin: Debian\nLabel: Debian\nSuite: stable\nVersion: 12.0\nCodename: bookworm\n"
      "Date: Sat, 10 Jun 2023 08:37:11 UTC\nAcquire-By-Hash: yes\n"
      "No-Support-for-Architecture-all: Packages\nArchitectures: all amd64 arm64\n"
      "Components: main contrib non-free-firmware non-free\nDescription: Debian 12.0\n"
      "MD5Sum:\n 0ed6d4c8891eb86358b94bb35d9e4da4  1484322 contrib/Contents-all\n"
      "SHA256:\n d6c9c82f4e61b4662f9ba16b9ebb379c57b4943f8b7813091d1f637325ddfb79  1484322 "
      "contrib/Contents-all\n 3957f28db16e3f28c7b34ae84f1c929c567de6970f3f1b95dac9b498dd80fe63  "
      "   738242 main/binary-amd64/Packages.xz\n",
      "Release");
  ASSERT_TRUE(rel) << rel.error();
  EXPECT_EQ(rel->suite, "stable");
  EXPECT_EQ(rel->codename, "bookworm");
  EXPECT_TRUE(rel->acquire_by_hash);
  EXPECT_TRUE(rel->all_in_arch_indexes);
  EXPECT_EQ(rel->architectures, (std::vector<std::string>{"all", "amd64", "arm64"}));
  EXPECT_EQ(rel->components.size(), 4u);
  ASSERT_EQ(rel->files.size(), 2u);
  EXPECT_EQ(rel->files.at("main/binary-amd64/Packages.xz").size, 738242);
  EXPECT_EQ(rel->files.at("main/binary-amd64/Packages.xz").sha256,
            "3957f28db16e3f28c7b34ae84f1c929c567de6970f3f1b95dac9b498dd80fe63");
  EXPECT_EQ(rel->date_unix, 1686386231);
}

TEST(DebianReleaseTest, ReportsEveryProblem) {
  auto rel = ParseRelease("Date: yesterday\nSHA256:\n abc 12 x\nnonsense\n", "R");
  ASSERT_FALSE(rel);
  EXPECT_EQ(rel.error(),
            "R:1: Date: cannot parse date 'yesterday'\nR:3: malformed SHA256 line\nR:4: not a "
            "'Field: value' line\nR: neither Suite nor Codename is set\nR: no SHA256 file list");
}

TEST(DebianReleaseTest, Dates) {
  EXPECT_EQ(*ParseReleaseDate("Thu, 01 Jan 1970 00:00:00 UTC"), 0);
  EXPECT_EQ(*ParseReleaseDate("Thu, 01 Jan 1970 01:00:00 +0100"), 0);
  EXPECT_EQ(*ParseReleaseDate("Sat, 10 Jun 2023 08:37:11 GMT"), 1686386231);
  EXPECT_FALSE(ParseReleaseDate("Sat, 10 Jun 2023 08:37:11 CEST"));
}

TEST(DebianReleaseTest, MetadataDirEscapesTheMirror) {
  EXPECT_EQ(MetadataDir("/c", "http://deb.example.org/debian/"),
            "/c/metadata/deb.example.org_debian");
  EXPECT_EQ(MetadataDir("/c", "https://h:8080/a b"), "/c/metadata/h%3A8080_a%20b");
  EXPECT_EQ(MetadataDir("/c", "file:///srv/repo"), "/c/metadata/_srv_repo");
}

}  // namespace
}  // namespace imager::repo
