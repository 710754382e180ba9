// SPDX-License-Identifier: GPL-3.0-or-later
#include "stages/offline_repo.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>

#include "base/fd.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "profiles/loader.h"
#include "repo/curl_fetcher.h"
#include "repo/debian.h"
#include "repo/resolve.h"
#include "repo/testing/deb_repo.h"

namespace imager::stages {
namespace {

namespace fs = std::filesystem;
namespace test = repo::test;
using Strings = std::vector<std::string>;

// The offline packages' files (resolved and fetched) as the build passes them to the stage.
Result<PackageFiles> Offline(const repo::Lock& lock, const std::string& cache_dir,
                             repo::Fetcher* fetcher) {
  auto got = repo::FetchPackages(lock, {.cache_dir = cache_dir, .fetcher = fetcher});
  if (!got) return got.take_error();
  size_t first = got->paths.size() - lock.offline.size();
  return PackageFiles{lock.offline,
                      {got->paths.begin() + static_cast<ptrdiff_t>(first), got->paths.end()},
                      lock.repositories};
}

// The host's apt-get against an offline repository tree: a private root (no host
// configuration), `keyring` as the only trusted key, and a dpkg status listing `installed`.
class Apt {
 public:
  Apt(const std::string& dir, const std::string& tree, const std::string& keyring,
      const std::vector<repo::LockedPackage>& installed, const std::string& sources = "")
      : dir_(dir) {
    for (const char* d : {"etc/apt/apt.conf.d", "etc/apt/preferences.d", "etc/apt/trusted.gpg.d",
                          "etc/apt/sources.list.d", "var/lib/apt/lists/partial",
                          "var/cache/apt/archives/partial", "var/lib/dpkg", "var/log/apt"})
      fs::create_directories(dir + "/" + d);
    fs::copy_file(keyring,
                  dir + "/etc/apt/trusted.gpg.d/archive" + fs::path(keyring).extension().string(),
                  fs::copy_options::overwrite_existing);
    // The installed packages' stanzas as the index has them (apt tells versions apart by their
    // dependencies too), marked installed.
    std::string index, status;
    test::Sh("xz -dc " + test::Q(tree) + "/dists/*/main/binary-amd64/Packages.xz", &index);
    std::map<std::string, std::string> stanzas;
    size_t at = 0;
    while (at < index.size()) {
      size_t end = index.find("\n\n", at);
      if (end == std::string::npos) end = index.size();
      std::string st = index.substr(at, end - at);
      at = end + 2;
      std::string name, version;
      for (const auto& line : Split(st, '\n')) {
        if (StartsWith(line, "Package: ")) name = line.substr(9);
        if (StartsWith(line, "Version: ")) version = line.substr(9);
      }
      stanzas[name + " " + version] = st;
    }
    for (const auto& p : installed) {
      auto it = stanzas.find(p.name + " " + p.version);
      std::string st = it != stanzas.end() ? it->second
                                           : "Package: " + p.name + "\nArchitecture: " + p.arch +
                                                 "\nVersion: " + p.version;
      status += st + "\nStatus: install ok installed\n\n";
    }
    (void)WriteFile(dir + "/var/lib/dpkg/status", status);
    (void)WriteFile(dir + "/etc/apt/sources.list",
                    sources.empty() ? "deb file:" + tree + " testing main\n" : sources);
    (void)WriteFile(dir + "/apt.conf", "Dir \"" + dir + "/\";\nDir::State::status \"" + dir +
                                           "/var/lib/dpkg/status\";\n"
                                           "APT::Architecture \"amd64\";\n"
                                           "APT::Architectures { \"amd64\"; };\n"
                                           "Acquire::Languages \"none\";\n"
                                           "APT::Sandbox::User \"\";\n"
                                           "Debug::NoLocking \"true\";\n");
  }
  int Run(const std::string& args, std::string* out) {
    return test::Sh("APT_CONFIG=" + test::Q(dir_ + "/apt.conf") + " apt-get -q " + args + " 2>&1",
                    out);
  }

 private:
  std::string dir_;
};

class OfflineRepoTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::string m = test::MissingTools(); !m.empty()) {
      missing_ = m;
      return;
    }
    dir_ = *MakeTempDir("/tmp", "imager-offline-repo-test-");
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
    cache_ = t_ + "/cache";
  }

  profiles::Profile Profile(const std::string& url, const Strings& offline) {
    std::string yaml =
        "name: fixture\noutput: {formats: [tar]}\n"
        "distribution: {family: debian, release: testing}\n"
        "repositories:\n  - {mirror: \"" +
        url + "\", suite: testing, keyring: " + key_->asc() + "}\npackages: {variant: essential}\n";
    EXPECT_TRUE(WriteFile(t_ + "/fixture.yaml", yaml));
    auto p = profiles::LoadProfile(t_ + "/fixture.yaml");
    EXPECT_TRUE(p) << p.error();
    if (!p) return profiles::Profile();
    p->installer.type = profiles::InstallerType::kCalamares;
    p->installer.offline_packages = offline;
    return *p;
  }
  Result<repo::Lock> Lock(const profiles::Profile& p) {
    return repo::Resolve(p, {.cache_dir = cache_, .fetcher = &fetcher_});
  }

  static inline std::string missing_, dir_;
  static inline test::GpgKey* key_ = nullptr;
  static inline test::DebRepo* repo_ = nullptr;
  static inline bool ready_ = false;
  std::string t_, cache_;
  test::FakeFetcher fetcher_;
};

TEST_F(OfflineRepoTest, TheMirrorsSignedMetadataAndThePoolOfTheOfflinePackages) {
  auto p = Profile(repo_->url(), {"grub-pc", "grub-efi-amd64"});
  auto lock = Lock(p);
  ASSERT_TRUE(lock) << lock.error();
  auto files = Offline(*lock, cache_, &fetcher_);
  ASSERT_TRUE(files) << files.error();
  ASSERT_TRUE(WriteOfflineRepo(p, cache_, *files, t_ + "/out"));
  const std::string tree = t_ + "/out/tree", src = repo_->root();
  // The distribution's files, verbatim.
  for (const char* f : {"/dists/testing/InRelease", "/dists/testing/main/binary-amd64/Packages.xz"})
    EXPECT_EQ(*ReadFile(tree + f), *ReadFile(src + f)) << f;
  EXPECT_FALSE(fs::exists(tree + "/dists/testing/Release"));
  // Every offline package at its Filename, and nothing of the target.
  Strings pool;
  for (const auto& e : fs::recursive_directory_iterator(tree + "/pool"))
    if (e.is_regular_file()) pool.push_back(fs::relative(e.path(), tree).string());
  std::sort(pool.begin(), pool.end());
  EXPECT_EQ(pool,
            (Strings{"pool/main/g/grub-efi-amd64_2.06-13_amd64.deb",
                     "pool/main/g/grub-pc_2.06-13_amd64.deb",
                     "pool/main/m/mokutil_0.6.0-2_amd64.deb", "pool/main/u/ucf_3.0043_all.deb"}));
  for (const auto& f : pool) EXPECT_EQ(*ReadFile(tree + "/" + f), *ReadFile(src + "/" + f)) << f;
  struct stat st;
  ASSERT_EQ(::stat((tree + "/" + pool[0]).c_str(), &st), 0);
  EXPECT_GE(st.st_nlink, 2u) << "hard link from the package cache";
  EXPECT_EQ(OfflineSourcesList(p, "/run/imager/medium"),
            "deb [lang=none] file:/run/imager/medium testing main\n");
}

TEST_F(OfflineRepoTest, AptAcceptsItOfflineAndRefusesTampering) {
  if (test::Sh("command -v apt-get") != 0) GTEST_SKIP() << "no apt-get";
  auto p = Profile(repo_->url(), {"grub-pc", "grub-efi-amd64"});
  auto lock = Lock(p);
  ASSERT_TRUE(lock) << lock.error();
  auto files = Offline(*lock, cache_, &fetcher_);
  ASSERT_TRUE(files) << files.error();
  ASSERT_TRUE(WriteOfflineRepo(p, cache_, *files, t_ + "/out"));
  const std::string tree = t_ + "/out/tree";
  // The installed system: the target's packages; apt installs each boot loader from the tree.
  std::string out;
  Apt apt(t_ + "/apt", tree, key_->gpg(), lock->packages);
  ASSERT_EQ(apt.Run("update", &out), 0) << out;
  for (const char* bootloader : {"grub-pc", "grub-efi-amd64"}) {
    ASSERT_EQ(apt.Run(std::string("install -y --download-only ") + bootloader, &out), 0) << out;
    EXPECT_NE(out.find("Download complete and in download only mode"), std::string::npos) << out;
  }
  // Another key: the signature is refused.
  test::GpgKey other(dir_ + "/k2", "Someone Else <else@example.invalid>");
  ASSERT_TRUE(other.ok());
  Apt stranger(t_ + "/apt-other", tree, other.gpg(), lock->packages);
  EXPECT_NE(stranger.Run("update", &out), 0) << out;
  EXPECT_NE(out.find("NO_PUBKEY " + key_->key_id()), std::string::npos) << out;
  // A changed Packages index: the signed hash no longer matches.
  {
    const std::string xz = tree + "/dists/testing/main/binary-amd64/Packages.xz";
    std::string text;
    ASSERT_EQ(test::Sh("xz -dc " + test::Q(xz), &text), 0);
    text += "\nPackage: evil\nVersion: 1\nArchitecture: all\nFilename: pool/evil.deb\n";
    fs::remove(xz);  // a hard link: never write through it
    ASSERT_TRUE(WriteFile(t_ + "/Packages", text));
    ASSERT_EQ(test::Sh("xz -c " + test::Q(t_ + "/Packages") + " > " + test::Q(xz)), 0);
    Apt tampered(t_ + "/apt-index", tree, key_->gpg(), lock->packages);
    EXPECT_NE(tampered.Run("update", &out), 0) << out;
    EXPECT_TRUE(out.find("Hash Sum mismatch") != std::string::npos ||
                out.find("unexpected size") != std::string::npos)
        << out;
  }
  // A changed package: apt refuses to use it.
  ASSERT_TRUE(WriteOfflineRepo(p, cache_, *files, t_ + "/out2"));
  const std::string deb = t_ + "/out2/tree/pool/main/g/grub-pc_2.06-13_amd64.deb";
  auto bytes = ReadFile(deb);
  ASSERT_TRUE(bytes);
  (*bytes)[bytes->size() - 10] ^= 1;
  fs::remove(deb);
  ASSERT_TRUE(WriteFile(deb, *bytes));
  Apt bad_deb(t_ + "/apt-deb", t_ + "/out2/tree", key_->gpg(), lock->packages);
  ASSERT_EQ(bad_deb.Run("update", &out), 0) << out;
  EXPECT_NE(bad_deb.Run("install -y --download-only grub-pc", &out), 0) << out;
  EXPECT_NE(out.find("Hash Sum mismatch"), std::string::npos) << out;
}

TEST_F(OfflineRepoTest, TheLocksMetadataSurvivesARefreshedCacheElseAClearError) {
  test::DebRepo copy = repo_->CopyTo(t_ + "/mirror");
  auto p = Profile(copy.url(), {"grub-pc"});
  auto lock = Lock(p);
  ASSERT_TRUE(lock) << lock.error();
  auto files = Offline(*lock, cache_, &fetcher_);
  ASSERT_TRUE(files) << files.error();
  const std::string original = *ReadFile(copy.root() + "/dists/testing/InRelease");
  // The mirror moves on and another resolution refreshes the cache's copy of its metadata.
  ASSERT_TRUE(copy.Publish({.date = "Sun, 11 Jun 2023 08:37:11 UTC"}, key_));
  auto newer = Lock(p);
  ASSERT_TRUE(newer) << newer.error();
  ASSERT_NE(newer->repositories[0].sha256, lock->repositories[0].sha256);
  auto kept = WriteOfflineRepo(p, cache_, *files, t_ + "/out");
  ASSERT_TRUE(kept) << kept.error();
  EXPECT_EQ(*ReadFile(t_ + "/out/tree/dists/testing/InRelease"), original);
  // Without the kept copy, the error says what to do.
  ASSERT_TRUE(RemoveTree(cache_ + "/metadata/sha256"));
  auto st = WriteOfflineRepo(p, cache_, *files, t_ + "/out2");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().find("does not hold the version the lock was solved against (sha256 " +
                            lock->repositories[0].sha256 + ")"),
            std::string::npos)
      << st.error();
  EXPECT_NE(st.error().find("run 'imager resolve'"), std::string::npos) << st.error();
}

TEST_F(OfflineRepoTest, StageKeyAndRpmIsNotImplementedYet) {
  auto p = Profile(repo_->url(), {"grub-pc"});
  BuildOptions o;
  o.cache_dir = cache_;
  o.offline_packages.packages = {
      {"grub-pc", "2.06-13", "amd64", repo_->url() + "/pool/x.deb", std::string(64, 'a'), 1}};
  o.offline_packages.repositories = {{repo_->url(), "testing", "d", "r", std::string(64, 'b')}};
  Stage s = OfflineRepoStage(p, o.cache_dir, o.offline_packages);
  EXPECT_EQ(s.name, "offline-repo");
  EXPECT_EQ(s.output, OutputKind::kArtifact);
  auto has = [&](const Stage& st, const std::string& value) {  // a sha256 is part of the key
    for (const auto& in : st.inputs)
      if (in.value.find(value) != std::string::npos) return true;
    return false;
  };
  EXPECT_TRUE(has(s, std::string(64, 'a')));
  EXPECT_TRUE(has(s, std::string(64, 'b')));
  EXPECT_TRUE(WantsOfflineRepo(p));
  p.installer.offline_packages.clear();
  EXPECT_FALSE(WantsOfflineRepo(p));
  p.repositories[0].type = profiles::RepoType::kRpmMd;
  auto st = WriteOfflineRepo(p, cache_, o.offline_packages, t_ + "/out");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().find("not implemented yet"), std::string::npos) << st.error();
}

// The real archive (`mirror: auto`, the distribution's keyring): the shipped profile with an
// installer and offline boot loaders; apt installs each from the tree as the installed system
// would. Network: runs only with IMAGER_NETWORK_TESTS=1 (ctest -L network).
TEST(OfflineRepoNetwork, DebianBookwormBootLoaders) {
  const char* enabled = getenv("IMAGER_NETWORK_TESTS");
  if (!enabled || std::string(enabled) != "1") GTEST_SKIP() << "set IMAGER_NETWORK_TESTS=1";
  if (test::Sh("command -v apt-get") != 0) GTEST_SKIP() << "no apt-get";
  std::string src = fs::path(__FILE__).parent_path().parent_path().string();
  auto p = profiles::LoadProfile(src + "/profiles/debian-live.yaml");
  ASSERT_TRUE(p) << p.error();
  p->installer.type = profiles::InstallerType::kCalamares;
  p->installer.offline_packages = {"grub-pc", "grub-efi-amd64"};
  p->output.formats = {profiles::Format::kTar};
  std::string dir = *MakeTempDir("/tmp", "imager-offline-repo-net-");
  const char* cache_env = getenv("IMAGER_TEST_CACHE");
  std::string cache = cache_env && *cache_env ? cache_env : dir + "/cache";
  auto curl = repo::MakeCurlFetcher({});
  auto lock = repo::Resolve(*p, {.cache_dir = cache, .fetcher = curl.get()});
  ASSERT_TRUE(lock) << lock.error();
  auto mb = [](const std::vector<repo::LockedPackage>& l) {
    int64_t n = 0;
    for (const auto& x : l) n += x.size;
    return std::to_string(n / 100000 / 10.0).substr(0, 5) + " MB";
  };
  std::string offline_names;
  for (const auto& x : lock->offline) offline_names += " " + x.name;
  std::cout << "target " << lock->packages.size() << " packages (" << mb(lock->packages)
            << "), installer " << lock->installer.size() << " (" << mb(lock->installer)
            << "), offline " << lock->offline.size() << " (" << mb(lock->offline)
            << "):" << offline_names << "\n";
  EXPECT_FALSE(lock->installer.empty());
  ASSERT_FALSE(lock->offline.empty());
  repo::Lock only = *lock;  // fetch only the offline packages
  only.packages.clear();
  only.tools.clear();
  only.installer.clear();
  auto files = Offline(only, cache, curl.get());
  ASSERT_TRUE(files) << files.error();
  ASSERT_TRUE(WriteOfflineRepo(*p, cache, *files, dir + "/out"));
  std::string out;
  Apt apt(dir + "/apt", dir + "/out/tree", p->repositories[0].keyring, lock->packages,
          OfflineSourcesList(*p, dir + "/out/tree"));
  ASSERT_EQ(apt.Run("update", &out), 0) << out;
  EXPECT_EQ(out.find("W:"), std::string::npos) << out;
  // The installed system asks for translations too (listed in InRelease, absent from the
  // tree): the sources line's lang=none keeps apt from asking.
  EXPECT_EQ(apt.Run("-o Acquire::Languages=en update", &out), 0) << out;
  // Recommends as the target has them (profile packages.recommends: false).
  for (const char* bootloader : {"grub-pc", "grub-efi-amd64"}) {
    ASSERT_EQ(
        apt.Run(std::string("install -y --no-install-recommends --download-only ") + bootloader,
                &out),
        0)
        << out;
    EXPECT_NE(out.find("\n0 upgraded,"), std::string::npos) << out;  // the target stays
    EXPECT_NE(out.find("Download complete and in download only mode"), std::string::npos) << out;
  }
  (void)RemoveTree(dir);
}

}  // namespace
}  // namespace imager::stages
