// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// RegistryClient speaks the OCI distribution protocol (v2 API) to one repository of a registry:
/// blobs are checked, pushed from files and pulled into files verified against their sha256
/// digest; manifests are read and written by tag or digest, and tags are listed. It follows the
/// registry's authentication challenge (Basic, or a Bearer token from the realm it names) with
/// credentials from the containers/docker auth files, and retries 5xx/408/429 answers and broken
/// connections with backoff. No blob or manifest it receives is returned before its digest was
/// checked, and a pulled blob takes its final name only once complete, verified and fsynced.
/// Credentials never appear in messages. HTTP goes through HttpTransport, which tests replace with
/// a fake. A client is used by one thread at a time.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace imager::oci {

/// A repository in a registry, with an optional tag: "docker://HOST[:PORT]/REPO[:TAG]".
struct RegistryRef {
  std::string host;              // "registry.example.com:5000", "[::1]:5000", "localhost"
  std::string repository;        // "imager/cache"
  std::string tag;               // empty when the reference names none
  std::string ToString() const;  // "docker://HOST/REPO[:TAG]"
};

/// Parses "docker://HOST[:PORT]/REPO[/MORE][:TAG]" (the "docker://" is optional). The first
/// component is the host when it contains '.' or ':' or is "localhost"; a reference without one
/// is an error, as is a digest ("@sha256:...") in place of a tag. Every problem is listed.
Result<RegistryRef> ParseRegistryRef(const std::string& text);

struct RegistryOptions {
  bool tls_verify = true;    // false: plain http:// allowed, certificates not checked
  std::string ca_file;       // a CA bundle trusted besides the system's (self-signed registry)
  std::string auth_file;     // empty: the standard files (AuthFileCandidates)
  int timeout_s = 60;        // to connect, and the longest stall below 1 KiB/s
  int retries = 3;           // extra attempts after a transient failure
  int retry_delay_ms = 500;  // the first backoff; doubles at each retry
};

/// A manifest or index as the registry holds it: `body` is the exact bytes its digest covers.
struct Manifest {
  std::string media_type;
  std::string digest;  // sha256:HEX of body
  std::string body;
};

/// How PushBlob got the blob into the repository.
enum class BlobPush { kPresent, kMounted, kUploaded };

// ---- HTTP, narrowed to what the protocol needs ----------------------------------------------

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, POST, PUT, DELETE
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent unless body_file is set
  std::string body_file;             // sent from this file, read while sending
  uint64_t body_file_size = 0;
  std::string username, password;  // Basic credentials
  /// Receives a 2xx answer's body as it arrives (false aborts the transfer); without a sink
  /// the body is collected into HttpResponse::body, up to max_body bytes.
  std::function<bool(const char* data, size_t size)> sink;
  size_t max_body = 4 << 20;
};

struct HttpResponse {
  enum class Failure { kNone, kTransient, kTls, kOther };
  long status = 0;                             // 0: no answer, see failure and error
  std::map<std::string, std::string> headers;  // of the final answer; lowercase names,
                                               // repeated headers joined by ", "
  std::string body;
  Failure failure = Failure::kNone;
  std::string error;  // why there was no answer (curl's message)

  std::string Header(const std::string& lowercase_name) const;
};

/// Sends one request and waits for the answer; redirects of GET and HEAD are followed.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual HttpResponse Send(const HttpRequest& request) = 0;
};

/// The libcurl transport: one connection pool for the client's lifetime.
std::unique_ptr<HttpTransport> MakeCurlTransport(const RegistryOptions& options);

// ---- the client ------------------------------------------------------------------------------

class RegistryClient {
 public:
  /// Probes GET /v2/ and authenticates as the registry asks. With tls_verify false, a registry
  /// that does not speak TLS is reached over plain http://.
  static Result<RegistryClient> Open(const RegistryRef& ref, const RegistryOptions& options);
  static Result<RegistryClient> Open(const RegistryRef& ref, const RegistryOptions& options,
                                     std::unique_ptr<HttpTransport> transport);

  RegistryClient(RegistryClient&&) noexcept;
  RegistryClient& operator=(RegistryClient&&) noexcept;
  ~RegistryClient();

  const RegistryRef& ref() const { return ref_; }
  /// "https://HOST" or "http://HOST": where the API answered.
  const std::string& base_url() const { return base_; }

  /// HEAD of the blob: true when the repository has it.
  Result<bool> HasBlob(const std::string& digest);
  /// Uploads the file at `path` (`size` bytes, `digest`) unless the repository has the blob; with
  /// `from_repository` (same registry), asks for a cross-repository mount first. Monolithic
  /// upload: POST, then PUT ?digest= with the file as the body; a PUT that failed transiently is
  /// retried in a fresh upload session (the broken one may hold part of the body).
  Result<BlobPush> PushBlob(const std::string& path, const std::string& digest, uint64_t size,
                            const std::string& from_repository = "");
  /// Downloads the blob into `dest` through "DEST.tmp": its sha256 (and `size` when >= 0) must
  /// match, then it is fsynced and renamed. On any failure "DEST.tmp" is removed. Two pulls into
  /// one destination at once would share "DEST.tmp": callers serialize them (the cache's lock).
  Status PullBlob(const std::string& digest, const std::string& dest, int64_t size = -1);
  /// The manifest or index a tag or digest names; nullopt when the registry has none. Its digest
  /// is checked against the reference when that is a digest, and against the registry's
  /// Docker-Content-Digest header when it sends one.
  Result<std::optional<Manifest>> GetManifest(const std::string& reference);
  /// Stores `m.body` with `m.media_type` under a tag or its digest; m.digest, when set, must be
  /// the body's. Returns the digest.
  Result<std::string> PutManifest(const std::string& reference, const Manifest& m);
  /// Every tag of the repository, following Link pagination; empty when the repository does not
  /// exist yet.
  Result<std::vector<std::string>> ListTags();

 private:
  struct Auth;
  RegistryClient(RegistryRef ref, RegistryOptions options, std::unique_ptr<HttpTransport> t);

  Status Probe();
  Status LoadCredentials();
  Status Authenticate(const std::string& www_authenticate);
  Status FetchToken();
  /// Sends with authentication, answering one 401 challenge and retrying transient failures;
  /// `before_attempt` runs before every attempt and may change that attempt's request (a
  /// download resets its file, an upload starts a fresh session).
  using AttemptHook = std::function<Status(HttpRequest* attempt)>;
  Result<HttpResponse> Do(HttpRequest request, const AttemptHook& before_attempt = {},
                          bool authenticate = true);
  void AddAuth(HttpRequest* request) const;
  Error HttpError(const HttpRequest& request, const HttpResponse& response) const;
  std::string AuthHint(long status) const;
  std::string Url(const std::string& path) const;
  Result<bool> Mount(const std::string& digest, const std::string& from, std::string* location);
  Result<std::string> StartUpload();

  RegistryRef ref_;
  RegistryOptions options_;
  std::unique_ptr<HttpTransport> transport_;
  std::string base_;
  std::unique_ptr<Auth> auth_;
};

// ---- pure helpers (unit-tested) ----------------------------------------------------------------

/// One challenge of a WWW-Authenticate header: the scheme in lowercase ("basic", "bearer") and
/// its parameters (lowercase names: realm, service, scope, error).
struct AuthChallenge {
  std::string scheme;
  std::map<std::string, std::string> params;
};
/// Every challenge in a WWW-Authenticate value ("Bearer realm=\"...\",service=\"...\"").
std::vector<AuthChallenge> ParseWwwAuthenticate(const std::string& header);

struct Credentials {
  std::string username;
  std::string password;
};
/// The credentials for `host` (and `repository`) in the content of an auth.json or
/// ~/.docker/config.json: "auths" keys "HOST", "HOST/NAMESPACE..." (most specific first), and
/// legacy "https://HOST/v1/"-style keys. nullopt when it has none; an error when it does not
/// parse or an entry's "auth" is not base64 of "USER:PASSWORD".
Result<std::optional<Credentials>> FindCredentials(const std::string& auth_json,
                                                   const std::string& host,
                                                   const std::string& repository);

/// The auth files searched, in order: `explicit_file` alone when set; else $REGISTRY_AUTH_FILE,
/// ${XDG_RUNTIME_DIR}/containers/auth.json, $HOME/.docker/config.json (those whose variables are
/// set). `getenv` is injectable for tests.
std::vector<std::string> AuthFileCandidates(
    const std::string& explicit_file,
    const std::function<const char*(const char*)>& getenv = nullptr);

/// The target of the rel="next" link in a Link header value, as written (maybe relative); empty
/// when there is none.
std::string NextLink(const std::string& header);

/// `location` (absolute, "/path", or relative to the directory of `base`) as an absolute URL.
std::string ResolveUrl(const std::string& base, const std::string& location);

/// "CODE: message (detail)" for each error in a registry's error JSON body; the body itself
/// (shortened) when it is not one; empty for an empty body.
std::string RegistryErrorText(const std::string& body);

/// True for a tag the distribution spec allows: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}.
bool ValidRegistryTag(std::string_view tag);

/// Percent-encodes everything but unreserved characters (RFC 3986), for query values.
std::string UrlEncode(const std::string& s);

/// Decodes standard base64 (padding optional); nullopt on a bad character.
std::optional<std::string> DecodeBase64(const std::string& text);

}  // namespace imager::oci
