// SPDX-License-Identifier: GPL-3.0-or-later
#include "repo/resolve.h"

#include <gtest/gtest.h>

#include "installer/installer.h"

#include "base/fd.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "profiles/loader.h"
#include "repo/curl_fetcher.h"
#include "repo/testing/deb_repo.h"

namespace imager::repo {
namespace {

namespace fs = std::filesystem;
using Strings = std::vector<std::string>;

class ResolveTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::string m = test::MissingTools(); !m.empty()) {
      missing_ = m;
      return;
    }
    dir_ = *MakeTempDir("/tmp", "imager-resolve-test-");
    fs::create_directories(dir_ + "/key");
    key_ = new test::GpgKey(dir_ + "/key", "Imager Fixture Archive <archive@example.invalid>");
    repo_ = new test::DebRepo(dir_ + "/repo");
    bool ok = key_->ok();
    for (const auto& spec : test::StandardSpecs()) ok = ok && repo_->Add(spec);
    ready_ = ok && repo_->Publish({}, key_);
  }
  static void TearDownTestSuite() {
    delete key_;
    delete repo_;
    if (!dir_.empty()) (void)RemoveTree(dir_);
  }
  void SetUp() override {
    if (!missing_.empty()) GTEST_SKIP() << "missing tools: " << missing_;
    ASSERT_TRUE(ready_) << "fixture setup failed";
    t_ = dir_ + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(t_ + "/apt/sources.list.d");
    options_ = {.cache_dir = t_ + "/cache", .fetcher = &fetcher_, .etc_apt = t_ + "/apt"};
  }

  // A profile file in the test's directory; MIRROR is a URL or "auto".
  profiles::Profile Profile(const std::string& packages, const std::string& mirror,
                            const std::string& output = "{formats: [tar]}") {
    std::string yaml = "name: fixture\noutput: " + output +
                       "\ndistribution: {family: debian, release: testing}\n"
                       "repositories:\n  - {mirror: \"" +
                       mirror + "\", suite: testing, keyring: " + key_->asc() +
                       "}\npackages: " + packages + "\n";
    EXPECT_TRUE(WriteFile(t_ + "/fixture.yaml", yaml));
    auto p = profiles::LoadProfile(t_ + "/fixture.yaml");
    EXPECT_TRUE(p) << p.error();
    return p ? *p : profiles::Profile();
  }
  static Strings Names(const Lock& l) {
    Strings n;
    for (const auto& p : l.packages) n.push_back(p.name);
    return n;
  }

  static inline std::string missing_, dir_;
  static inline test::GpgKey* key_ = nullptr;
  static inline test::DebRepo* repo_ = nullptr;
  static inline bool ready_ = false;
  std::string t_;
  test::FakeFetcher fetcher_;
  ResolveOptions options_;
};

TEST_F(ResolveTest, MinbasePlusIncludeInInstallOrder) {
  auto p = Profile("{variant: minbase, include: [tool]}", repo_->url());
  auto lock = Resolve(p, options_);
  ASSERT_TRUE(lock) << lock.error();
  // libsolv's transaction order: every package after what it (pre-)depends on.
  EXPECT_EQ(Names(*lock), (Strings{"base-files", "libc6", "zeta", "dash", "apt", "tool"}));
  const LockedPackage& dash = lock->packages[3];
  std::string deb = repo_->root() + "/pool/main/d/dash_0.5.12-2_amd64.deb";
  EXPECT_EQ(dash.version, "0.5.12-2");
  EXPECT_EQ(dash.arch, "amd64");
  EXPECT_EQ(dash.url, repo_->url() + "/pool/main/d/dash_0.5.12-2_amd64.deb");
  EXPECT_EQ(dash.sha256, *Sha256File(deb));
  EXPECT_EQ(dash.size, static_cast<int64_t>(fs::file_size(deb)));
  ASSERT_EQ(lock->repositories.size(), 1u);
  const LockedRepository& r = lock->repositories[0];
  EXPECT_EQ(r.url, repo_->url());
  EXPECT_EQ(r.suite, "testing");
  EXPECT_EQ(r.date, "Sat, 10 Jun 2023 08:37:11 UTC");
  EXPECT_EQ(r.release, repo_->url() + "/dists/testing/InRelease");
  EXPECT_EQ(r.sha256, *Sha256File(repo_->root() + "/dists/testing/InRelease"));
  EXPECT_EQ(lock->request.variant, "minbase");
  EXPECT_EQ(lock->request.include, Strings{"tool"});
}

TEST_F(ResolveTest, VariantsExcludesAndAlternatives) {
  auto names = [&](const std::string& packages) {
    auto lock = Resolve(Profile(packages, repo_->url()), options_);
    EXPECT_TRUE(lock) << lock.error();
    Strings n = lock ? Names(*lock) : Strings{};
    std::sort(n.begin(), n.end());
    return n;
  };
  EXPECT_EQ(names("{variant: essential}"), (Strings{"base-files", "dash", "libc6"}));
  EXPECT_EQ(names("{variant: minbase, exclude: [apt]}"), (Strings{"base-files", "dash", "libc6"}));
  EXPECT_EQ(names("{variant: essential, include: [tool]}"),
            (Strings{"base-files", "dash", "libc6", "tool", "zeta"}));
  EXPECT_EQ(names("{variant: essential, include: [tool, alpha]}"),
            (Strings{"alpha", "base-files", "dash", "libc6", "tool"}));
}

TEST_F(ResolveTest, AnIsoNeedsBootToolsFromTheRepositories) {
  auto p = Profile("{variant: essential}", repo_->url(), "{formats: [iso]}");
  p.boot.uefi = false;
  auto lock = Resolve(p, options_);
  ASSERT_FALSE(lock);  // the fixture archive has no isolinux
  EXPECT_NE(lock.error().find("fixture.yaml: the tools for the outputs (isolinux, "
                              "syslinux-common: the family's boot loader and ESP packages, from "
                              "the profile's repositories): unknown package 'isolinux'"),
            std::string::npos)
      << lock.error();
}

TEST_F(ResolveTest, ErrorsNameTheProfile) {
  auto p = Profile("{variant: essential, include: [broken, tol]}", repo_->url());
  auto lock = Resolve(p, options_);
  ASSERT_FALSE(lock);
  EXPECT_EQ(lock.error(), t_ + "/fixture.yaml: unknown package 'tol' (packages.include); did you "
                               "mean tool?");
  auto unsat = Resolve(Profile("{variant: essential, include: [broken]}", repo_->url()), options_);
  ASSERT_FALSE(unsat);
  EXPECT_NE(unsat.error().find("package broken 1.0 depends on libc6 (>= 3), but only libc6 "
                               "2.36-9 is available"),
            std::string::npos)
      << unsat.error();
}

TEST_F(ResolveTest, AutoMirrorFromTheHostsAptSources) {
  ASSERT_TRUE(WriteFile(t_ + "/apt/sources.list", "deb " + repo_->url() + " testing main\n"));
  auto p = Profile("{variant: essential}", "auto");
  auto lock = Resolve(p, options_);
  ASSERT_TRUE(lock) << lock.error();
  EXPECT_EQ(lock->repositories[0].url, repo_->url());
  EXPECT_EQ(p.repositories[0].mirror, "auto");
  ASSERT_TRUE(WriteFile(t_ + "/apt/sources.list", ""));
  auto none = Resolve(p, options_);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().find("repository testing"), std::string::npos) << none.error();
}

TEST_F(ResolveTest, OfflineGivesTheSameLock) {
  auto p = Profile("{variant: minbase}", repo_->url());
  auto online = Resolve(p, options_);
  ASSERT_TRUE(online) << online.error();
  ResolveOptions off = options_;
  off.offline = true;
  off.fetcher = nullptr;
  auto offline = Resolve(p, off);
  ASSERT_TRUE(offline) << offline.error();
  EXPECT_EQ(LockToJson(*offline), LockToJson(*online));
}

TEST_F(ResolveTest, FetchPackagesIntoTheCacheThenOffline) {
  auto lock = Resolve(Profile("{variant: minbase}", repo_->url()), options_);
  ASSERT_TRUE(lock) << lock.error();
  auto curl = MakeCurlFetcher({});
  int calls = 0;
  FetchPackagesOptions fo{.cache_dir = t_ + "/cache", .fetcher = curl.get()};
  fo.progress = [&](const FetchProgress&) { ++calls; };
  auto got = FetchPackages(*lock, fo);
  ASSERT_TRUE(got) << got.error();
  EXPECT_EQ(got->fetched, 4);
  EXPECT_GT(calls, 0);
  ASSERT_EQ(got->paths.size(), 4u);
  for (size_t i = 0; i < got->paths.size(); ++i)
    EXPECT_EQ(*Sha256File(got->paths[i]), lock->packages[i].sha256);
  auto again = FetchPackages(*lock, {.cache_dir = t_ + "/cache", .offline = true});
  ASSERT_TRUE(again) << again.error();
  EXPECT_EQ(again->cached, 4);
  auto empty = FetchPackages(*lock, {.cache_dir = t_ + "/empty", .offline = true});
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().find("4 of 4 packages are not in the cache"), std::string::npos)
      << empty.error();
}

TEST_F(ResolveTest, TamperedPackageIsRejected) {
  test::DebRepo copy = repo_->CopyTo(t_ + "/repo");
  auto lock = Resolve(Profile("{variant: essential}", copy.url()), options_);
  ASSERT_TRUE(lock) << lock.error();
  std::string deb = copy.root() + "/pool/main/d/dash_0.5.12-2_amd64.deb";
  auto bytes = ReadFile(deb);
  (*bytes)[bytes->size() - 10] ^= 1;
  ASSERT_TRUE(WriteFile(deb, *bytes));
  auto curl = MakeCurlFetcher({.retries = 0});
  auto got = FetchPackages(*lock, {.cache_dir = t_ + "/cache", .fetcher = curl.get()});
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().find("dash_0.5.12-2_amd64.deb"), std::string::npos) << got.error();
  EXPECT_NE(got.error().find("sha256 mismatch"), std::string::npos) << got.error();
}

// An installer profile: the installer layer and the offline repository's packages.
class InstallerResolveTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::string m = test::MissingTools(); !m.empty()) {
      missing_ = m;
      return;
    }
    dir_ = *MakeTempDir("/tmp", "imager-resolve-installer-test-");
    fs::create_directories(dir_ + "/key");
    key_ = new test::GpgKey(dir_ + "/key", "Imager Fixture Archive <archive@example.invalid>");
    repo_ = new test::DebRepo(dir_ + "/repo");
    bool ok = key_->ok();
    for (const auto& spec : test::StandardSpecs()) ok = ok && repo_->Add(spec);
    for (const auto& spec : test::InstallerSpecs()) ok = ok && repo_->Add(spec);
    ready_ = ok && repo_->Publish({}, key_);
  }
  static void TearDownTestSuite() {
    delete key_;
    delete repo_;
    if (!dir_.empty()) (void)RemoveTree(dir_);
  }
  void SetUp() override {
    if (!missing_.empty()) GTEST_SKIP() << "missing tools: " << missing_;
    ASSERT_TRUE(ready_) << "fixture setup failed";
    t_ = dir_ + "/" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(t_);
    options_ = {.cache_dir = t_ + "/cache", .fetcher = &fetcher_};
  }
  profiles::Profile Profile(const Strings& offline) {
    std::string yaml =
        "name: fixture\noutput: {formats: [tar]}\n"
        "distribution: {family: debian, release: testing}\n"
        "repositories:\n  - {mirror: \"" +
        repo_->url() + "\", suite: testing, keyring: " + key_->asc() +
        "}\npackages: {variant: essential}\n";
    EXPECT_TRUE(WriteFile(t_ + "/fixture.yaml", yaml));
    auto p = profiles::LoadProfile(t_ + "/fixture.yaml");
    EXPECT_TRUE(p) << p.error();
    if (!p) return profiles::Profile();
    p->installer.type = profiles::InstallerType::kCalamares;
    p->installer.offline_packages = offline;
    return *p;
  }
  static Strings Names(const std::vector<LockedPackage>& l) {
    Strings n;
    for (const auto& p : l) n.push_back(p.name);
    return n;
  }

  static inline std::string missing_, dir_;
  static inline test::GpgKey* key_ = nullptr;
  static inline test::DebRepo* repo_ = nullptr;
  static inline bool ready_ = false;
  std::string t_;
  test::FakeFetcher fetcher_;
  ResolveOptions options_;
};

TEST_F(InstallerResolveTest, InstallerAndOfflineSectionsBeyondTheTarget) {
  auto lock = Resolve(Profile({"grub-pc", "grub-efi-amd64"}), options_);
  ASSERT_TRUE(lock) << lock.error();
  // The target carries what the installed system boots with.
  Strings target = Names(lock->packages);
  std::sort(target.begin(), target.end());
  EXPECT_EQ(target,
            (Strings{"base-files", "dash", "efibootmgr", "grub-common", "grub-efi-amd64-bin",
                     "grub-efi-amd64-signed", "grub-pc-bin", "grub2-common", "initramfs-tools",
                     "libc6", "locales", "shim-signed"}));
  // The installer layer: only what the target lacks, in install order (libqt before calamares).
  Strings installer = Names(lock->installer);
  // + libqt, - locales (in the target already)
  EXPECT_EQ(installer.size(), installer::LivePackages(Profile({})).size());
  EXPECT_EQ(std::count(installer.begin(), installer.end(), "locales"), 0);
  auto at = [&](const std::string& n) {
    return std::find(installer.begin(), installer.end(), n) - installer.begin();
  };
  EXPECT_LT(at("libqt"), at("calamares"));
  EXPECT_LT(at("rsync"), at("calamares"));
  EXPECT_EQ(at("libc6"), static_cast<long>(installer.size()));  // in the target already
  // Offline: each boot loader solved on its own (they conflict), merged without duplicates.
  Strings offline = Names(lock->offline);
  ASSERT_EQ(offline.size(), 4u);
  // grub-efi-amd64 is solved first (the request is sorted): its dependencies, then itself.
  EXPECT_EQ(offline[2], "grub-efi-amd64");
  EXPECT_EQ(offline[3], "grub-pc");  // ucf is already there
  Strings deps(offline.begin(), offline.begin() + 2);
  std::sort(deps.begin(), deps.end());
  EXPECT_EQ(deps, (Strings{"mokutil", "ucf"}));
  EXPECT_EQ(lock->request.offline, (Strings{"grub-efi-amd64", "grub-pc"}));
  // The sections are fetched after packages and tools, in this order.
  auto got = FetchPackages(*lock, {.cache_dir = t_ + "/cache", .fetcher = &fetcher_});
  ASSERT_TRUE(got) << got.error();
  size_t n = lock->packages.size() + lock->installer.size() + lock->offline.size();
  ASSERT_EQ(got->paths.size(), n);
  EXPECT_EQ(*Sha256File(got->paths[n - 1]), lock->offline.back().sha256);
  EXPECT_EQ(*Sha256File(got->paths[lock->packages.size()]), lock->installer[0].sha256);
  // The JSON round trip keeps both sections.
  auto back = ParseLock(LockToJson(*lock), "x.lock");
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(LockToJson(*back), LockToJson(*lock));
}

TEST_F(InstallerResolveTest, UnknownOfflinePackageNamesTheField) {
  auto lock = Resolve(Profile({"grub-pcc"}), options_);
  ASSERT_FALSE(lock);
  EXPECT_NE(lock.error().find("unknown package 'grub-pcc' (installer.offline_packages); did you "
                              "mean grub-pc"),
            std::string::npos)
      << lock.error();
}

TEST_F(InstallerResolveTest, AnUnknownInstallerPackageNamesTheField) {
  auto p = Profile({});
  p.installer.packages = {"no-such-thing"};
  auto lock = Resolve(p, options_);
  ASSERT_FALSE(lock);
  EXPECT_NE(lock.error().find("the installer's packages: unknown package 'no-such-thing' "
                              "(installer.packages)"),
            std::string::npos)
      << lock.error();
}

}  // namespace
}  // namespace imager::repo
