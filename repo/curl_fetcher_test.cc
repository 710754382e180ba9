// SPDX-License-Identifier: GPL-3.0-or-later
#include "repo/curl_fetcher.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "base/fd.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "repo/testing/http_server.h"

namespace imager::repo {
namespace {

using test::HttpServer;
using test::Route;

::testing::AssertionResult HasPrefix(const std::string& s, const std::string& prefix) {
  if (StartsWith(s, prefix)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "\"" << s << "\"\ndoes not start with\n\"" << prefix << "\"";
}

::testing::AssertionResult Contains(const std::string& s, const std::string& part) {
  if (s.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << s << "\"\ndoes not contain\n\"" << part << "\"";
}

// Deterministic, distinct content for file `i`.
std::string Body(int i, size_t size) {
  std::string s(size, '\0');
  for (size_t j = 0; j < size; ++j) s[j] = static_cast<char>('a' + (i * 7 + j * 13) % 26);
  return s;
}

bool Exists(const std::string& path) { return std::filesystem::exists(path); }

std::string Read(const std::string& path) {
  auto r = ReadFile(path);
  return r ? *r : "<" + r.error() + ">";
}

class CurlFetcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.ok());
    auto dir = MakeTempDir("/tmp", "fetch-test-");
    ASSERT_TRUE(dir) << dir.error();
    dir_ = *dir;
    options_.retry_delay_ms = 1;
  }
  void TearDown() override { ASSERT_TRUE(RemoveTree(dir_)); }

  // A request for `path` on the server, with the body's size and sha256.
  FetchRequest Req(const std::string& path, const std::string& body) {
    FetchRequest r;
    r.url = server_.Url(path);
    r.dest = dir_ + path;
    r.sha256 = Sha256Hex(body);
    r.size = static_cast<int64_t>(body.size());
    return r;
  }

  Result<std::vector<FetchResult>> Fetch(const std::vector<FetchRequest>& reqs,
                                         const ProgressFn& progress = {}) {
    return CurlFetcher(options_).FetchAll(reqs, progress);
  }

  HttpServer server_;
  std::string dir_;
  FetchOptions options_;
};

TEST_F(CurlFetcherTest, FetchesManyFilesInParallelUpToTheLimit) {
  std::vector<FetchRequest> reqs;
  for (int i = 0; i < 20; ++i) {
    std::string path = "/f" + std::to_string(i);
    std::string body = Body(i, 10000 + static_cast<size_t>(i));
    server_.Set(path, Route{.body = body, .delay_ms = 150});
    reqs.push_back(Req(path, body));
  }
  options_.parallel = 8;
  auto r = Fetch(reqs);
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ(r->size(), 20u);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(Read(reqs[i].dest), Body(i, 10000 + static_cast<size_t>(i))) << i;
    EXPECT_EQ((*r)[i].bytes, 10000 + i);
    EXPECT_FALSE((*r)[i].not_modified);
    EXPECT_FALSE(Exists(reqs[i].dest + ".part"));
    EXPECT_EQ(server_.RequestsFor("/f" + std::to_string(i)).size(), 1u);
  }
  EXPECT_EQ(server_.max_concurrent(), 8);
}

TEST_F(CurlFetcherTest, Sha256MismatchNamesUrlAndBothHashesAndLeavesNothing) {
  server_.Set("/p.deb", Route{.body = "tampered"});
  FetchRequest req = Req("/p.deb", "original");
  req.size = -1;
  auto r = Fetch({req});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "download " + req.url + ": sha256 mismatch: expected " +
                           Sha256Hex("original") + ", got " + Sha256Hex("tampered"));
  EXPECT_FALSE(Exists(req.dest));
  EXPECT_FALSE(Exists(req.dest + ".part"));
  EXPECT_EQ(server_.Requests().size(), 1u);  // not retried
}

TEST_F(CurlFetcherTest, ShortBodyIsASizeMismatch) {
  server_.Set("/p.deb", Route{.body = "hello"});
  FetchRequest req = Req("/p.deb", "hello");
  req.size = 10;
  auto r = Fetch({req});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "download " + req.url + ": size mismatch: expected 10 bytes, got 5");
  EXPECT_FALSE(Exists(req.dest));
  EXPECT_FALSE(Exists(req.dest + ".part"));
}

TEST_F(CurlFetcherTest, LongBodyIsStoppedAsASizeMismatch) {
  server_.Set("/p.deb", Route{.body = Body(1, 100)});
  FetchRequest req = Req("/p.deb", Body(1, 100));
  req.size = 50;
  auto r = Fetch({req});
  ASSERT_FALSE(r);
  EXPECT_TRUE(HasPrefix(
      r.error(), "download " + req.url + ": size mismatch: expected 50 bytes, got at least "));
  EXPECT_FALSE(Exists(req.dest));
  EXPECT_FALSE(Exists(req.dest + ".part"));
}

TEST_F(CurlFetcherTest, NotFoundIsNotRetriedAndNamesUrlAndStatus) {
  FetchRequest req = Req("/missing.deb", "x");
  auto r = Fetch({req});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "download " + req.url + ": HTTP 404 Not Found");
  EXPECT_EQ(server_.Requests().size(), 1u);
  EXPECT_FALSE(Exists(req.dest));
  EXPECT_FALSE(Exists(req.dest + ".part"));  // the error page was not written
}

TEST_F(CurlFetcherTest, ServerErrorTwiceThenSuccess) {
  server_.Set("/p.deb", Route{.body = "payload", .fail_times = 2, .fail_status = 500});
  FetchRequest req = Req("/p.deb", "payload");
  auto r = Fetch({req});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(Read(req.dest), "payload");
  auto seen = server_.RequestsFor("/p.deb");
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].status, 500);
  EXPECT_EQ(seen[1].status, 500);
  EXPECT_EQ(seen[2].status, 200);
}

TEST_F(CurlFetcherTest, TooManyRequestsIsRetried) {
  server_.Set("/p.deb", Route{.body = "payload", .fail_times = 1, .fail_status = 429});
  auto r = Fetch({Req("/p.deb", "payload")});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(server_.Requests().size(), 2u);
}

TEST_F(CurlFetcherTest, GivesUpAfterTheRetriesWithTheLastError) {
  server_.Set("/p.deb", Route{.body = "payload", .fail_times = 100, .fail_status = 503});
  options_.retries = 2;
  FetchRequest req = Req("/p.deb", "payload");
  auto start = std::chrono::steady_clock::now();
  auto r = Fetch({req});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "download " + req.url +
                           ": HTTP 503 Service Unavailable (gave up after 3 attempts; the mirror "
                           "or the network is failing: try again later, or use another mirror)");
  EXPECT_EQ(server_.Requests().size(), 3u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(CurlFetcherTest, BackoffDoublesFromTheBaseDelay) {
  server_.Set("/p.deb", Route{.body = "payload", .fail_times = 2, .fail_status = 500});
  options_.retry_delay_ms = 100;  // waits 100 ms, then 200 ms
  auto start = std::chrono::steady_clock::now();
  auto r = Fetch({Req("/p.deb", "payload")});
  ASSERT_TRUE(r) << r.error();
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
}

TEST_F(CurlFetcherTest, TruncatedBodyIsResumedOnRetry) {
  std::string body = Body(3, 4000);
  server_.Set("/p.deb", Route{.body = body, .truncate_times = 1});
  FetchRequest req = Req("/p.deb", body);
  auto r = Fetch({req});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(Read(req.dest), body);
  auto seen = server_.RequestsFor("/p.deb");
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].Header("range"), "");
  EXPECT_EQ(seen[1].Header("range"), "bytes=2000-");
  EXPECT_EQ(seen[1].status, 206);
  EXPECT_EQ((*r)[0].bytes, 4000);  // 2000 before the cut, 2000 after
}

TEST_F(CurlFetcherTest, ResumesAnExistingPartialFile) {
  std::string body = Body(4, 5000);
  server_.Set("/p.deb", Route{.body = body});
  FetchRequest req = Req("/p.deb", body);
  ASSERT_TRUE(WriteFile(req.dest + ".part", body.substr(0, 1000)));
  auto r = Fetch({req});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(Read(req.dest), body);
  EXPECT_FALSE(Exists(req.dest + ".part"));
  auto seen = server_.Requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].Header("range"), "bytes=1000-");
  EXPECT_EQ(seen[0].status, 206);
  EXPECT_EQ((*r)[0].bytes, 4000);
}

TEST_F(CurlFetcherTest, ServerIgnoringRangeRestartsFromZero) {
  std::string body = Body(5, 5000);
  server_.Set("/p.deb", Route{.body = body, .ranges = false});
  FetchRequest req = Req("/p.deb", body);
  ASSERT_TRUE(WriteFile(req.dest + ".part", body.substr(0, 1000)));
  auto r = Fetch({req});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(Read(req.dest), body);
  auto seen = server_.Requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].Header("range"), "bytes=1000-");
  EXPECT_EQ(seen[0].status, 200);
  EXPECT_EQ((*r)[0].bytes, 5000);
}

TEST_F(CurlFetcherTest, BadPartialFileIsFetchedAgainFromZero) {
  std::string body = Body(6, 5000);
  server_.Set("/p.deb", Route{.body = body});
  FetchRequest req = Req("/p.deb", body);
  ASSERT_TRUE(WriteFile(req.dest + ".part", std::string(1000, 'X')));
  auto r = Fetch({req});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(Read(req.dest), body);
  auto seen = server_.Requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].Header("range"), "bytes=1000-");
  EXPECT_EQ(seen[1].Header("range"), "");
}

TEST_F(CurlFetcherTest, CompletePartialFileNeedsNoTransfer) {
  std::string body = Body(7, 3000);
  FetchRequest req = Req("/p.deb", body);
  ASSERT_TRUE(WriteFile(req.dest + ".part", body));
  auto r = Fetch({req});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(Read(req.dest), body);
  EXPECT_EQ((*r)[0].bytes, 0);
  EXPECT_EQ(server_.Requests().size(), 0u);
}

TEST_F(CurlFetcherTest, RangeBeyondTheEndRestartsFromZero) {
  server_.Set("/Release", Route{.body = "short"});
  FetchRequest req{
      .url = server_.Url("/Release"), .dest = dir_ + "/Release", .sha256 = Sha256Hex("short")};
  ASSERT_TRUE(WriteFile(req.dest + ".part", "a much longer stale partial file"));
  auto r = Fetch({req});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(Read(req.dest), "short");
  auto seen = server_.Requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].status, 416);
  EXPECT_EQ(seen[1].Header("range"), "");
}

TEST_F(CurlFetcherTest, PartialFileFromBeforeIsNotResumedWithoutSha256) {
  server_.Set("/InRelease", Route{.body = "version two of the file"});
  FetchRequest req{.url = server_.Url("/InRelease"), .dest = dir_ + "/InRelease"};
  ASSERT_TRUE(WriteFile(req.dest + ".part", "version one"));
  auto r = Fetch({req});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(Read(req.dest), "version two of the file");
  auto seen = server_.Requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].Header("range"), "");
}

TEST_F(CurlFetcherTest, TruncatedBodyWithoutSha256IsResumedWithinTheBatch) {
  std::string body = Body(9, 4000);
  server_.Set("/InRelease", Route{.body = body, .truncate_times = 1});
  FetchRequest req{.url = server_.Url("/InRelease"), .dest = dir_ + "/InRelease"};
  auto r = Fetch({req});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(Read(req.dest), body);
  auto seen = server_.Requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1].Header("range"), "bytes=2000-");
}

TEST_F(CurlFetcherTest, StallIsBoundedAndNamed) {
  server_.Set("/p.deb", Route{.body = "payload", .delay_ms = 3000});
  options_.low_speed_timeout_s = 1;
  options_.retries = 0;
  FetchRequest req = Req("/p.deb", "payload");
  auto start = std::chrono::steady_clock::now();
  auto r = Fetch({req});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "download " + req.url +
                           ": stalled: less than 1 KiB/s arrived in 1 s (gave up after 1 attempt; "
                           "the mirror or the network is failing: try again later, or use "
                           "another mirror)");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2900));
  EXPECT_FALSE(Exists(req.dest));
}

TEST_F(CurlFetcherTest, ConditionalOnTheCachedCopyLeavesTheStagedDestAlone) {
  server_.Set("/InRelease", Route{.body = "new", .etag = "\"v1\""});
  FetchRequest req{.url = server_.Url("/InRelease"),
                   .dest = dir_ + "/InRelease.new",
                   .etag = "\"v1\"",
                   .cached = dir_ + "/InRelease"};
  ASSERT_TRUE(WriteFile(dir_ + "/InRelease", "old"));
  auto r = Fetch({req});
  ASSERT_TRUE(r) << r.error();
  EXPECT_TRUE((*r)[0].not_modified);
  EXPECT_FALSE(Exists(req.dest));
  EXPECT_EQ(Read(dir_ + "/InRelease"), "old");
  server_.Set("/InRelease", Route{.body = "new", .etag = "\"v2\""});
  r = Fetch({req});
  ASSERT_TRUE(r) << r.error();
  EXPECT_FALSE((*r)[0].not_modified);
  EXPECT_EQ(Read(req.dest), "new");
  EXPECT_EQ(Read(dir_ + "/InRelease"), "old");
}

TEST_F(CurlFetcherTest, EtagNotModifiedKeepsDest) {
  server_.Set("/InRelease", Route{.body = "new", .etag = "\"v1\""});
  FetchRequest req{.url = server_.Url("/InRelease"), .dest = dir_ + "/InRelease", .etag = "\"v1\""};
  ASSERT_TRUE(WriteFile(req.dest, "old"));
  auto r = Fetch({req});
  ASSERT_TRUE(r) << r.error();
  EXPECT_TRUE((*r)[0].not_modified);
  EXPECT_EQ((*r)[0].etag, "\"v1\"");
  EXPECT_EQ((*r)[0].bytes, 0);
  EXPECT_EQ(Read(req.dest), "old");
  EXPECT_FALSE(Exists(req.dest + ".part"));
  auto seen = server_.Requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].Header("if-none-match"), "\"v1\"");
  EXPECT_EQ(seen[0].status, 304);
}

TEST_F(CurlFetcherTest, LastModifiedNotModifiedKeepsDest) {
  server_.Set("/InRelease", Route{.body = "new", .last_modified = 1700000000});
  FetchRequest req{
      .url = server_.Url("/InRelease"), .dest = dir_ + "/InRelease", .last_modified = 1700000000};
  ASSERT_TRUE(WriteFile(req.dest, "old"));
  auto r = Fetch({req});
  ASSERT_TRUE(r) << r.error();
  EXPECT_TRUE((*r)[0].not_modified);
  EXPECT_EQ((*r)[0].last_modified, 1700000000);
  EXPECT_EQ(Read(req.dest), "old");
  auto seen = server_.Requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].Header("if-modified-since"), HttpServer::HttpDate(1700000000));
}

TEST_F(CurlFetcherTest, ChangedResourceReplacesDestAndReportsNewValidators) {
  server_.Set("/InRelease", Route{.body = "new", .etag = "\"v2\"", .last_modified = 1700000100});
  FetchRequest req{.url = server_.Url("/InRelease"), .dest = dir_ + "/InRelease", .etag = "\"v1\""};
  ASSERT_TRUE(WriteFile(req.dest, "old"));
  auto r = Fetch({req});
  ASSERT_TRUE(r) << r.error();
  EXPECT_FALSE((*r)[0].not_modified);
  EXPECT_EQ((*r)[0].etag, "\"v2\"");
  EXPECT_EQ((*r)[0].last_modified, 1700000100);
  EXPECT_EQ(Read(req.dest), "new");
}

TEST_F(CurlFetcherTest, NoConditionalRequestWithoutDest) {
  server_.Set("/InRelease", Route{.body = "new", .etag = "\"v1\""});
  FetchRequest req{.url = server_.Url("/InRelease"), .dest = dir_ + "/InRelease", .etag = "\"v1\""};
  auto r = Fetch({req});
  ASSERT_TRUE(r) << r.error();
  EXPECT_FALSE((*r)[0].not_modified);
  EXPECT_EQ(Read(req.dest), "new");
  EXPECT_EQ(server_.Requests()[0].Header("if-none-match"), "");
}

TEST_F(CurlFetcherTest, FileUrlsFetchAndResume) {
  std::string body = Body(8, 3000);
  std::string src = dir_ + "/src.deb";
  ASSERT_TRUE(WriteFile(src, body));
  FetchRequest a{.url = "file://" + src, .dest = dir_ + "/a.deb", .sha256 = Sha256Hex(body)};
  FetchRequest b{.url = "file://" + src, .dest = dir_ + "/b.deb", .sha256 = Sha256Hex(body)};
  ASSERT_TRUE(WriteFile(b.dest + ".part", body.substr(0, 1200)));
  auto r = Fetch({a, b});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(Read(a.dest), body);
  EXPECT_EQ(Read(b.dest), body);
  EXPECT_EQ((*r)[0].bytes, 3000);
  EXPECT_EQ((*r)[1].bytes, 1800);
}

TEST_F(CurlFetcherTest, MissingFileUrlIsAnErrorWithCurlText) {
  std::string url = "file://" + dir_ + "/nothing.deb";
  auto r = Fetch({FetchRequest{.url = url, .dest = dir_ + "/x.deb"}});
  ASSERT_FALSE(r);
  EXPECT_TRUE(HasPrefix(r.error(), "download " + url + ": Couldn't read a file:// file ("));
  EXPECT_EQ(server_.Requests().size(), 0u);
}

TEST_F(CurlFetcherTest, ConnectionRefusedIsRetriedThenNamesCurlError) {
  int port = 0;
  {
    UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
    ASSERT_EQ(::getsockname(s.get(), reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port = ntohs(addr.sin_port);
  }  // closed without listening: connections are refused
  options_.retries = 1;
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/p.deb";
  auto r = Fetch({FetchRequest{.url = url, .dest = dir_ + "/p.deb"}});
  ASSERT_FALSE(r);
  EXPECT_TRUE(HasPrefix(r.error(), "download " + url + ": Couldn't connect to server (Failed " +
                                       "to connect to 127.0.0.1 port " + std::to_string(port)));
  EXPECT_TRUE(Contains(r.error(), "(gave up after 2 attempts; "));
}

TEST_F(CurlFetcherTest, EveryFailureIsNamedAndGoodFilesStay) {
  server_.Set("/good", Route{.body = "good"});
  server_.Set("/forbidden", Route{.body = "x", .fail_times = 100, .fail_status = 403});
  auto r = Fetch({Req("/missing", "x"), Req("/good", "good"), Req("/forbidden", "x")});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "2 of 3 downloads failed:\ndownload " + server_.Url("/missing") +
                           ": HTTP 404 Not Found\ndownload " + server_.Url("/forbidden") +
                           ": HTTP 403 Forbidden");
  EXPECT_EQ(Read(dir_ + "/good"), "good");
  EXPECT_EQ(server_.Requests().size(), 3u);
}

TEST_F(CurlFetcherTest, ProgressIsRateLimitedAndEndsWithAFinalCall) {
  std::vector<FetchRequest> reqs;
  for (int i = 0; i < 10; ++i) {
    std::string path = "/f" + std::to_string(i);
    server_.Set(path, Route{.body = Body(i, 100000), .delay_ms = 50 * i});
    reqs.push_back(Req(path, Body(i, 100000)));
  }
  options_.parallel = 10;
  std::vector<FetchProgress> calls;
  auto start = std::chrono::steady_clock::now();
  auto r = Fetch(reqs, [&](const FetchProgress& p) { calls.push_back(p); });
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(r) << r.error();
  ASSERT_FALSE(calls.empty());
  EXPECT_LE(calls.size(), static_cast<size_t>(seconds * 10) + 2);
  EXPECT_GE(calls.size(), 3u);  // the 450 ms of staggered answers span several reports
  const FetchProgress& last = calls.back();
  EXPECT_EQ(last.files_done, 10);
  EXPECT_EQ(last.files_total, 10);
  EXPECT_EQ(last.bytes_done, 1000000);
  EXPECT_EQ(last.bytes_total, 1000000);
  for (size_t i = 1; i < calls.size(); ++i) EXPECT_GE(calls[i].bytes_done, calls[i - 1].bytes_done);
}

TEST_F(CurlFetcherTest, UnknownSizesMakeTheTotalUnknown) {
  server_.Set("/a", Route{.body = "aaa"});
  std::vector<FetchProgress> calls;
  auto r = Fetch({FetchRequest{.url = server_.Url("/a"), .dest = dir_ + "/a"}},
                 [&](const FetchProgress& p) { calls.push_back(p); });
  ASSERT_TRUE(r) << r.error();
  ASSERT_FALSE(calls.empty());
  EXPECT_EQ(calls.back().bytes_total, -1);
  EXPECT_EQ(calls.back().bytes_done, 3);
}

TEST_F(CurlFetcherTest, RejectsTwoRequestsForOnePartialFile) {
  FetchRequest a = Req("/a", "a");
  auto r = Fetch({a, a});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "two requests download into " + a.dest + ".part (" + a.url + ")");
  EXPECT_EQ(server_.Requests().size(), 0u);
}

TEST_F(CurlFetcherTest, EmptyBatchIsEmpty) {
  auto r = Fetch({});
  ASSERT_TRUE(r) << r.error();
  EXPECT_TRUE(r->empty());
}

TEST_F(CurlFetcherTest, ExplicitPartPathIsUsed) {
  server_.Set("/p.deb", Route{.body = Body(9, 2000)});
  FetchRequest req = Req("/p.deb", Body(9, 2000));
  req.part = dir_ + "/p.deb.mine.part";
  ASSERT_TRUE(WriteFile(req.part, Body(9, 2000).substr(0, 500)));
  auto r = Fetch({req});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(Read(req.dest), Body(9, 2000));
  EXPECT_FALSE(Exists(req.part));
  EXPECT_EQ(server_.Requests()[0].Header("range"), "bytes=500-");
}

}  // namespace
}  // namespace imager::repo
