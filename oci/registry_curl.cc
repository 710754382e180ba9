// SPDX-License-Identifier: GPL-3.0-or-later
// HttpTransport on one libcurl easy handle, reused so that connections are kept between requests.
// Bodies are uploaded from files as they are read and delivered to a sink as they arrive; nothing
// is logged (requests carry credentials).
#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <mutex>

#include "base/fd.h"
#include "base/strings.h"
#include "oci/registry.h"

namespace imager::oci {
namespace {

struct EasyDeleter {
  void operator()(CURL* e) const { curl_easy_cleanup(e); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// One request in flight.
struct Exchange {
  const HttpRequest* req = nullptr;
  HttpResponse resp;
  CURL* easy = nullptr;
  UniqueFd upload_fd;   // body_file
  size_t body_pos = 0;  // into req->body
  std::string abort;    // why a callback stopped the transfer
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

size_t OnHeader(char* data, size_t size, size_t n, void* p) {
  auto& x = *static_cast<Exchange*>(p);
  std::string_view line = Trim(std::string_view(data, size * n));
  if (StartsWith(line, "HTTP/")) {  // a new answer (after a redirect, or a 100)
    x.resp.headers.clear();
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name = Lower(Trim(line.substr(0, colon)));
  std::string value(Trim(line.substr(colon + 1)));
  auto [it, fresh] = x.resp.headers.emplace(name, value);
  if (!fresh) it->second += ", " + value;
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* p) {
  auto& x = *static_cast<Exchange*>(p);
  size_t len = size * n;
  long code = 0;
  curl_easy_getinfo(x.easy, CURLINFO_RESPONSE_CODE, &code);
  if (x.req->sink && code >= 200 && code < 300) {
    if (x.req->sink(data, len)) return len;
    x.abort = "the receiver stopped the transfer";
    return 0;
  }
  if (x.resp.body.size() + len > x.req->max_body) {
    x.abort = "the answer is larger than " + std::to_string(x.req->max_body) + " bytes";
    return 0;
  }
  x.resp.body.append(data, len);
  return len;
}

size_t OnRead(char* buf, size_t size, size_t n, void* p) {
  auto& x = *static_cast<Exchange*>(p);
  size_t want = size * n;
  if (x.upload_fd.valid()) {
    for (;;) {
      ssize_t got = ::read(x.upload_fd.get(), buf, want);
      if (got >= 0) return static_cast<size_t>(got);
      if (errno == EINTR) continue;
      x.abort = ErrnoError("read " + x.req->body_file).message;
      return CURL_READFUNC_ABORT;
    }
  }
  size_t left = x.req->body.size() - x.body_pos;
  size_t take = std::min(left, want);
  x.req->body.copy(buf, take, x.body_pos);
  x.body_pos += take;
  return take;
}

// Rewinds the body when curl has to send it again (a redirect, an authentication round).
int OnSeek(void* p, curl_off_t offset, int origin) {
  auto& x = *static_cast<Exchange*>(p);
  if (origin != SEEK_SET) return CURL_SEEKFUNC_CANTSEEK;
  if (x.upload_fd.valid())
    return ::lseek(x.upload_fd.get(), offset, SEEK_SET) == offset ? CURL_SEEKFUNC_OK
                                                                  : CURL_SEEKFUNC_FAIL;
  if (offset < 0 || static_cast<size_t>(offset) > x.req->body.size()) return CURL_SEEKFUNC_FAIL;
  x.body_pos = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

HttpResponse::Failure Classify(CURLcode rc) {
  switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return HttpResponse::Failure::kTls;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return HttpResponse::Failure::kTransient;
    default:
      return HttpResponse::Failure::kOther;
  }
}

class CurlTransport : public HttpTransport {
 public:
  explicit CurlTransport(const RegistryOptions& options) : options_(options) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
    easy_.reset(curl_easy_init());
    if (options.ca_file.empty()) return;
    // The system's bundle and the extra CA together: CURLOPT_CAINFO would replace the first.
    const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
    if (info->cainfo)
      if (auto system = ReadFile(info->cainfo); system) ca_bundle_ = *system + "\n";
    if (auto extra = ReadFile(options.ca_file); extra) ca_bundle_ += *extra;
  }

  HttpResponse Send(const HttpRequest& req) override {
    Exchange x;
    x.req = &req;
    if (!easy_) return Failed("curl_easy_init failed");
    x.easy = easy_.get();
    curl_easy_reset(x.easy);  // keeps the connection cache
    if (!req.body_file.empty()) {
      x.upload_fd = UniqueFd(::open(req.body_file.c_str(), O_RDONLY | O_CLOEXEC));
      if (!x.upload_fd.valid()) return Failed(ErrnoError("open " + req.body_file).message);
    }
    std::unique_ptr<curl_slist, SlistDeleter> headers;
    Configure(x, &headers);
    char errbuf[CURL_ERROR_SIZE] = {};
    curl_easy_setopt(x.easy, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(x.easy);
    if (!x.abort.empty()) return Failed(x.abort);
    if (rc != CURLE_OK) {
      std::string msg = curl_easy_strerror(rc);
      if (errbuf[0] && msg != errbuf) msg += std::string(" (") + errbuf + ")";
      x.resp.failure = Classify(rc);
      return Failed(msg, x.resp.failure);
    }
    curl_easy_getinfo(x.easy, CURLINFO_RESPONSE_CODE, &x.resp.status);
    return std::move(x.resp);
  }

 private:
  static HttpResponse Failed(const std::string& why,
                             HttpResponse::Failure failure = HttpResponse::Failure::kOther) {
    HttpResponse r;
    r.failure = failure;
    r.error = why;
    return r;
  }

  void Configure(Exchange& x, std::unique_ptr<curl_slist, SlistDeleter>* headers) const {
    CURL* e = x.easy;
    const HttpRequest& req = *x.req;
    const bool plain_ok = !options_.tls_verify;
    curl_easy_setopt(e, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "imager");
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, plain_ok ? "http,https" : "https");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, static_cast<long>(options_.timeout_s));
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.timeout_s));
    if (!options_.tls_verify) {
      curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
      curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!ca_bundle_.empty()) {
      curl_blob blob{const_cast<char*>(ca_bundle_.data()), ca_bundle_.size(), CURL_BLOB_NOCOPY};
      curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
    }
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, OnBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
    if (!req.username.empty()) {
      curl_easy_setopt(e, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
      curl_easy_setopt(e, CURLOPT_USERNAME, req.username.c_str());
      curl_easy_setopt(e, CURLOPT_PASSWORD, req.password.c_str());
    }
    const bool has_body = !req.body_file.empty() || !req.body.empty();
    const curl_off_t body_size = !req.body_file.empty()
                                     ? static_cast<curl_off_t>(req.body_file_size)
                                     : static_cast<curl_off_t>(req.body.size());
    if (req.method == "GET" || req.method == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, req.method == "HEAD" ? 1L : 0L);
      curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
      curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
    } else if (req.method == "POST") {
      curl_easy_setopt(e, CURLOPT_POST, 1L);
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, has_body ? body_size : 0);
      if (!has_body) curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    } else if (req.method == "PUT") {
      curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, body_size);
    } else {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    }
    curl_easy_setopt(e, CURLOPT_READFUNCTION, OnRead);
    curl_easy_setopt(e, CURLOPT_READDATA, &x);
    curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, OnSeek);
    curl_easy_setopt(e, CURLOPT_SEEKDATA, &x);
    curl_slist* list = curl_slist_append(nullptr, "Expect:");  // no 100-continue round trip
    for (const std::string& h : req.headers) list = curl_slist_append(list, h.c_str());
    headers->reset(list);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
  }

  RegistryOptions options_;
  std::unique_ptr<CURL, EasyDeleter> easy_;
  std::string ca_bundle_;
};

}  // namespace

std::unique_ptr<HttpTransport> MakeCurlTransport(const RegistryOptions& options) {
  return std::make_unique<CurlTransport>(options);
}

}  // namespace imager::oci
