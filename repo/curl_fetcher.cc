// SPDX-License-Identifier: GPL-3.0-or-later
#include "repo/curl_fetcher.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <deque>
#include <mutex>
#include <set>

#include "base/fd.h"
#include "base/sha256.h"
#include "base/strings.h"

namespace imager::repo {
namespace {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

constexpr Millis kProgressInterval{100};
constexpr Millis kIdlePoll{1000};
constexpr int64_t kMaxRetryAfterMs = 60'000;

struct EasyDeleter {
  void operator()(CURL* e) const { curl_easy_cleanup(e); }
};
struct MultiDeleter {
  void operator()(CURLM* m) const { curl_multi_cleanup(m); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// How a callback stopped a transfer.
enum class Abort { kNone, kFail, kRestart, kMismatch };

// One request, across its attempts. The fields below `due` describe the current attempt.
struct Job {
  size_t index = 0;
  const FetchRequest* req = nullptr;
  std::string part;
  bool is_file = false;
  int attempt = 0;         // attempts started
  bool restarted = false;  // the partial file was already thrown away once
  bool finished = false;
  bool failed = false;
  int64_t bytes = 0;  // body bytes received by this FetchAll, over all attempts
  FetchResult result;
  Clock::time_point due;

  std::unique_ptr<CURL, EasyDeleter> easy;
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  UniqueFd fd;
  Sha256 sha;
  int64_t offset = 0;   // bytes kept from an earlier partial file
  int64_t written = 0;  // bytes in the partial file now
  bool conditional = false;
  enum class Body { kUndecided, kWrite, kDiscard } body = Body::kUndecided;
  std::string status_line, etag, content_range;
  char errbuf[CURL_ERROR_SIZE] = {};
  Abort abort = Abort::kNone;
  std::string abort_error;
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

bool IsTransient(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_QUIC_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

bool IsTransientStatus(long code) { return code >= 500 || code == 408 || code == 429; }

// "Couldn't connect to server (Failed to connect to 127.0.0.1 port 1 ...)".
std::string CurlError(CURLcode rc, const char* errbuf) {
  std::string msg = curl_easy_strerror(rc);
  if (errbuf[0] && msg != errbuf) msg += std::string(" (") + errbuf + ")";
  return msg;
}

// Feeds the first `size` bytes of `fd` to `sha`.
Status HashPrefix(int fd, int64_t size, Sha256* sha, const std::string& path) {
  std::string buf(1 << 20, '\0');
  for (int64_t pos = 0; pos < size;) {
    size_t want = static_cast<size_t>(std::min<int64_t>(size - pos, buf.size()));
    ssize_t n = ::pread(fd, buf.data(), want, pos);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read " + path);
    if (n == 0) return Error{"read " + path + ": file shrank while being read"};
    sha->Update(buf.data(), static_cast<size_t>(n));
    pos += n;
  }
  return {};
}

// Empties the partial file and forgets what was hashed.
Status Truncate(Job& job) {
  if (::ftruncate(job.fd.get(), 0) != 0 || ::lseek(job.fd.get(), 0, SEEK_SET) != 0)
    return ErrnoError("truncate " + job.part);
  job.sha = Sha256();
  job.offset = job.written = 0;
  return {};
}

Status OpenPart(Job& job) {
  if (job.fd.valid()) return {};
  job.fd = UniqueFd(::open(job.part.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!job.fd.valid()) return ErrnoError("create " + job.part);
  return {};
}

// Chooses, at the first body byte, whether the body goes into the partial file.
void DecideBody(Job& job) {
  long code = 0;
  curl_easy_getinfo(job.easy.get(), CURLINFO_RESPONSE_CODE, &code);
  job.body = Job::Body::kWrite;
  if (!job.is_file && code == 206) {
    int64_t from = -1;
    if (StartsWith(job.content_range, "bytes ")) from = std::atoll(job.content_range.c_str() + 6);
    if (from != job.offset) {
      job.abort = Abort::kRestart;
      job.abort_error = "asked for bytes from " + std::to_string(job.offset) +
                        ", the server sent \"Content-Range: " + job.content_range + "\"";
      return;
    }
  } else if (!job.is_file && code == 200 && job.offset > 0) {
    if (auto st = Truncate(job); !st) {  // the server ignored Range: start again from zero
      job.abort = Abort::kFail;
      job.abort_error = st.error();
      return;
    }
  } else if (!job.is_file && code != 200 && code != 206) {
    job.body = Job::Body::kDiscard;  // an error page
    return;
  }
  if (auto st = OpenPart(job); !st) {
    job.abort = Abort::kFail;
    job.abort_error = st.error();
  }
}

size_t OnBody(char* data, size_t size, size_t n, void* p) {
  auto& job = *static_cast<Job*>(p);
  size_t len = size * n;
  if (job.body == Job::Body::kUndecided) DecideBody(job);
  if (job.abort != Abort::kNone) return 0;
  if (job.body == Job::Body::kDiscard) return len;
  int64_t expected = job.req->size;
  if (expected >= 0 && job.written + static_cast<int64_t>(len) > expected) {
    job.abort = Abort::kMismatch;
    job.abort_error = "size mismatch: expected " + std::to_string(expected) +
                      " bytes, got at least " + std::to_string(job.written + len);
    return 0;
  }
  if (!WriteAll(job.fd.get(), data, len)) {
    job.abort = Abort::kFail;
    job.abort_error = ErrnoError("write " + job.part).message;
    return 0;
  }
  job.sha.Update(data, len);
  job.written += static_cast<int64_t>(len);
  job.bytes += static_cast<int64_t>(len);
  return len;
}

size_t OnHeader(char* data, size_t size, size_t n, void* p) {
  auto& job = *static_cast<Job*>(p);
  std::string_view line = Trim(std::string_view(data, size * n));
  if (StartsWith(line, "HTTP/")) {  // a new response (after a redirect, or a 100)
    job.status_line = std::string(line);
    job.etag.clear();
    job.content_range.clear();
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name = Lower(line.substr(0, colon));
  std::string value(Trim(line.substr(colon + 1)));
  if (name == "etag") job.etag = value;
  if (name == "content-range") job.content_range = value;
  return size * n;
}

// "HTTP 404 Not Found" from "HTTP/1.1 404 Not Found".
std::string HttpStatus(const Job& job, long code) {
  size_t sp = job.status_line.find(' ');
  if (sp == std::string::npos) return "HTTP " + std::to_string(code);
  return "HTTP " + job.status_line.substr(sp + 1);
}

class Batch {
 public:
  Batch(const FetchOptions& options, const std::vector<FetchRequest>& requests,
        const ProgressFn& progress)
      : options_(options), progress_(progress), jobs_(requests.size()) {
    multi_.reset(curl_multi_init());
    for (size_t i = 0; i < requests.size(); ++i) {
      Job& job = jobs_[i];
      job.index = i;
      job.req = &requests[i];
      job.part = requests[i].part.empty() ? requests[i].dest + ".part" : requests[i].part;
      job.is_file = StartsWith(Lower(requests[i].url), "file:");
    }
  }

  Result<std::vector<FetchResult>> Run();

 private:
  Status Validate() const;
  Result<bool> Start(Job& job);
  void SetOptions(Job& job);
  void Finished(Job& job, CURLcode rc);
  void Complete(Job& job);
  void NotModified(Job& job);
  void Retry(Job& job, const std::string& why, int64_t retry_after_ms = 0);
  void Restart(Job& job, const std::string& why);
  void Mismatch(Job& job, const std::string& why);
  void Fail(Job& job, const std::string& why);
  void Report(bool final);
  int PollTimeoutMs() const;

  const FetchOptions& options_;
  const ProgressFn& progress_;
  std::unique_ptr<CURLM, MultiDeleter> multi_;  // outlives the jobs' easy handles
  std::vector<Job> jobs_;
  std::deque<Job*> ready_;
  std::vector<Job*> waiting_;  // for their retry time
  int active_ = 0;
  std::vector<std::pair<size_t, std::string>> errors_;  // by request index
  Clock::time_point last_report_;
};

Status Batch::Validate() const {
  std::vector<std::string> problems;
  std::set<std::string> parts;
  for (const Job& job : jobs_) {
    const FetchRequest& r = *job.req;
    if (r.url.empty() || r.dest.empty())
      problems.push_back("request " + std::to_string(job.index) + " lacks a URL or destination");
    else if (!parts.insert(job.part).second)
      problems.push_back("two requests download into " + job.part + " (" + r.url + ")");
  }
  if (problems.empty()) return {};
  return Error{Join(problems, "\n")};
}

// Opens the partial file (if any) and adds a transfer; false when the partial file already has
// the expected size, so there is nothing to transfer.
Result<bool> Batch::Start(Job& job) {
  job.attempt++;
  job.sha = Sha256();
  job.offset = job.written = 0;
  job.body = Job::Body::kUndecided;
  job.status_line.clear();
  job.etag.clear();
  job.content_range.clear();
  job.errbuf[0] = '\0';
  job.abort = Abort::kNone;
  job.abort_error.clear();
  job.fd = UniqueFd(::open(job.part.c_str(), O_RDWR | O_CLOEXEC));
  if (job.fd.valid()) {
    struct stat st;
    if (::fstat(job.fd.get(), &st) != 0) return ErrnoError("stat " + job.part);
    job.offset = st.st_size;
    // Only a sha256 proves that what a partial file from before holds belongs to this file;
    // without one, a partial file is resumed only within this batch (after a broken transfer).
    bool stale = job.attempt == 1 && job.req->sha256.empty();
    if (stale || (job.req->size >= 0 && job.offset > job.req->size))
      if (auto t = Truncate(job); !t) return t.take_error();
    if (auto h = HashPrefix(job.fd.get(), job.offset, &job.sha, job.part); !h)
      return h.take_error();
    if (::lseek(job.fd.get(), job.offset, SEEK_SET) != job.offset)
      return ErrnoError("seek " + job.part);
    job.written = job.offset;
    if (job.offset > 0 && job.offset == job.req->size) return false;
  } else if (errno != ENOENT) {
    return ErrnoError("open " + job.part);
  }
  job.easy.reset(curl_easy_init());
  if (!job.easy) return Error{"curl_easy_init failed"};
  SetOptions(job);
  if (CURLMcode mc = curl_multi_add_handle(multi_.get(), job.easy.get()); mc != CURLM_OK)
    return Error{std::string("curl_multi_add_handle: ") + curl_multi_strerror(mc)};
  active_++;
  return true;
}

void Batch::SetOptions(Job& job) {
  CURL* e = job.easy.get();
  const FetchRequest& r = *job.req;
  curl_easy_setopt(e, CURLOPT_URL, r.url.c_str());
  curl_easy_setopt(e, CURLOPT_PRIVATE, &job);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, job.errbuf);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &job);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &job);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https,file");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, static_cast<long>(options_.connect_timeout_s));
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.low_speed_timeout_s));
  curl_easy_setopt(e, CURLOPT_FILETIME, 1L);
  curl_easy_setopt(e, CURLOPT_USERAGENT, "imager");
  if (job.offset > 0 && job.is_file) {
    curl_easy_setopt(e, CURLOPT_RESUME_FROM_LARGE, static_cast<curl_off_t>(job.offset));
  } else if (job.offset > 0) {
    // Not CURLOPT_RESUME_FROM: curl fails on a 200 answer to it; we restart from zero instead.
    std::string range = std::to_string(job.offset) + "-";
    curl_easy_setopt(e, CURLOPT_RANGE, range.c_str());  // curl copies option strings
  }
  struct stat st;
  const std::string& cached = r.cached.empty() ? r.dest : r.cached;
  job.conditional = (!r.etag.empty() || r.last_modified >= 0) && ::stat(cached.c_str(), &st) == 0;
  if (job.conditional && !r.etag.empty()) {
    curl_slist* list = curl_slist_append(nullptr, ("If-None-Match: " + r.etag).c_str());
    job.headers.reset(list);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, list);
  }
  if (job.conditional && r.last_modified >= 0) {
    curl_easy_setopt(e, CURLOPT_TIMECONDITION, static_cast<long>(CURL_TIMECOND_IFMODSINCE));
    curl_easy_setopt(e, CURLOPT_TIMEVALUE_LARGE, static_cast<curl_off_t>(r.last_modified));
  }
}

void Batch::Finished(Job& job, CURLcode rc) {
  CURL* e = job.easy.get();
  long code = 0, unmet = 0;
  curl_off_t filetime = -1, retry_after = 0;
  curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_getinfo(e, CURLINFO_CONDITION_UNMET, &unmet);
  curl_easy_getinfo(e, CURLINFO_FILETIME_T, &filetime);
  curl_easy_getinfo(e, CURLINFO_RETRY_AFTER, &retry_after);
  curl_multi_remove_handle(multi_.get(), e);
  job.easy.reset();
  job.headers.reset();
  active_--;
  job.result.last_modified = filetime >= 0 ? static_cast<int64_t>(filetime) : -1;

  if (job.abort == Abort::kFail) return Fail(job, job.abort_error);
  if (job.abort == Abort::kRestart) return Restart(job, job.abort_error);
  if (job.abort == Abort::kMismatch) return Mismatch(job, job.abort_error);
  if (rc == CURLE_BAD_DOWNLOAD_RESUME || rc == CURLE_RANGE_ERROR)
    return Restart(job, CurlError(rc, job.errbuf));
  if (rc != CURLE_OK) {
    std::string why = CurlError(rc, job.errbuf);
    if (rc == CURLE_OPERATION_TIMEDOUT && StartsWith(job.errbuf, "Operation too slow"))
      why = "stalled: less than 1 KiB/s arrived in " +
            std::to_string(options_.low_speed_timeout_s) + " s";
    if (IsTransient(rc)) return Retry(job, why);
    return Fail(job, why);
  }
  if (unmet || (!job.is_file && code == 304)) return NotModified(job);
  if (!job.is_file && code == 416 && job.offset > 0)
    return Restart(job, HttpStatus(job, code) + " for bytes from " + std::to_string(job.offset));
  if (!job.is_file && code != 200 && code != 206) {
    if (IsTransientStatus(code)) return Retry(job, HttpStatus(job, code), retry_after * 1000);
    return Fail(job, HttpStatus(job, code));
  }
  if (job.body == Job::Body::kUndecided && !job.is_file && code == 200 && job.offset > 0)
    if (auto st = Truncate(job); !st) return Fail(job, st.error());  // a 200 with no body
  Complete(job);
}

// Checks size and sha256, then makes the partial file the destination, durably.
void Batch::Complete(Job& job) {
  const FetchRequest& r = *job.req;
  if (auto st = OpenPart(job); !st) return Fail(job, st.error());  // an empty body writes nothing
  if (r.size >= 0 && job.written != r.size)
    return Mismatch(job, "size mismatch: expected " + std::to_string(r.size) + " bytes, got " +
                             std::to_string(job.written));
  std::string actual = job.sha.FinalHex();
  if (!r.sha256.empty() && actual != r.sha256)
    return Mismatch(job, "sha256 mismatch: expected " + r.sha256 + ", got " + actual);
  if (::fsync(job.fd.get()) != 0) return Fail(job, ErrnoError("fsync " + job.part).message);
  job.fd.reset();
  if (::rename(job.part.c_str(), r.dest.c_str()) != 0)
    return Fail(job, ErrnoError("rename " + job.part + " to " + r.dest).message);
  std::string dir = DirOf(r.dest);
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd.valid() || ::fsync(dfd.get()) != 0)
    return Fail(job, ErrnoError("fsync directory " + dir).message);
  job.result.etag = job.etag;
  job.result.bytes = job.bytes;
  job.finished = true;
}

void Batch::NotModified(Job& job) {
  job.fd.reset();
  if (!job.conditional) return Fail(job, "HTTP 304 Not Modified to an unconditional request");
  job.result.not_modified = true;
  job.result.etag = job.etag.empty() ? job.req->etag : job.etag;
  if (job.result.last_modified < 0) job.result.last_modified = job.req->last_modified;
  job.result.bytes = job.bytes;
  job.finished = true;
}

void Batch::Retry(Job& job, const std::string& why, int64_t retry_after_ms) {
  job.fd.reset();  // the partial file stays, to be resumed
  if (job.attempt > options_.retries)
    return Fail(job, why + " (gave up after " + std::to_string(job.attempt) +
                         (job.attempt == 1 ? " attempt" : " attempts") +
                         "; the mirror or the network is failing: try again later, or use " +
                         "another mirror)");
  int64_t delay = static_cast<int64_t>(options_.retry_delay_ms) << (job.attempt - 1);
  delay = std::max(delay, std::min(retry_after_ms, kMaxRetryAfterMs));
  job.due = Clock::now() + Millis(delay);
  waiting_.push_back(&job);
}

// Empties the partial file and starts again from zero, at once and only once. The file is
// truncated in place, never replaced, so that a lock a caller holds on it keeps its meaning.
void Batch::Restart(Job& job, const std::string& why) {
  job.fd.reset();
  if (job.restarted) return Fail(job, why);
  if (::truncate(job.part.c_str(), 0) != 0 && errno != ENOENT)
    return Fail(job, ErrnoError("truncate " + job.part).message);
  job.restarted = true;
  job.attempt--;
  ready_.push_front(&job);
}

// Wrong content: when an earlier partial file contributed, it may be the culprit, so the file
// is fetched once more from zero; otherwise the download is wrong and goes away.
void Batch::Mismatch(Job& job, const std::string& why) {
  if (job.offset > 0 && !job.restarted) return Restart(job, why);
  job.fd.reset();
  ::unlink(job.part.c_str());
  Fail(job, why);
}

void Batch::Fail(Job& job, const std::string& why) {
  job.fd.reset();
  job.failed = job.finished = true;
  errors_.emplace_back(job.index, "download " + job.req->url + ": " + why);
}

void Batch::Report(bool final) {
  if (!progress_) return;
  auto now = Clock::now();
  if (!final && now - last_report_ < kProgressInterval) return;
  last_report_ = now;
  FetchProgress p;
  p.files_total = static_cast<int>(jobs_.size());
  p.bytes_total = 0;
  for (const Job& job : jobs_) {
    int64_t size = job.req->size;
    if (size < 0) p.bytes_total = -1;
    if (p.bytes_total >= 0) p.bytes_total += size;
    bool ok = job.finished && !job.failed;
    p.files_done += ok;
    p.bytes_done += ok && size >= 0 ? size : job.written;
  }
  progress_(p);
}

int Batch::PollTimeoutMs() const {
  auto timeout = kIdlePoll;
  auto now = Clock::now();
  for (const Job* job : waiting_)
    timeout = std::min(timeout, std::chrono::ceil<Millis>(std::max(job->due - now, {})));
  return static_cast<int>(timeout.count());
}

Result<std::vector<FetchResult>> Batch::Run() {
  if (auto st = Validate(); !st) return st.take_error();
  if (jobs_.empty()) return std::vector<FetchResult>{};
  if (!multi_) return Error{"curl_multi_init failed"};
  for (Job& job : jobs_) ready_.push_back(&job);
  const int parallel = std::max(1, options_.parallel);
  for (;;) {
    auto now = Clock::now();
    for (auto it = waiting_.begin(); it != waiting_.end();) {
      if ((*it)->due > now) {
        ++it;
        continue;
      }
      ready_.push_back(*it);
      it = waiting_.erase(it);
    }
    while (active_ < parallel && !ready_.empty()) {
      Job& job = *ready_.front();
      ready_.pop_front();
      auto started = Start(job);
      if (!started)
        Fail(job, started.error());
      else if (!*started)
        Complete(job);  // the partial file is complete already
    }
    if (active_ == 0 && ready_.empty() && waiting_.empty()) break;
    int running = 0;
    if (CURLMcode mc = curl_multi_perform(multi_.get(), &running); mc != CURLM_OK)
      return Error{std::string("curl_multi_perform: ") + curl_multi_strerror(mc)};
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_.get(), &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Job* job = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &job);
      Finished(*job, msg->data.result);
    }
    Report(false);
    if (!ready_.empty() && active_ < parallel) continue;
    if (active_ == 0 && ready_.empty() && waiting_.empty()) break;
    if (CURLMcode mc = curl_multi_poll(multi_.get(), nullptr, 0, PollTimeoutMs(), nullptr);
        mc != CURLM_OK)
      return Error{std::string("curl_multi_poll: ") + curl_multi_strerror(mc)};
  }
  Report(true);
  std::sort(errors_.begin(), errors_.end());
  std::vector<std::string> lines;
  for (auto& [index, text] : errors_) lines.push_back(std::move(text));
  if (lines.size() == 1) return Error{lines[0]};
  if (!lines.empty())
    return Error{std::to_string(lines.size()) + " of " + std::to_string(jobs_.size()) +
                 " downloads failed:\n" + Join(lines, "\n")};
  std::vector<FetchResult> results;
  for (Job& job : jobs_) results.push_back(std::move(job.result));
  return results;
}

}  // namespace

CurlFetcher::CurlFetcher(const FetchOptions& options) : options_(options) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

Result<std::vector<FetchResult>> CurlFetcher::FetchAll(const std::vector<FetchRequest>& requests,
                                                       const ProgressFn& progress) {
  Batch batch(options_, requests, progress);
  return batch.Run();
}

std::unique_ptr<Fetcher> MakeCurlFetcher(const FetchOptions& options) {
  return std::make_unique<CurlFetcher>(options);
}

}  // namespace imager::repo
