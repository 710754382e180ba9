// SPDX-License-Identifier: GPL-3.0-or-later
#include "repo/rpmmd.h"

#include <gtest/gtest.h>

#include "base/fd.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "repo/curl_fetcher.h"
#include "repo/resolve.h"
#include "repo/testing/deb_repo.h"
#include "repo/testing/http_server.h"
#include "repo/testing/rpm_repo.h"

namespace imager::repo {
namespace {

namespace fs = std::filesystem;
using Strings = std::vector<std::string>;
using test::BuildRpm;
using test::Q;
using test::Sh;

constexpr char kComps[] = R"(<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
<comps>
  <group>
    <id>core</id>
    <name>Core</name>
    <packagelist>
      <packagereq type="mandatory">alpha</packagereq>
      <packagereq type="default">gamma</packagereq>
      <packagereq type="optional">delta</packagereq>
    </packagelist>
  </group>
</comps>
)";

class RpmMdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    for (const char* t : {"rpmbuild", "createrepo_c", "gpg", "gpgv"})
      if (Sh(std::string("command -v ") + t) != 0) missing_ += std::string(" ") + t;
    if (!missing_.empty()) return;
    dir_ = *MakeTempDir("/tmp", "imager-rpmmd-test-");
    fs::create_directories(dir_ + "/key");
    fs::create_directories(dir_ + "/top");
    fs::create_directories(dir_ + "/repo/Packages");
    key_ = new test::GpgKey(dir_ + "/key", "Imager Fixture Rpm <rpm@example.invalid>");
    bool ok = key_->ok() && BuildRpm(dir_ + "/top", dir_ + "/repo", "alpha", "beta") &&
              BuildRpm(dir_ + "/top", dir_ + "/repo", "beta", "") &&
              BuildRpm(dir_ + "/top", dir_ + "/repo", "gamma", "") &&
              BuildRpm(dir_ + "/top", dir_ + "/repo", "delta", "") &&
              // A file dependency only filelists.xml can satisfy (primary lists *bin/ and /etc).
              BuildRpm(dir_ + "/top", dir_ + "/repo", "epsilon", "/usr/share/zeta/data") &&
              BuildRpm(dir_ + "/top", dir_ + "/repo", "zeta", "", "/usr/share/zeta/data") &&
              WriteFile(dir_ + "/comps.xml", kComps).ok() &&
              Sh("createrepo_c -g " + Q(dir_ + "/comps.xml") + " " + Q(dir_ + "/repo")) == 0;
    ready_ = ok && key_->DetachSign(dir_ + "/repo/repodata/repomd.xml",
                                    dir_ + "/repo/repodata/repomd.xml.asc");
  }
  static void TearDownTestSuite() {
    delete key_;
    if (!dir_.empty()) (void)RemoveTree(dir_);
  }
  void SetUp() override {
    if (!missing_.empty()) GTEST_SKIP() << "missing tools:" << missing_;
    ASSERT_TRUE(ready_) << "fixture setup failed";
    t_ = dir_ + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(t_);
    options_ = {.cache_dir = t_ + "/cache", .fetcher = &fetcher_};
  }

  profiles::Profile Profile(const Strings& include, const std::string& root = "") {
    profiles::Profile p;
    p.source = "rpm.yaml";
    p.distribution.family = profiles::Family::kRpm;
    p.distribution.arch = "x86_64";
    p.output.formats = {profiles::Format::kTar};  // no boot loader packages in these fixtures
    profiles::Repository r;
    r.type = profiles::RepoType::kRpmMd;
    r.url = "file://" + (root.empty() ? dir_ + "/repo" : root);
    r.keyring = key_->asc();
    p.repositories.push_back(r);
    p.packages.include = include;
    return p;
  }
  // A copy of the fixture repository to tamper with.
  std::string CopyRepo() {
    fs::copy(dir_ + "/repo", t_ + "/repo", fs::copy_options::recursive);
    return t_ + "/repo";
  }
  static Strings Names(const Lock& l) {
    Strings n;
    for (const auto& p : l.packages) n.push_back(p.name);
    return n;
  }

  static inline std::string missing_, dir_;
  static inline test::GpgKey* key_ = nullptr;
  static inline bool ready_ = false;
  std::string t_;
  test::FakeFetcher fetcher_;
  ResolveOptions options_;
};

TEST_F(RpmMdTest, ParseRepoMdFindsPrimaryAndComps) {
  auto text = ReadFile(dir_ + "/repo/repodata/repomd.xml");
  ASSERT_TRUE(text);
  auto md = ParseRepoMd(*text, "repomd.xml");
  ASSERT_TRUE(md) << md.error();
  const RpmMdFile* primary = md->Find("primary");
  ASSERT_NE(primary, nullptr);
  EXPECT_EQ(primary->sha256.size(), 64u);
  EXPECT_TRUE(StartsWith(primary->location, "repodata/"));
  EXPECT_EQ(*Sha256File(dir_ + "/repo/" + primary->location), primary->sha256);
  EXPECT_NE(md->Find("group"), nullptr);
  EXPECT_FALSE(md->revision.empty());
  // The newest file's timestamp dates the repository (and so the build, without
  // SOURCE_DATE_EPOCH): createrepo_c wrote the files just now.
  EXPECT_GT(md->timestamp, 1700000000);
  EXPECT_LE(md->timestamp, static_cast<int64_t>(time(nullptr)));
}

TEST_F(RpmMdTest, ResolvesInDependencyOrder) {
  auto lock = Resolve(Profile({"alpha"}), options_);
  ASSERT_TRUE(lock) << lock.error();
  EXPECT_EQ(Names(*lock), (Strings{"beta", "alpha"}));
  ASSERT_EQ(lock->repositories.size(), 1u);
  EXPECT_EQ(lock->repositories[0].date.find_first_not_of("0123456789"), std::string::npos)
      << lock->repositories[0].date;
  const LockedPackage& alpha = lock->packages[1];
  std::string rpm = dir_ + "/repo/Packages/alpha-1.0-1.noarch.rpm";
  EXPECT_EQ(alpha.version, "1.0-1");
  EXPECT_EQ(alpha.arch, "noarch");
  EXPECT_EQ(alpha.url, "file://" + rpm);
  EXPECT_EQ(alpha.sha256, *Sha256File(rpm));
  EXPECT_EQ(alpha.size, static_cast<int64_t>(fs::file_size(rpm)));
  ASSERT_EQ(lock->repositories.size(), 1u);
  EXPECT_EQ(lock->repositories[0].release, "file://" + dir_ + "/repo/repodata/repomd.xml");
  EXPECT_EQ(lock->repositories[0].sha256, *Sha256File(dir_ + "/repo/repodata/repomd.xml"));

  auto got = FetchPackages(*lock, {.cache_dir = t_ + "/cache", .fetcher = &fetcher_});
  ASSERT_TRUE(got) << got.error();
}

TEST_F(RpmMdTest, GroupExpandsToMandatoryAndDefault) {
  auto lock = Resolve(Profile({"@core"}), options_);
  ASSERT_TRUE(lock) << lock.error();
  Strings names = Names(*lock);
  EXPECT_EQ(names.size(), 3u);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (Strings{"alpha", "beta", "gamma"}));  // not the optional delta
  Strings order = Names(*lock);
  EXPECT_LT(std::find(order.begin(), order.end(), "beta") - order.begin(),
            std::find(order.begin(), order.end(), "alpha") - order.begin());
}

TEST_F(RpmMdTest, GroupWithOptional) {
  auto lock = Resolve(Profile({"@core --optional"}), options_);
  ASSERT_TRUE(lock) << lock.error();
  Strings names = Names(*lock);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (Strings{"alpha", "beta", "delta", "gamma"}));
}

TEST_F(RpmMdTest, FileListsOnlyWhenAFileDependencyNeedsThem) {
  auto filelists_cached = [&] {
    int n = 0;
    for (const auto& e : fs::recursive_directory_iterator(t_ + "/cache"))
      n += e.path().filename().string().find("filelists") != std::string::npos;
    return n;
  };
  // Without epsilon, primary provides every file a dependency names.
  std::string root = CopyRepo();
  fs::remove(root + "/Packages/epsilon-1.0-1.noarch.rpm");
  ASSERT_EQ(Sh("createrepo_c --quiet --no-database " + Q(root)), 0);
  profiles::Profile p = Profile({"alpha"}, root);
  p.repositories[0].gpgcheck = false;
  auto lock = Resolve(p, options_);
  ASSERT_TRUE(lock) << lock.error();
  EXPECT_EQ(filelists_cached(), 0);

  lock = Resolve(Profile({"epsilon"}), options_);
  ASSERT_TRUE(lock) << lock.error();
  EXPECT_EQ(Names(*lock), (Strings{"zeta", "epsilon"}));
  EXPECT_EQ(filelists_cached(), 1);
  // A path asked for by name is looked up there too; offline, in the cached copy.
  options_.offline = true;
  lock = Resolve(Profile({"/usr/share/zeta/data"}), options_);
  ASSERT_TRUE(lock) << lock.error();
  EXPECT_EQ(Names(*lock), (Strings{"zeta"}));
}

TEST_F(RpmMdTest, UnknownGroupSuggestsClose) {
  auto lock = Resolve(Profile({"@cor"}), options_);
  ASSERT_FALSE(lock);
  EXPECT_NE(lock.error().find("unknown group '@cor'"), std::string::npos) << lock.error();
  EXPECT_NE(lock.error().find("did you mean @core?"), std::string::npos) << lock.error();
}

TEST_F(RpmMdTest, UnknownPackageSuggestsClose) {
  auto lock = Resolve(Profile({"alpah"}), options_);
  ASSERT_FALSE(lock);
  EXPECT_NE(lock.error().find("No match for argument: alpah"), std::string::npos) << lock.error();
  EXPECT_NE(lock.error().find("did you mean alpha"), std::string::npos) << lock.error();
}

TEST_F(RpmMdTest, TamperedPrimaryIsRejected) {
  std::string root = CopyRepo();
  auto md = ParseRepoMd(*ReadFile(root + "/repodata/repomd.xml"), "repomd.xml");
  ASSERT_TRUE(md);
  std::string primary = root + "/" + md->Find("primary")->location;
  auto bytes = ReadFile(primary);
  ASSERT_TRUE(bytes);
  (*bytes)[bytes->size() / 2] ^= 1;
  ASSERT_TRUE(WriteFile(primary, *bytes));
  auto lock = Resolve(Profile({"alpha"}, root), options_);
  ASSERT_FALSE(lock);
  EXPECT_NE(lock.error().find(md->Find("primary")->location + ": sha256 mismatch"),
            std::string::npos)
      << lock.error();
  EXPECT_NE(lock.error().find(md->Find("primary")->sha256), std::string::npos) << lock.error();
  EXPECT_NE(lock.error().find(*Sha256File(primary)), std::string::npos) << lock.error();
}

TEST_F(RpmMdTest, BadSignatureIsRejected) {
  std::string root = CopyRepo();
  std::string repomd = root + "/repodata/repomd.xml";
  ASSERT_TRUE(WriteFile(repomd, *ReadFile(repomd) + "<!-- tampered -->\n"));
  auto lock = Resolve(Profile({"alpha"}, root), options_);
  ASSERT_FALSE(lock);
  EXPECT_NE(lock.error().find("file://" + repomd), std::string::npos) << lock.error();
  EXPECT_NE(lock.error().find("BAD signature"), std::string::npos) << lock.error();
}

// A new repomd.xml that fails its check is not taken into the cache: the verified copy from
// before stays, and works offline.
TEST_F(RpmMdTest, BadNewRepoMdLeavesTheCachedOne) {
  std::string root = CopyRepo();
  std::string repomd = root + "/repodata/repomd.xml";
  ASSERT_TRUE(Resolve(Profile({"alpha"}, root), options_));
  std::string cached = MetadataDir(options_.cache_dir, "file://" + root) + "/repodata/repomd.xml";
  auto before = Sha256File(cached);
  ASSERT_TRUE(before) << before.error();
  ASSERT_TRUE(WriteFile(repomd, *ReadFile(repomd) + "<!-- tampered -->\n"));
  auto lock = Resolve(Profile({"alpha"}, root), options_);
  ASSERT_FALSE(lock);
  EXPECT_NE(lock.error().find("BAD signature"), std::string::npos) << lock.error();
  auto after = Sha256File(cached);
  ASSERT_TRUE(after) << "the cached repomd.xml is gone: " << after.error();
  EXPECT_EQ(*after, *before);
  EXPECT_NE(access((cached + ".new").c_str(), F_OK), 0) << "download left beside the cache";
  options_.offline = true;
  options_.fetcher = nullptr;
  auto offline = Resolve(Profile({"alpha"}, root), options_);
  ASSERT_TRUE(offline) << offline.error();
  EXPECT_EQ(Names(*offline), (Strings{"beta", "alpha"}));
}

TEST_F(RpmMdTest, MissingSignatureIsRejected) {
  std::string root = CopyRepo();
  fs::remove(root + "/repodata/repomd.xml.asc");
  auto lock = Resolve(Profile({"alpha"}, root), options_);
  ASSERT_FALSE(lock);
  EXPECT_NE(lock.error().find("missing signature: file://" + root + "/repodata/repomd.xml"),
            std::string::npos)
      << lock.error();
}

TEST_F(RpmMdTest, OfflineUsesTheCache) {
  ASSERT_TRUE(Resolve(Profile({"alpha"}), options_));
  options_.offline = true;
  options_.fetcher = nullptr;
  auto lock = Resolve(Profile({"alpha"}), options_);
  ASSERT_TRUE(lock) << lock.error();
  EXPECT_EQ(Names(*lock), (Strings{"beta", "alpha"}));
}

TEST_F(RpmMdTest, UnsignedRepositoryWithoutGpgcheck) {
  std::string root = CopyRepo();
  fs::remove(root + "/repodata/repomd.xml.asc");
  profiles::Profile p = Profile({"gamma"}, root);
  p.repositories[0].gpgcheck = false;
  p.repositories[0].keyring.clear();
  auto lock = Resolve(p, options_);
  ASSERT_TRUE(lock) << lock.error();
  EXPECT_EQ(Names(*lock), (Strings{"gamma"}));
}

// Over HTTP with the real fetcher: a second resolve asks for repomd.xml (and its signature)
// conditionally and gets 304; the indexes it lists are not downloaded again.
TEST_F(RpmMdTest, HttpConditionalGetOfRepoMd) {
  test::HttpServer server;
  ASSERT_TRUE(server.ok());
  for (const auto& e : fs::directory_iterator(dir_ + "/repo/repodata")) {
    std::string name = e.path().filename().string();
    test::Route route{.body = *ReadFile(e.path().string())};
    if (name == "repomd.xml" || name == "repomd.xml.asc") route.etag = "\"" + name + "-1\"";
    server.Set("/rpm/repodata/" + name, route);
  }
  auto curl = MakeCurlFetcher({.retries = 0});
  options_.fetcher = curl.get();
  profiles::Profile p = Profile({"alpha"});
  p.repositories[0].url = server.Url("/rpm");
  auto first = Resolve(p, options_);
  ASSERT_TRUE(first) << first.error();
  auto second = Resolve(p, options_);
  ASSERT_TRUE(second) << second.error();
  EXPECT_EQ(Names(*second), (Strings{"beta", "alpha"}));
  for (const char* f : {"repomd.xml", "repomd.xml.asc"}) {
    auto seen = server.RequestsFor(std::string("/rpm/repodata/") + f);
    ASSERT_EQ(seen.size(), 2u) << f;
    EXPECT_EQ(seen[1].Header("if-none-match"), std::string("\"") + f + "-1\"") << f;
    EXPECT_EQ(seen[1].status, 304) << f;
  }
  int primary = 0;
  for (const auto& r : server.Requests())
    primary += r.path.find("primary.xml") != std::string::npos;
  EXPECT_EQ(primary, 1);
}

}  // namespace
}  // namespace imager::repo
