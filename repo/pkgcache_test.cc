// SPDX-License-Identifier: GPL-3.0-or-later
#include "repo/pkgcache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>

#include <filesystem>
#include <thread>

#include "base/fd.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "repo/curl_fetcher.h"
#include "repo/testing/http_server.h"

namespace imager::repo {
namespace {

using test::HttpServer;
using test::Route;

std::string Body(char c, size_t size) {
  std::string s(size, c);
  for (size_t i = 0; i < size; i += 7) s[i] = static_cast<char>('0' + i % 10);
  return s;
}

std::string Read(const std::string& path) {
  auto r = ReadFile(path);
  return r ? *r : "<" + r.error() + ">";
}

// Names of the files in `dir` that end in ".part".
std::vector<std::string> Parts(const std::string& dir) {
  std::vector<std::string> out;
  for (auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".part") out.push_back(e.path().filename());
  return out;
}

class PkgCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.ok());
    auto dir = MakeTempDir("/tmp", "pkgcache-test-");
    ASSERT_TRUE(dir) << dir.error();
    root_ = *dir;
    options_.retry_delay_ms = 1;
    for (char c : {'a', 'b', 'c'}) {
      std::string name(1, c);
      bodies_.push_back(Body(c, 3000 + static_cast<size_t>(c)));
      server_.Set("/" + name + ".deb", Route{.body = bodies_.back()});
      refs_.push_back(PackageRef{name, server_.Url("/" + name + ".deb"), Sha256Hex(bodies_.back()),
                                 static_cast<int64_t>(bodies_.back().size())});
    }
  }
  void TearDown() override { ASSERT_TRUE(RemoveTree(root_)); }

  Result<EnsureResult> Ensure(const std::vector<PackageRef>& refs, bool offline = false) {
    CurlFetcher fetcher(options_);
    return PackageCache(root_).Ensure(refs, fetcher, {}, {.offline = offline});
  }
  std::string DirOf(const PackageRef& r) {
    return root_ + "/packages/sha256/" + r.sha256.substr(0, 2);
  }

  HttpServer server_;
  std::string root_;
  FetchOptions options_;
  std::vector<std::string> bodies_;
  std::vector<PackageRef> refs_;
};

TEST_F(PkgCacheTest, PathIsContentAddressed) {
  std::string hex = Sha256Hex("x");
  EXPECT_EQ(PackageCache("/c").PathFor(hex), "/c/packages/sha256/" + hex.substr(0, 2) + "/" + hex);
}

TEST_F(PkgCacheTest, FetchesOnceThenServesFromTheCache) {
  auto first = Ensure(refs_);
  ASSERT_TRUE(first) << first.error();
  EXPECT_EQ(first->fetched, 3);
  EXPECT_EQ(first->cached, 0);
  EXPECT_EQ(first->bytes_fetched, 3000 * 3 + 'a' + 'b' + 'c');
  ASSERT_EQ(first->paths.size(), 3u);
  PackageCache cache(root_);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(first->paths[i], cache.PathFor(refs_[i].sha256));
    EXPECT_EQ(Read(first->paths[i]), bodies_[i]);
    EXPECT_EQ(Parts(DirOf(refs_[i])), std::vector<std::string>{});
  }
  auto second = Ensure(refs_);
  ASSERT_TRUE(second) << second.error();
  EXPECT_EQ(second->fetched, 0);
  EXPECT_EQ(second->cached, 3);
  EXPECT_EQ(second->bytes_fetched, 0);
  EXPECT_EQ(second->paths, first->paths);
  EXPECT_EQ(server_.Requests().size(), 3u);
}

TEST_F(PkgCacheTest, VerifyDetectsAndRemovesACorruptEntry) {
  ASSERT_TRUE(Ensure(refs_));
  PackageCache cache(root_);
  std::string path = cache.PathFor(refs_[1].sha256);
  auto ok = cache.Verify(refs_[1].sha256, refs_[1].size);
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_TRUE(*ok);
  std::string bad = bodies_[1];
  bad[100] ^= 1;  // same size, different content
  ASSERT_TRUE(WriteFile(path, bad));
  auto corrupt = cache.Verify(refs_[1].sha256, refs_[1].size);
  ASSERT_TRUE(corrupt) << corrupt.error();
  EXPECT_FALSE(*corrupt);
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(PkgCacheTest, CorruptEntryIsFetchedAgain) {
  ASSERT_TRUE(Ensure(refs_));
  std::string path = PackageCache(root_).PathFor(refs_[2].sha256);
  ASSERT_TRUE(WriteFile(path, "truncated"));
  auto r = Ensure(refs_);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->fetched, 1);
  EXPECT_EQ(r->cached, 2);
  EXPECT_EQ(r->corrupt, std::vector<std::string>{"c"});
  EXPECT_EQ(Read(path), bodies_[2]);
  EXPECT_EQ(server_.RequestsFor("/c.deb").size(), 2u);
}

TEST_F(PkgCacheTest, OfflineNamesEveryMissingPackage) {
  ASSERT_TRUE(Ensure({refs_[0]}));
  auto r = Ensure(refs_, /*offline=*/true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "offline, and 2 of 3 packages are not in the cache " + root_ +
                           "/packages:\n  b (sha256 " + refs_[1].sha256 + ")\n  c (sha256 " +
                           refs_[2].sha256 + ")");
  EXPECT_EQ(server_.Requests().size(), 1u);
}

TEST_F(PkgCacheTest, OfflineWithEverythingCachedSucceeds) {
  ASSERT_TRUE(Ensure(refs_));
  auto r = Ensure(refs_, /*offline=*/true);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->cached, 3);
}

TEST_F(PkgCacheTest, DuplicateRefsAreFetchedOnce) {
  auto r = Ensure({refs_[0], refs_[0]});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->fetched, 1);
  EXPECT_EQ(r->paths[0], r->paths[1]);
  EXPECT_EQ(server_.Requests().size(), 1u);
}

TEST_F(PkgCacheTest, RejectsRefsWithoutAUsableSha256) {
  PackageRef bad{"evil", server_.Url("/a.deb"), "../../etc/passwd", 1};
  auto r = Ensure({bad});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(),
            "package cache: evil: \"../../etc/passwd\" is not a sha256 (64 lowercase hex digits)");
  EXPECT_EQ(server_.Requests().size(), 0u);
}

TEST_F(PkgCacheTest, FailedDownloadNamesTheUrlAndLeavesNoFiles) {
  PackageRef gone{"gone", server_.Url("/gone.deb"), Sha256Hex("gone"), 4};
  auto r = Ensure({gone});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "download " + gone.url + ": HTTP 404 Not Found");
  EXPECT_EQ(Parts(DirOf(gone)), std::vector<std::string>{});
  EXPECT_FALSE(std::filesystem::exists(PackageCache(root_).PathFor(gone.sha256)));
}

TEST_F(PkgCacheTest, TakesOverAPartialFileOfAProcessThatIsGone) {
  const PackageRef& ref = refs_[0];
  std::string dir = DirOf(ref);
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(WriteFile(dir + "/" + ref.sha256 + ".4242-0123456789abcdef.part",
                        bodies_[0].substr(0, 1000)));
  auto r = Ensure({ref});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->bytes_fetched, ref.size - 1000);
  EXPECT_EQ(Read(r->paths[0]), bodies_[0]);
  EXPECT_EQ(Parts(dir), std::vector<std::string>{});
  auto seen = server_.Requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].Header("range"), "bytes=1000-");
}

TEST_F(PkgCacheTest, LeavesThePartialFileOfALiveProcessAlone) {
  const PackageRef& ref = refs_[0];
  std::string dir = DirOf(ref);
  std::filesystem::create_directories(dir);
  std::string theirs = ref.sha256 + ".4243-fedcba9876543210.part";
  ASSERT_TRUE(WriteFile(dir + "/" + theirs, bodies_[0].substr(0, 1000)));
  UniqueFd held(::open((dir + "/" + theirs).c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_EQ(::flock(held.get(), LOCK_EX), 0);
  auto r = Ensure({ref});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(Read(r->paths[0]), bodies_[0]);
  EXPECT_EQ(Parts(dir), std::vector<std::string>{theirs});
  EXPECT_EQ(server_.Requests()[0].Header("range"), "");
}

TEST_F(PkgCacheTest, ConcurrentBuildsFetchingTheSamePackagesBothSucceed) {
  for (size_t i = 0; i < refs_.size(); ++i)
    server_.Set("/" + refs_[i].name + ".deb", Route{.body = bodies_[i], .delay_ms = 200});
  Result<EnsureResult> one = Error{"not run"}, two = Error{"not run"};
  std::thread t1([&] { one = Ensure(refs_); });
  std::thread t2([&] { two = Ensure(refs_); });
  t1.join();
  t2.join();
  ASSERT_TRUE(one) << one.error();
  ASSERT_TRUE(two) << two.error();
  EXPECT_EQ(one->fetched, 3);
  EXPECT_EQ(two->fetched, 3);
  for (size_t i = 0; i < refs_.size(); ++i) {
    EXPECT_EQ(Read(one->paths[i]), bodies_[i]);
    EXPECT_EQ(Parts(DirOf(refs_[i])), std::vector<std::string>{});
  }
  EXPECT_EQ(server_.Requests().size(), 6u);
  EXPECT_EQ(server_.max_concurrent(), 6);
}

}  // namespace
}  // namespace imager::repo
