// SPDX-License-Identifier: GPL-3.0-or-later
// The distribution protocol over an HttpTransport: probing and authentication, retries, blobs,
// manifests and tags.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "base/fd.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "oci/layout.h"
#include "oci/registry.h"

namespace imager::oci {

struct RegistryClient::Auth {
  enum class Kind { kNone, kBasic, kBearer } kind = Kind::kNone;
  bool loaded = false;  // credentials looked up
  std::optional<Credentials> creds;
  std::string source;                 // the file they came from
  std::vector<std::string> searched;  // the files looked at
  std::string realm, service, token;
  std::set<std::string> scopes;
};

namespace {

using Json = nlohmann::json;

constexpr char kMediaTypeDockerManifest[] = "application/vnd.docker.distribution.manifest.v2+json";
constexpr char kMediaTypeDockerList[] = "application/vnd.docker.distribution.manifest.list.v2+json";
constexpr int kMaxTagPages = 10000;

bool IsTransientStatus(long code) { return code >= 500 || code == 408 || code == 429; }

// A URL for messages: upload URLs carry long state in their query.
std::string Shown(const std::string& url) { return url.substr(0, url.find('?')); }

std::string DigestOf(const std::string& data) { return "sha256:" + Sha256Hex(data); }

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The API endpoint of a registry host (Docker Hub's differs from its name).
std::string ApiHost(const std::string& host) {
  return host == "docker.io" ? "registry-1.docker.io" : host;
}

int64_t RetryAfterMs(const HttpResponse& r) {
  std::string v = r.Header("retry-after");
  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) return 0;
  return std::min<int64_t>(std::atoll(v.c_str()), 60) * 1000;
}

Status CheckReference(const std::string& reference) {
  if (ValidDigest(reference) || ValidRegistryTag(reference)) return {};
  return Error{"'" + reference + "' is neither a tag nor a sha256:HEX digest"};
}

// Removes a file at scope exit unless dismissed.
class RemoveOnExit {
 public:
  explicit RemoveOnExit(std::string path) : path_(std::move(path)) {}
  ~RemoveOnExit() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  void Dismiss() { path_.clear(); }

 private:
  std::string path_;
};

}  // namespace

RegistryClient::RegistryClient(RegistryRef ref, RegistryOptions options,
                               std::unique_ptr<HttpTransport> t)
    : ref_(std::move(ref)),
      options_(std::move(options)),
      transport_(std::move(t)),
      auth_(std::make_unique<Auth>()) {}
RegistryClient::RegistryClient(RegistryClient&&) noexcept = default;
RegistryClient& RegistryClient::operator=(RegistryClient&&) noexcept = default;
RegistryClient::~RegistryClient() = default;

Result<RegistryClient> RegistryClient::Open(const RegistryRef& ref,
                                            const RegistryOptions& options) {
  if (!options.ca_file.empty())
    if (auto ca = ReadFile(options.ca_file); !ca)
      return Wrap("registry " + ref.host + ": CA file", ca.error());
  return Open(ref, options, MakeCurlTransport(options));
}

Result<RegistryClient> RegistryClient::Open(const RegistryRef& ref, const RegistryOptions& options,
                                            std::unique_ptr<HttpTransport> transport) {
  RegistryClient client(ref, options, std::move(transport));
  if (auto st = client.Probe(); !st) return st.take_error();
  return client;
}

std::string RegistryClient::Url(const std::string& path) const { return base_ + path; }

Error RegistryClient::HttpError(const HttpRequest& r, const HttpResponse& resp) const {
  std::string msg = r.method + " " + Shown(r.url) + ": HTTP " + std::to_string(resp.status);
  if (std::string text = RegistryErrorText(resp.body); !text.empty()) msg += ": " + text;
  if (resp.status == 401 || resp.status == 403) msg += AuthHint(resp.status);
  return Error{msg};
}

// Says which credentials were refused, or where none were found.
std::string RegistryClient::AuthHint(long status) const {
  const Auth& a = *auth_;
  if (!a.creds) {
    std::string where = a.searched.empty() ? "no auth file" : Join(a.searched, ", ");
    return "; no credentials for " + ref_.host + " in " + where + " (log in with `podman login " +
           ref_.host + "`, or name an auth file)";
  }
  if (status == 403)
    return "; user '" + a.creds->username + "' (from " + a.source + ") may not do this on " +
           ref_.repository;
  return "; the registry refused the credentials of user '" + a.creds->username + "' from " +
         a.source;
}

Status RegistryClient::LoadCredentials() {
  Auth& a = *auth_;
  if (a.loaded) return {};
  a.loaded = true;
  for (const std::string& file : AuthFileCandidates(options_.auth_file)) {
    a.searched.push_back(file);
    auto text = ReadFile(file);
    if (!text && errno == ENOENT && options_.auth_file.empty()) continue;
    if (!text) return Wrap("registry auth file", text.error());
    for (const std::string& host : {ref_.host, std::string("index.docker.io")}) {
      auto creds = FindCredentials(*text, host, ref_.repository);
      if (!creds) return Wrap("registry auth file " + file, creds.error());
      if (*creds) {
        a.creds = **creds;
        a.source = file;
        return {};
      }
      if (ref_.host != "docker.io") break;
    }
  }
  return {};
}

void RegistryClient::AddAuth(HttpRequest* r) const {
  const Auth& a = *auth_;
  if (a.kind == Auth::Kind::kBasic && a.creds) {
    r->username = a.creds->username;
    r->password = a.creds->password;
  } else if (a.kind == Auth::Kind::kBearer && !a.token.empty()) {
    r->headers.push_back("Authorization: Bearer " + a.token);
  }
}

Status RegistryClient::Authenticate(const std::string& header) {
  auto challenges = ParseWwwAuthenticate(header);
  const AuthChallenge* chosen = nullptr;
  for (const AuthChallenge& c : challenges)
    if (c.scheme == "bearer" || (c.scheme == "basic" && !chosen)) chosen = &c;
  if (!chosen)
    return Error{"registry " + ref_.host + " asks for authentication with an unsupported " +
                 "challenge: WWW-Authenticate: " + (header.empty() ? "(none)" : header)};
  if (auto st = LoadCredentials(); !st) return st;
  Auth& a = *auth_;
  if (chosen->scheme == "basic") {
    if (!a.creds) return Error{"registry " + ref_.host + " asks for a password" + AuthHint(401)};
    a.kind = Auth::Kind::kBasic;
    return {};
  }
  auto realm = chosen->params.find("realm");
  if (realm == chosen->params.end() || realm->second.empty())
    return Error{"registry " + ref_.host + ": Bearer challenge without a realm: " + header};
  a.kind = Auth::Kind::kBearer;
  a.realm = realm->second;
  auto service = chosen->params.find("service");
  a.service = service == chosen->params.end() ? "" : service->second;
  a.scopes.insert("repository:" + ref_.repository + ":pull,push");
  if (auto scope = chosen->params.find("scope"); scope != chosen->params.end())
    for (const std::string& s : Split(scope->second, ' '))
      if (!s.empty()) a.scopes.insert(s);
  return FetchToken();
}

// GET REALM?service=S&scope=... with the Basic credentials, if any; the answer's "token" (or
// "access_token") is the Bearer token.
Status RegistryClient::FetchToken() {
  Auth& a = *auth_;
  HttpRequest r;
  r.url = a.realm + (a.realm.find('?') == std::string::npos ? "?" : "&");
  r.url += "service=" + UrlEncode(a.service);
  for (const std::string& s : a.scopes) r.url += "&scope=" + UrlEncode(s);
  if (a.creds) {
    r.username = a.creds->username;
    r.password = a.creds->password;
  }
  auto resp = Do(r, {}, /*authenticate=*/false);
  if (!resp) return resp.take_error();
  if (resp->status != 200) {
    Error e = HttpError(r, *resp);
    return Error{"registry " + ref_.host + ": token service: " + e.message};
  }
  Json doc = Json::parse(resp->body, nullptr, /*allow_exceptions=*/false);
  std::string token;
  if (doc.is_object())
    for (const char* key : {"token", "access_token"})
      if (doc.contains(key) && doc[key].is_string() && token.empty()) token = doc[key];
  if (token.empty())
    return Error{"registry " + ref_.host + ": token service " + Shown(a.realm) +
                 " answered without a token"};
  a.token = token;
  return {};
}

Result<HttpResponse> RegistryClient::Do(HttpRequest request, const AttemptHook& before_attempt,
                                        bool authenticate) {
  bool reauthenticated = false;
  for (int attempt = 1;; ++attempt) {
    HttpRequest r = request;
    if (before_attempt)
      if (auto st = before_attempt(&r); !st) return st.take_error();
    if (authenticate) AddAuth(&r);
    HttpResponse resp = transport_->Send(r);
    std::string why;
    if (resp.status == 0 && resp.failure == HttpResponse::Failure::kTls)
      return Error{request.method + " " + Shown(request.url) + ": TLS: " + resp.error +
                   "; if the registry's certificate is self-signed, give its CA certificate as " +
                   "the CA file; for a test registry, --tls-verify=false (no verification, " +
                   "plain HTTP allowed)"};
    if (resp.status == 0 && resp.failure != HttpResponse::Failure::kTransient)
      return Error{request.method + " " + Shown(request.url) + ": " + resp.error};
    if (resp.status == 0) {
      why = resp.error;
    } else if (resp.status == 401 && authenticate && !reauthenticated) {
      // A first challenge, an expired token, or a token lacking a scope: answer it once.
      reauthenticated = true;
      if (auto st = Authenticate(resp.Header("www-authenticate")); !st) return st.take_error();
      --attempt;
      continue;
    } else if (IsTransientStatus(resp.status)) {
      why = "HTTP " + std::to_string(resp.status);
      if (auto text = RegistryErrorText(resp.body); !text.empty()) why += ": " + text;
    } else {
      return resp;
    }
    if (attempt > options_.retries)
      return Error{request.method + " " + Shown(request.url) + ": " + why + " (gave up after " +
                   std::to_string(attempt) + (attempt == 1 ? " attempt)" : " attempts)")};
    int64_t delay = static_cast<int64_t>(options_.retry_delay_ms) << (attempt - 1);
    delay = std::max(delay, RetryAfterMs(resp));
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
  }
}

// GET /v2/: the registry is there, speaks v2, and lets us in. With tls_verify off, a registry
// that fails the TLS handshake (it speaks plain HTTP) is used over http://.
Status RegistryClient::Probe() {
  const std::string host = ApiHost(ref_.host);
  base_ = "https://" + host;
  if (!options_.tls_verify) {
    HttpRequest r;
    r.url = base_ + "/v2/";
    if (transport_->Send(r).failure == HttpResponse::Failure::kTls) base_ = "http://" + host;
  }
  HttpRequest r;
  r.url = Url("/v2/");
  auto resp = Do(r);  // its errors name the URL, or the host when authentication failed
  if (!resp) return resp.take_error();
  if (resp->status == 200) return {};
  if (resp->status == 401 && auth_->kind == Auth::Kind::kBasic)
    return Error{"registry " + ref_.host + ": authentication failed" + AuthHint(401)};
  if (resp->status == 404)
    return Error{"registry " + ref_.host + ": GET " + r.url +
                 " answered 404: not an OCI distribution (v2) registry"};
  return Wrap("registry " + ref_.host, HttpError(r, *resp).message);
}

Result<bool> RegistryClient::HasBlob(const std::string& digest) {
  if (!ValidDigest(digest)) return Error{"blob digest '" + digest + "' is not sha256:HEX"};
  HttpRequest r;
  r.method = "HEAD";
  r.url = Url("/v2/" + ref_.repository + "/blobs/" + digest);
  auto resp = Do(r);
  if (!resp) return resp.take_error();
  if (resp->status == 200) return true;
  if (resp->status == 404) return false;
  return HttpError(r, *resp);
}

// POST ?mount=&from=: true when mounted; otherwise `location` may hold the upload the registry
// started instead.
Result<bool> RegistryClient::Mount(const std::string& digest, const std::string& from,
                                   std::string* location) {
  HttpRequest r;
  r.method = "POST";
  r.url = Url("/v2/" + ref_.repository + "/blobs/uploads/?mount=" + UrlEncode(digest) +
              "&from=" + UrlEncode(from));
  auto resp = Do(r);
  if (!resp) return resp.take_error();
  if (resp->status == 201) return true;
  if (resp->status == 202 && !resp->Header("location").empty())
    *location = ResolveUrl(r.url, resp->Header("location"));
  return false;
}

Result<std::string> RegistryClient::StartUpload() {
  HttpRequest r;
  r.method = "POST";
  r.url = Url("/v2/" + ref_.repository + "/blobs/uploads/");
  auto resp = Do(r);
  if (!resp) return resp.take_error();
  if (resp->status != 202) return HttpError(r, *resp);
  std::string location = resp->Header("location");
  if (location.empty()) return Error{"POST " + r.url + ": HTTP 202 without a Location"};
  return ResolveUrl(r.url, location);
}

Result<BlobPush> RegistryClient::PushBlob(const std::string& path, const std::string& digest,
                                          uint64_t size, const std::string& from_repository) {
  const std::string what = "push blob " + digest + " to " + ref_.ToString();
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Wrap(what, ErrnoError("stat " + path).message);
  if (static_cast<uint64_t>(st.st_size) != size)
    return Error{what + ": " + path + " has " + std::to_string(st.st_size) + " bytes, expected " +
                 std::to_string(size)};
  auto has = HasBlob(digest);
  if (!has) return Wrap(what, has.error());
  if (*has) return BlobPush::kPresent;
  std::string location;
  if (!from_repository.empty() && from_repository != ref_.repository) {
    auto mounted = Mount(digest, from_repository, &location);
    if (!mounted) return Wrap(what, mounted.error());
    if (*mounted) return BlobPush::kMounted;
  }
  if (location.empty()) {
    auto started = StartUpload();
    if (!started) return Wrap(what, started.error());
    location = *started;
  }
  auto put_url = [&](const std::string& session) {
    return session + (session.find('?') == std::string::npos ? "?" : "&") +
           "digest=" + UrlEncode(digest);
  };
  HttpRequest r;
  r.method = "PUT";
  r.url = put_url(location);
  r.headers.push_back("Content-Type: application/octet-stream");
  r.body_file = path;
  r.body_file_size = size;
  int attempts = 0;
  auto fresh_session = [&](HttpRequest* attempt) -> Status {
    if (attempts++ == 0) return {};
    auto started = StartUpload();
    if (!started) return started.take_error();
    attempt->url = put_url(*started);
    return {};
  };
  auto resp = Do(r, fresh_session);
  if (!resp) return Wrap(what, resp.error());
  if (resp->status != 201) return Wrap(what, HttpError(r, *resp).message);
  std::string stored = resp->Header("docker-content-digest");
  if (!stored.empty() && stored != digest)
    return Error{what + ": the registry stored it as " + stored};
  return BlobPush::kUploaded;
}

Status RegistryClient::PullBlob(const std::string& digest, const std::string& dest, int64_t size) {
  const std::string what = "pull blob " + digest + " from " + ref_.ToString();
  if (!ValidDigest(digest)) return Error{what + ": the digest is not sha256:HEX"};
  const std::string tmp = dest + ".tmp";
  RemoveOnExit remove_tmp(tmp);
  UniqueFd fd;
  Sha256 sha;
  int64_t written = 0;
  std::string sink_error;
  auto before_attempt = [&](HttpRequest*) -> Status {
    fd = UniqueFd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd.valid()) return ErrnoError("create " + tmp);
    sha = Sha256();
    written = 0;
    return {};
  };
  HttpRequest r;
  r.url = Url("/v2/" + ref_.repository + "/blobs/" + digest);
  r.sink = [&](const char* data, size_t n) {
    if (size >= 0 && written + static_cast<int64_t>(n) > size) {
      sink_error = "the registry sent more than the expected " + std::to_string(size) + " bytes";
      return false;
    }
    if (!WriteAll(fd.get(), data, n)) {
      sink_error = ErrnoError("write " + tmp).message;
      return false;
    }
    sha.Update(data, n);
    written += static_cast<int64_t>(n);
    return true;
  };
  auto resp = Do(r, before_attempt);
  if (!sink_error.empty()) return Error{what + ": " + sink_error};
  if (!resp) return Wrap(what, resp.error());
  if (resp->status == 404) return Error{what + ": the repository has no such blob"};
  if (resp->status != 200) return Wrap(what, HttpError(r, *resp).message);
  std::string actual = "sha256:" + sha.FinalHex();
  if (actual != digest || (size >= 0 && written != size))
    return Error{what + ": refused: the registry sent " + std::to_string(written) +
                 " bytes with digest " + actual +
                 " (its copy is corrupt or was tampered with); nothing was written to " + dest};
  if (::fsync(fd.get()) != 0) return Wrap(what, ErrnoError("fsync " + tmp).message);
  fd.reset();
  if (::rename(tmp.c_str(), dest.c_str()) != 0)
    return Wrap(what, ErrnoError("rename " + tmp + " to " + dest).message);
  remove_tmp.Dismiss();
  std::string dir = DirOf(dest);
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd.valid() || ::fsync(dfd.get()) != 0)
    return Wrap(what, ErrnoError("fsync directory " + dir).message);
  return {};
}

Result<std::optional<Manifest>> RegistryClient::GetManifest(const std::string& reference) {
  const std::string what = "get manifest " + reference + " from " + ref_.ToString();
  if (auto st = CheckReference(reference); !st) return Wrap(what, st.error());
  HttpRequest r;
  r.url = Url("/v2/" + ref_.repository + "/manifests/" + reference);
  r.headers.push_back(std::string("Accept: ") + kMediaTypeManifest + ", " + kMediaTypeIndex + ", " +
                      kMediaTypeDockerManifest + ", " + kMediaTypeDockerList);
  auto resp = Do(r);
  if (!resp) return Wrap(what, resp.error());
  if (resp->status == 404) return std::optional<Manifest>();
  if (resp->status != 200) return Wrap(what, HttpError(r, *resp).message);
  Manifest m;
  m.body = std::move(resp->body);
  m.digest = DigestOf(m.body);
  m.media_type = std::string(
      Trim(resp->Header("content-type").substr(0, resp->Header("content-type").find(';'))));
  if (m.media_type.empty() || m.media_type == "application/json") {
    Json doc = Json::parse(m.body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_object() && doc.contains("mediaType") && doc["mediaType"].is_string())
      m.media_type = doc["mediaType"];
  }
  if (ValidDigest(reference) && m.digest != reference)
    return Error{what + ": refused: the registry sent a manifest with digest " + m.digest};
  std::string claimed = resp->Header("docker-content-digest");
  if (StartsWith(claimed, "sha256:") && claimed != m.digest)
    return Error{what + ": refused: the registry says its digest is " + claimed +
                 " but the body's is " + m.digest};
  return std::optional<Manifest>(std::move(m));
}

Result<std::string> RegistryClient::PutManifest(const std::string& reference, const Manifest& m) {
  const std::string what = "put manifest " + reference + " to " + ref_.ToString();
  if (auto st = CheckReference(reference); !st) return Wrap(what, st.error());
  if (m.media_type.empty()) return Error{what + ": no media type"};
  std::string digest = DigestOf(m.body);
  if (!m.digest.empty() && m.digest != digest)
    return Error{what + ": the manifest's digest is " + digest + ", not " + m.digest};
  if (ValidDigest(reference) && reference != digest)
    return Error{what + ": the manifest's digest is " + digest};
  HttpRequest r;
  r.method = "PUT";
  r.url = Url("/v2/" + ref_.repository + "/manifests/" + reference);
  r.headers.push_back("Content-Type: " + m.media_type);
  r.body = m.body;
  auto resp = Do(r);
  if (!resp) return Wrap(what, resp.error());
  if (resp->status != 201) return Wrap(what, HttpError(r, *resp).message);
  std::string stored = resp->Header("docker-content-digest");
  if (!stored.empty() && stored != digest)
    return Error{what + ": the registry stored it as " + stored + ", not " + digest};
  return digest;
}

Result<std::vector<std::string>> RegistryClient::ListTags() {
  const std::string what = "list tags of " + ref_.ToString();
  std::vector<std::string> tags;
  std::string url = Url("/v2/" + ref_.repository + "/tags/list");
  for (int page = 0; !url.empty(); ++page) {
    if (page == kMaxTagPages) return Error{what + ": more than " + std::to_string(page) + " pages"};
    HttpRequest r;
    r.url = url;
    auto resp = Do(r);
    if (!resp) return Wrap(what, resp.error());
    if (resp->status == 404 && page == 0) return tags;  // NAME_UNKNOWN: nothing pushed yet
    if (resp->status != 200) return Wrap(what, HttpError(r, *resp).message);
    Json doc = Json::parse(resp->body, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_object()) return Error{what + ": " + Shown(url) + " did not answer a JSON object"};
    if (doc.contains("tags") && doc["tags"].is_array())
      for (const Json& t : doc["tags"])
        if (t.is_string()) tags.push_back(t);
    std::string next = NextLink(resp->Header("link"));
    url = next.empty() ? "" : ResolveUrl(url, next);
  }
  return tags;
}

}  // namespace imager::oci
