// SPDX-License-Identifier: GPL-3.0-or-later
#include "oci/registry.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>

#include "base/fd.h"
#include "base/fs.h"
#include "base/sha256.h"

namespace imager::oci {
namespace {

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// ---- references --------------------------------------------------------------------------------

TEST(RegistryRefTest, ParsesHostPortRepositoryAndTag) {
  auto r = ParseRegistryRef("docker://registry.example.com:5000/imager/cache/x:v1.2");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->host, "registry.example.com:5000");
  EXPECT_EQ(r->repository, "imager/cache/x");
  EXPECT_EQ(r->tag, "v1.2");
  EXPECT_EQ(r->ToString(), "docker://registry.example.com:5000/imager/cache/x:v1.2");
}

TEST(RegistryRefTest, AcceptsWithoutTransportAndWithoutTag) {
  auto r = ParseRegistryRef("localhost/cache");
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->host, "localhost");
  EXPECT_EQ(r->repository, "cache");
  EXPECT_EQ(r->tag, "");
  EXPECT_EQ(r->ToString(), "docker://localhost/cache");
  auto p = ParseRegistryRef("127.0.0.1:5000/a__b.c-d/e--f:latest");
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->host, "127.0.0.1:5000");
  EXPECT_EQ(p->repository, "a__b.c-d/e--f");
  auto v6 = ParseRegistryRef("docker://[::1]:5000/cache:t");
  ASSERT_TRUE(v6) << v6.error();
  EXPECT_EQ(v6->host, "[::1]:5000");
}

TEST(RegistryRefTest, RefusesAReferenceWithoutHost) {
  auto r = ParseRegistryRef("docker://library/debian:12");
  ASSERT_FALSE(r);
  EXPECT_TRUE(Contains(r.error(), "no registry host")) << r.error();
  EXPECT_TRUE(Contains(r.error(), "'docker://library/debian:12'")) << r.error();
  auto host_only = ParseRegistryRef("docker://localhost:5000");
  ASSERT_FALSE(host_only);
  EXPECT_TRUE(Contains(host_only.error(), "no repository after the host 'localhost:5000'"))
      << host_only.error();
  EXPECT_FALSE(ParseRegistryRef("debian"));
  EXPECT_FALSE(ParseRegistryRef(""));
  EXPECT_FALSE(ParseRegistryRef("docker://"));
}

TEST(RegistryRefTest, NamesEveryProblem) {
  auto r = ParseRegistryRef("docker://reg.example.com/Imager/ca..che:-bad");
  ASSERT_FALSE(r);
  EXPECT_TRUE(Contains(r.error(), "invalid tag '-bad'")) << r.error();
  EXPECT_TRUE(Contains(r.error(), "invalid repository component 'Imager'")) << r.error();
  EXPECT_TRUE(Contains(r.error(), "invalid repository component 'ca..che'")) << r.error();
}

TEST(RegistryRefTest, RefusesDigestsPortsAndOtherTransports) {
  auto d = ParseRegistryRef("reg.example.com/cache@sha256:" + std::string(64, 'a'));
  ASSERT_FALSE(d);
  EXPECT_TRUE(Contains(d.error(), "digest")) << d.error();
  auto o = ParseRegistryRef("oci:///tmp/layout");
  ASSERT_FALSE(o);
  EXPECT_TRUE(Contains(o.error(), "unsupported transport 'oci://'")) << o.error();
  EXPECT_FALSE(ParseRegistryRef("reg.example.com:99999/cache"));
  EXPECT_FALSE(ParseRegistryRef("reg.example.com:/cache"));
  EXPECT_FALSE(ParseRegistryRef("reg.example.com/"));
  EXPECT_FALSE(ParseRegistryRef("reg.example.com/a-_b"));
  EXPECT_FALSE(ParseRegistryRef("reg.example.com/a//b"));
}

// ---- WWW-Authenticate, auth files, links, error bodies -----------------------------------------

TEST(WwwAuthenticateTest, ParsesBearerParameters) {
  auto c = ParseWwwAuthenticate(
      R"(Bearer realm="https://auth.example.com/token",service="registry.example.com",)"
      R"(scope="repository:a/b:pull,push")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].params["realm"], "https://auth.example.com/token");
  EXPECT_EQ(c[0].params["service"], "registry.example.com");
  EXPECT_EQ(c[0].params["scope"], "repository:a/b:pull,push");
}

TEST(WwwAuthenticateTest, ParsesBasicAndSeveralChallenges) {
  auto c = ParseWwwAuthenticate(
      R"(Basic realm="Registry \"R\"", charset=UTF-8, Bearer realm="https://a/t", error=invalid_token)");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].params["realm"], "Registry \"R\"");
  EXPECT_EQ(c[0].params["charset"], "UTF-8");
  EXPECT_EQ(c[1].scheme, "bearer");
  EXPECT_EQ(c[1].params["realm"], "https://a/t");
  EXPECT_EQ(c[1].params["error"], "invalid_token");
  EXPECT_TRUE(ParseWwwAuthenticate("").empty());
  auto bare = ParseWwwAuthenticate("basic");
  ASSERT_EQ(bare.size(), 1u);
  EXPECT_TRUE(bare[0].params.empty());
}

TEST(AuthFileTest, FindsCredentialsByHostAndPort) {
  // "user:pa:ss" and "other:secret" in base64.
  std::string json = R"({"auths": {"reg.example.com:5000": {"auth": "dXNlcjpwYTpzcw=="},
                                    "reg.example.com": {"auth": "b3RoZXI6c2VjcmV0"}}})";
  auto c = FindCredentials(json, "reg.example.com:5000", "imager/cache");
  ASSERT_TRUE(c) << c.error();
  ASSERT_TRUE(*c);
  EXPECT_EQ((*c)->username, "user");
  EXPECT_EQ((*c)->password, "pa:ss");
  auto d = FindCredentials(json, "reg.example.com", "x");
  ASSERT_TRUE(d && *d);
  EXPECT_EQ((*d)->username, "other");
  auto none = FindCredentials(json, "elsewhere.example.com", "x");
  ASSERT_TRUE(none) << none.error();
  EXPECT_FALSE(*none);
  auto empty = FindCredentials("{}", "reg.example.com", "x");
  ASSERT_TRUE(empty) << empty.error();
  EXPECT_FALSE(*empty);
}

TEST(AuthFileTest, PrefersTheMostSpecificNamespaceThenLegacyKeys) {
  std::string json = R"({"auths": {"reg.example.com": {"auth": "b3RoZXI6c2VjcmV0"},
                                    "reg.example.com/team": {"auth": "dGVhbTp0"},
                                    "https://legacy.example.com/v1/": {"auth": "bGVnOmw="}}})";
  auto team = FindCredentials(json, "reg.example.com", "team/cache");
  ASSERT_TRUE(team && *team);
  EXPECT_EQ((*team)->username, "team");
  auto other = FindCredentials(json, "reg.example.com", "teamx/cache");
  ASSERT_TRUE(other && *other);
  EXPECT_EQ((*other)->username, "other");
  auto legacy = FindCredentials(json, "legacy.example.com", "a");
  ASSERT_TRUE(legacy && *legacy);
  EXPECT_EQ((*legacy)->username, "leg");
  EXPECT_EQ((*legacy)->password, "l");
}

TEST(AuthFileTest, RefusesBrokenFilesAndEntries) {
  EXPECT_FALSE(FindCredentials("not json", "h.example.com", "r"));
  EXPECT_FALSE(FindCredentials(R"({"auths": []})", "h.example.com", "r"));
  auto bad =
      FindCredentials(R"({"auths": {"h.example.com": {"auth": "!!"}}})", "h.example.com", "r");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(Contains(bad.error(), "auths[\"h.example.com\"].auth")) << bad.error();
  auto helper = FindCredentials(R"({"auths": {"h.example.com": {}}, "credsStore": "pass"})",
                                "h.example.com", "r");
  ASSERT_FALSE(helper);
  EXPECT_TRUE(Contains(helper.error(), "credential helper")) << helper.error();
}

TEST(AuthFileTest, SearchesTheStandardFilesInOrder) {
  std::map<std::string, std::string> env = {
      {"REGISTRY_AUTH_FILE", "/a.json"}, {"XDG_RUNTIME_DIR", "/run/user/7"}, {"HOME", "/h"}};
  auto lookup = [&](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  EXPECT_EQ(AuthFileCandidates("", lookup),
            (std::vector<std::string>{"/a.json", "/run/user/7/containers/auth.json",
                                      "/h/.docker/config.json"}));
  EXPECT_EQ(AuthFileCandidates("/x.json", lookup), std::vector<std::string>{"/x.json"});
  env.erase("REGISTRY_AUTH_FILE");
  env.erase("XDG_RUNTIME_DIR");
  EXPECT_EQ(AuthFileCandidates("", lookup), std::vector<std::string>{"/h/.docker/config.json"});
}

TEST(Base64Test, Decodes) {
  EXPECT_EQ(DecodeBase64("dXNlcjpwYXNz"), "user:pass");
  EXPECT_EQ(DecodeBase64("YQ=="), "a");
  EXPECT_EQ(DecodeBase64("YQ"), "a");
  EXPECT_EQ(DecodeBase64(""), "");
  EXPECT_FALSE(DecodeBase64("a b"));
}

TEST(LinkTest, FindsTheNextLink) {
  EXPECT_EQ(NextLink(R"(</v2/a/tags/list?last=b&n=2>; rel="next")"), "/v2/a/tags/list?last=b&n=2");
  EXPECT_EQ(NextLink(R"(<https://x/prev>; rel="prev", <https://x/next>; rel=next)"),
            "https://x/next");
  EXPECT_EQ(NextLink(R"(<https://x/p>; rel="prev")"), "");
  EXPECT_EQ(NextLink(""), "");
}

TEST(LinkTest, ResolvesRelativeLocations) {
  const std::string base = "https://reg.example.com:5000/v2/a/blobs/uploads/?x=1";
  EXPECT_EQ(ResolveUrl(base, "/v2/a/blobs/uploads/u1?_state=s"),
            "https://reg.example.com:5000/v2/a/blobs/uploads/u1?_state=s");
  EXPECT_EQ(ResolveUrl(base, "http://other/x"), "http://other/x");
  EXPECT_EQ(ResolveUrl(base, "//cdn.example.com/b"), "https://cdn.example.com/b");
  EXPECT_EQ(ResolveUrl(base, "u2"), "https://reg.example.com:5000/v2/a/blobs/uploads/u2");
  EXPECT_EQ(ResolveUrl("http://h", "/v2/"), "http://h/v2/");
}

TEST(RegistryErrorTextTest, SummarizesErrorBodies) {
  EXPECT_EQ(RegistryErrorText(R"({"errors":[{"code":"MANIFEST_INVALID","message":"manifest )"
                              R"(invalid","detail":{"k":1}}]})"),
            R"(MANIFEST_INVALID: manifest invalid ({"k":1}))");
  EXPECT_EQ(RegistryErrorText("  "), "");
  EXPECT_EQ(RegistryErrorText("<html>\nbad gateway</html>"), "<html> bad gateway</html>");
  EXPECT_EQ(UrlEncode("repository:a/b:pull,push"), "repository%3Aa%2Fb%3Apull%2Cpush");
}

// ---- the client against a fake transport ----------------------------------------------------

// Answers each request with the handler's response, delivering 2xx bodies to a sink in pieces,
// and records what was asked.
class FakeTransport : public HttpTransport {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  explicit FakeTransport(Handler h) : handler_(std::move(h)) {}

  HttpResponse Send(const HttpRequest& req) override {
    HttpRequest seen = req;
    seen.sink = nullptr;
    if (!req.body_file.empty()) seen.body = ReadFile(req.body_file).value();
    log.push_back(seen);
    HttpResponse r = handler_(seen);
    if (req.sink && r.status >= 200 && r.status < 300) {
      size_t half = r.body.size() / 2;
      if (!req.sink(r.body.data(), half) || !req.sink(r.body.data() + half, r.body.size() - half)) {
        HttpResponse failed;
        failed.failure = HttpResponse::Failure::kOther;
        failed.error = "stopped";
        return failed;
      }
      r.body.clear();
    }
    return r;
  }

  std::vector<HttpRequest> log;

 private:
  Handler handler_;
};

HttpResponse Answer(long status, std::string body = "",
                    std::map<std::string, std::string> headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}

bool HasHeader(const HttpRequest& r, const std::string& header) {
  for (const auto& h : r.headers)
    if (h == header) return true;
  return false;
}

class RegistryClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir("/tmp", "imager-registry-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = *d;
    ASSERT_TRUE(WriteFile(dir_ + "/auth.json",
                          R"({"auths": {"reg.example.com": {"auth": "dXNlcjpzM2NyZXQ="}}})"));
    options_.auth_file = dir_ + "/auth.json";  // user:s3cret
    options_.retry_delay_ms = 0;
    ref_ = *ParseRegistryRef("docker://reg.example.com/imager/cache");
  }
  void TearDown() override { (void)RemoveTree(dir_); }

  // Opens a client on a fake whose /v2/ answers 200 and other requests go to `h`.
  Result<RegistryClient> OpenWith(FakeTransport::Handler h) {
    auto fake = std::make_unique<FakeTransport>([h](const HttpRequest& r) {
      if (r.url == "https://reg.example.com/v2/") return Answer(200);
      return h(r);
    });
    fake_ = fake.get();
    return RegistryClient::Open(ref_, options_, std::move(fake));
  }

  std::string dir_;
  RegistryOptions options_;
  RegistryRef ref_;
  FakeTransport* fake_ = nullptr;
};

TEST_F(RegistryClientTest, FollowsTheBearerTokenFlow) {
  auto fake = std::make_unique<FakeTransport>([](const HttpRequest& r) {
    if (r.url == "https://reg.example.com/v2/") {
      if (HasHeader(r, "Authorization: Bearer T0K")) return Answer(200);
      return Answer(
          401, "",
          {{"www-authenticate", R"(Bearer realm="https://auth.example.com/token",service="reg")"}});
    }
    if (r.url.starts_with("https://auth.example.com/token?")) {
      if (r.username != "user" || r.password != "s3cret") return Answer(401);
      return Answer(200, R"({"access_token": "T0K"})");
    }
    return Answer(404);
  });
  FakeTransport* seen = fake.get();
  auto c = RegistryClient::Open(ref_, options_, std::move(fake));
  ASSERT_TRUE(c) << c.error();
  ASSERT_EQ(seen->log.size(), 3u);
  EXPECT_EQ(seen->log[1].url,
            "https://auth.example.com/token?service=reg&scope=repository%3Aimager%2Fcache%3Apull"
            "%2Cpush");
  EXPECT_EQ(c->base_url(), "https://reg.example.com");
}

TEST_F(RegistryClientTest, WrongBasicPasswordNamesTheUserNotThePassword) {
  auto fake = std::make_unique<FakeTransport>([](const HttpRequest&) {
    return Answer(401,
                  R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})",
                  {{"www-authenticate", R"(Basic realm="r")"}});
  });
  auto c = RegistryClient::Open(ref_, options_, std::move(fake));
  ASSERT_FALSE(c);
  EXPECT_TRUE(Contains(c.error(), "authentication failed")) << c.error();
  EXPECT_TRUE(Contains(c.error(), "user 'user'")) << c.error();
  EXPECT_TRUE(Contains(c.error(), options_.auth_file)) << c.error();
  EXPECT_FALSE(Contains(c.error(), "s3cret")) << c.error();
}

TEST_F(RegistryClientTest, MissingCredentialsSayWhereTheyWereSought) {
  options_.auth_file = dir_ + "/none.json";
  ASSERT_TRUE(WriteFile(options_.auth_file, "{}"));
  auto fake = std::make_unique<FakeTransport>([](const HttpRequest&) {
    return Answer(401, "", {{"www-authenticate", "Basic"}});
  });
  auto c = RegistryClient::Open(ref_, options_, std::move(fake));
  ASSERT_FALSE(c);
  EXPECT_TRUE(Contains(c.error(), "no credentials for reg.example.com in " + options_.auth_file))
      << c.error();
  EXPECT_TRUE(Contains(c.error(), "podman login reg.example.com")) << c.error();
}

TEST_F(RegistryClientTest, RetriesTransientFailuresThenGivesUp) {
  int calls = 0;
  auto c = OpenWith([&](const HttpRequest&) {
    ++calls;
    if (calls == 1) {
      HttpResponse r;
      r.failure = HttpResponse::Failure::kTransient;
      r.error = "Couldn't connect";
      return r;
    }
    if (calls == 2) return Answer(503);
    return Answer(200);
  });
  ASSERT_TRUE(c) << c.error();
  auto has = c->HasBlob("sha256:" + std::string(64, 'a'));
  ASSERT_TRUE(has) << has.error();
  EXPECT_TRUE(*has);
  EXPECT_EQ(calls, 3);
  auto always = OpenWith([](const HttpRequest&) { return Answer(502, "bad gateway"); });
  ASSERT_TRUE(always) << always.error();
  auto gave_up = always->HasBlob("sha256:" + std::string(64, 'b'));
  ASSERT_FALSE(gave_up);
  EXPECT_TRUE(Contains(gave_up.error(), "HTTP 502: bad gateway (gave up after 4 attempts)"))
      << gave_up.error();
}

TEST_F(RegistryClientTest, ClientErrorsNameTheUrlAndTheRegistryMessage) {
  auto c = OpenWith([](const HttpRequest&) {
    return Answer(400, R"({"errors":[{"code":"NAME_INVALID","message":"invalid name"}]})");
  });
  ASSERT_TRUE(c) << c.error();
  auto r = c->HasBlob("sha256:" + std::string(64, 'c'));
  ASSERT_FALSE(r);
  EXPECT_TRUE(Contains(r.error(), "HEAD https://reg.example.com/v2/imager/cache/blobs/sha256:"))
      << r.error();
  EXPECT_TRUE(Contains(r.error(), "HTTP 400: NAME_INVALID: invalid name")) << r.error();
  EXPECT_EQ(fake_->log.size(), 2u);  // not retried
}

TEST_F(RegistryClientTest, PushesMonolithicallyToARelativeLocation) {
  std::string blob = "layer bytes";
  std::string digest = "sha256:" + Sha256Hex(blob);
  ASSERT_TRUE(WriteFile(dir_ + "/blob", blob));
  auto c = OpenWith([&](const HttpRequest& r) {
    if (r.method == "HEAD") return Answer(404);
    if (r.method == "POST")
      return Answer(202, "", {{"location", "/v2/imager/cache/blobs/uploads/u1?_state=s"}});
    if (r.method == "PUT") return Answer(201, "", {{"docker-content-digest", digest}});
    return Answer(500);
  });
  ASSERT_TRUE(c) << c.error();
  auto pushed = c->PushBlob(dir_ + "/blob", digest, blob.size());
  ASSERT_TRUE(pushed) << pushed.error();
  EXPECT_EQ(*pushed, BlobPush::kUploaded);
  const HttpRequest& put = fake_->log.back();
  EXPECT_EQ(put.method, "PUT");
  EXPECT_EQ(put.url, "https://reg.example.com/v2/imager/cache/blobs/uploads/u1?_state=s&digest=" +
                         UrlEncode(digest));
  EXPECT_EQ(put.body, blob);
  EXPECT_EQ(put.body_file_size, blob.size());
  auto wrong_size = c->PushBlob(dir_ + "/blob", digest, blob.size() + 1);
  ASSERT_FALSE(wrong_size);
  EXPECT_TRUE(Contains(wrong_size.error(), "expected 12")) << wrong_size.error();
}

TEST_F(RegistryClientTest, SkipsPresentBlobsAndMountsFromAnotherRepository) {
  std::string digest = "sha256:" + Sha256Hex("x");
  ASSERT_TRUE(WriteFile(dir_ + "/blob", "x"));
  bool present = true;
  auto c = OpenWith([&](const HttpRequest& r) {
    if (r.method == "HEAD") return Answer(present ? 200 : 404);
    if (r.method == "POST" && Contains(r.url, "mount=" + UrlEncode(digest) + "&from=other%2Frepo"))
      return Answer(201);
    return Answer(500);
  });
  ASSERT_TRUE(c) << c.error();
  auto p = c->PushBlob(dir_ + "/blob", digest, 1);
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(*p, BlobPush::kPresent);
  present = false;
  auto m = c->PushBlob(dir_ + "/blob", digest, 1, "other/repo");
  ASSERT_TRUE(m) << m.error();
  EXPECT_EQ(*m, BlobPush::kMounted);
}

TEST_F(RegistryClientTest, PullsAVerifiedBlobAndRefusesAWrongOne) {
  std::string blob = "the real content";
  std::string digest = "sha256:" + Sha256Hex(blob);
  std::string served = blob;
  auto c = OpenWith([&](const HttpRequest&) { return Answer(200, served); });
  ASSERT_TRUE(c) << c.error();
  const std::string dest = dir_ + "/pulled";
  auto ok = c->PullBlob(digest, dest, static_cast<int64_t>(blob.size()));
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_EQ(ReadFile(dest).value(), blob);
  EXPECT_NE(::access((dest + ".tmp").c_str(), F_OK), 0);

  served = "the fake content";  // same size, other bytes
  auto bad = c->PullBlob(digest, dir_ + "/bad");
  ASSERT_FALSE(bad);
  EXPECT_TRUE(Contains(bad.error(), "pull blob " + digest)) << bad.error();
  EXPECT_TRUE(Contains(bad.error(), "refused")) << bad.error();
  EXPECT_NE(::access((dir_ + "/bad").c_str(), F_OK), 0);
  EXPECT_NE(::access((dir_ + "/bad.tmp").c_str(), F_OK), 0);

  served = blob + "more";
  auto longer = c->PullBlob(digest, dir_ + "/long", static_cast<int64_t>(blob.size()));
  ASSERT_FALSE(longer);
  EXPECT_TRUE(Contains(longer.error(), "more than the expected")) << longer.error();
  EXPECT_NE(::access((dir_ + "/long.tmp").c_str(), F_OK), 0);
}

TEST_F(RegistryClientTest, ChecksManifestDigests) {
  std::string body = R"({"schemaVersion":2})";
  std::string digest = "sha256:" + Sha256Hex(body);
  auto c = OpenWith([&](const HttpRequest& r) {
    if (r.method == "PUT") return Answer(201, "", {{"docker-content-digest", digest}});
    if (Contains(r.url, "/manifests/missing")) return Answer(404);
    return Answer(200, body, {{"content-type", "application/vnd.oci.image.manifest.v1+json"}});
  });
  ASSERT_TRUE(c) << c.error();
  auto m = c->GetManifest(digest);
  ASSERT_TRUE(m) << m.error();
  ASSERT_TRUE(*m);
  EXPECT_EQ((*m)->digest, digest);
  EXPECT_EQ((*m)->media_type, "application/vnd.oci.image.manifest.v1+json");
  EXPECT_TRUE(Contains(fake_->log.back().headers[0], "application/vnd.oci.image.index.v1+json"));
  auto wrong = c->GetManifest("sha256:" + std::string(64, 'd'));
  ASSERT_FALSE(wrong);
  EXPECT_TRUE(Contains(wrong.error(), "refused")) << wrong.error();
  auto missing = c->GetManifest("missing");
  ASSERT_TRUE(missing) << missing.error();
  EXPECT_FALSE(*missing);
  EXPECT_FALSE(c->GetManifest("bad/tag"));

  auto put = c->PutManifest("v1", {"application/vnd.oci.image.manifest.v1+json", "", body});
  ASSERT_TRUE(put) << put.error();
  EXPECT_EQ(*put, digest);
  EXPECT_TRUE(
      HasHeader(fake_->log.back(), "Content-Type: application/vnd.oci.image.manifest.v1+json"));
  EXPECT_FALSE(c->PutManifest("v1", {"application/vnd.oci.image.manifest.v1+json", digest, "x"}));
}

TEST_F(RegistryClientTest, ListsTagsAcrossPages) {
  auto c = OpenWith([](const HttpRequest& r) {
    if (r.url == "https://reg.example.com/v2/imager/cache/tags/list")
      return Answer(200, R"({"name":"imager/cache","tags":["a","b"]})",
                    {{"link", R"(</v2/imager/cache/tags/list?last=b&n=2>; rel="next")"}});
    if (r.url == "https://reg.example.com/v2/imager/cache/tags/list?last=b&n=2")
      return Answer(200, R"({"name":"imager/cache","tags":["c"]})");
    return Answer(500);
  });
  ASSERT_TRUE(c) << c.error();
  auto tags = c->ListTags();
  ASSERT_TRUE(tags) << tags.error();
  EXPECT_EQ(*tags, (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(RegistryClientTest, TlsFailuresSayHowToFixThem) {
  auto fake = std::make_unique<FakeTransport>([](const HttpRequest&) {
    HttpResponse r;
    r.failure = HttpResponse::Failure::kTls;
    r.error = "SSL peer certificate or SSH remote key was not OK";
    return r;
  });
  auto c = RegistryClient::Open(ref_, options_, std::move(fake));
  ASSERT_FALSE(c);
  EXPECT_TRUE(Contains(c.error(), "--tls-verify=false")) << c.error();
  EXPECT_TRUE(Contains(c.error(), "CA certificate")) << c.error();
}

TEST_F(RegistryClientTest, FallsBackToPlainHttpWithoutTlsVerification) {
  options_.tls_verify = false;
  auto fake = std::make_unique<FakeTransport>([](const HttpRequest& r) {
    if (r.url.starts_with("https://")) {
      HttpResponse failed;
      failed.failure = HttpResponse::Failure::kTls;
      failed.error = "wrong version number";
      return failed;
    }
    return Answer(200);
  });
  auto c = RegistryClient::Open(ref_, options_, std::move(fake));
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->base_url(), "http://reg.example.com");
}

TEST_F(RegistryClientTest, KeepsHttpsWhenTheInsecureProbeCannotConnect) {
  options_.tls_verify = false;
  int calls = 0;
  auto fake = std::make_unique<FakeTransport>([&](const HttpRequest& r) {
    if (++calls == 1 || !r.url.starts_with("https://")) {
      HttpResponse refused;
      refused.failure = HttpResponse::Failure::kTransient;
      refused.error = "Couldn't connect to server";
      return refused;
    }
    return Answer(200);
  });
  auto c = RegistryClient::Open(ref_, options_, std::move(fake));
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->base_url(), "https://reg.example.com");
}

TEST_F(RegistryClientTest, RetriesABrokenUploadInAFreshSession) {
  std::string digest = "sha256:" + Sha256Hex("blob");
  ASSERT_TRUE(WriteFile(dir_ + "/blob", "blob"));
  int sessions = 0, puts = 0;
  auto c = OpenWith([&](const HttpRequest& r) {
    if (r.method == "HEAD") return Answer(404);
    if (r.method == "POST")
      return Answer(202, "", {{"location", "/up/" + std::to_string(++sessions)}});
    if (r.method == "PUT" && ++puts == 1) {
      HttpResponse broken;
      broken.failure = HttpResponse::Failure::kTransient;
      broken.error = "Send failure: Broken pipe";
      return broken;
    }
    return Answer(201);
  });
  ASSERT_TRUE(c) << c.error();
  auto pushed = c->PushBlob(dir_ + "/blob", digest, 4);
  ASSERT_TRUE(pushed) << pushed.error();
  EXPECT_EQ(sessions, 2);
  EXPECT_EQ(fake_->log.back().url, "https://reg.example.com/up/2?digest=" + UrlEncode(digest));
}

}  // namespace
}  // namespace imager::oci
