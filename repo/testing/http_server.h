// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// HttpServer is an HTTP/1.1 server for tests, listening on 127.0.0.1 only (ephemeral port): it
/// serves bodies from a map and injects faults per path (status codes, truncated bodies, delays,
/// fail-N-times-then-succeed, ETag/Last-Modified with 304, Range on or off), and records every
/// request it saw. One thread accepts, one thread serves each connection; every response closes
/// its connection. Header-only because the build compiles only repo/*.cc.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/fd.h"

namespace imager::repo::test {

/// How one path answers. Faults apply in this order: the first `fail_times` requests get
/// `fail_status`; the next `truncate_times` requests that would send a body send half of it with
/// the full Content-Length and then close.
struct Route {
  std::string body;
  int fail_times = 0;
  int fail_status = 500;
  int truncate_times = 0;
  int delay_ms = 0;            // before answering, every time
  std::string etag;            // sent, and compared with If-None-Match
  int64_t last_modified = -1;  // sent, and compared with If-Modified-Since
  bool ranges = true;          // honour "Range: bytes=N-" with 206; off: ignore it (200)
};

struct SeenRequest {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // names in lower case
  int status = 0;                              // what the server answered

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

class HttpServer {
 public:
  HttpServer() {
    listen_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (!listen_.valid() || ::bind(listen_.get(), reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listen_.get(), 64) != 0 ||
        ::getsockname(listen_.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      listen_.reset();
      return;
    }
    port_ = ntohs(addr.sin_port);
    auto pipe = MakePipe();
    if (!pipe) return;
    wake_read_ = std::move(pipe->read);
    wake_write_ = std::move(pipe->write);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }

  ~HttpServer() {
    stopping_ = true;
    if (wake_write_.valid()) WriteAll(wake_write_.get(), "x");
    if (acceptor_.joinable()) acceptor_.join();
    std::vector<std::thread> workers;
    {
      std::lock_guard lock(mu_);
      workers.swap(workers_);
    }
    for (auto& t : workers) t.join();
  }

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  bool ok() const { return port_ > 0 && acceptor_.joinable(); }
  int port() const { return port_; }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

  void Set(const std::string& path, Route route) {
    std::lock_guard lock(mu_);
    routes_[path] = std::move(route);
    hits_[path] = 0;
  }

  std::vector<SeenRequest> Requests() const {
    std::lock_guard lock(mu_);
    return seen_;
  }
  std::vector<SeenRequest> RequestsFor(const std::string& path) const {
    std::vector<SeenRequest> out;
    for (auto& r : Requests())
      if (r.path == path) out.push_back(r);
    return out;
  }
  /// The most requests that were being answered at the same moment.
  int max_concurrent() const { return max_active_; }

  /// "Thu, 01 Jan 1970 00:00:00 GMT".
  static std::string HttpDate(int64_t t) {
    time_t tt = static_cast<time_t>(t);
    tm g{};
    gmtime_r(&tt, &g);
    char buf[64];
    strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &g);
    return buf;
  }
  static int64_t ParseHttpDate(const std::string& s) {
    tm g{};
    if (!strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &g)) return -1;
    return static_cast<int64_t>(timegm(&g));
  }

 private:
  void AcceptLoop() {
    for (;;) {
      pollfd fds[2] = {{listen_.get(), POLLIN, 0}, {wake_read_.get(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
      if (stopping_) return;
      if (!(fds[0].revents & POLLIN)) continue;
      UniqueFd conn(::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!conn.valid()) continue;
      std::lock_guard lock(mu_);
      workers_.emplace_back([this, c = std::move(conn)]() mutable { Serve(std::move(c)); });
    }
  }

  // send(2) without SIGPIPE when the client has gone.
  static void SendAll(int fd, const std::string& data) {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  }

  static std::string Lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

  // Reads one request head; false when the client closed or sent garbage.
  static bool ReadRequest(int fd, SeenRequest* req) {
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string head;
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || head.size() > 65536) return false;
      head.append(buf, static_cast<size_t>(n));
    }
    head.resize(head.find("\r\n\r\n"));
    size_t eol = head.find("\r\n");
    std::string line = head.substr(0, eol);
    size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    if (sp1 == std::string::npos || sp2 == sp1) return false;
    req->method = line.substr(0, sp1);
    req->path = line.substr(sp1 + 1, sp2 - sp1 - 1);
    while (eol != std::string::npos) {
      size_t start = eol + 2;
      eol = head.find("\r\n", start);
      std::string h = head.substr(start, eol == std::string::npos ? eol : eol - start);
      size_t colon = h.find(':');
      if (colon == std::string::npos) continue;
      size_t v = h.find_first_not_of(' ', colon + 1);
      req->headers[Lower(h.substr(0, colon))] = v == std::string::npos ? "" : h.substr(v);
    }
    return true;
  }

  static std::string Reason(int status) {
    switch (status) {
      case 200:
        return "OK";
      case 206:
        return "Partial Content";
      case 304:
        return "Not Modified";
      case 403:
        return "Forbidden";
      case 404:
        return "Not Found";
      case 416:
        return "Range Not Satisfiable";
      case 429:
        return "Too Many Requests";
      case 500:
        return "Internal Server Error";
      case 503:
        return "Service Unavailable";
      default:
        return "Status";
    }
  }

  struct Answer {
    int status = 200;
    std::vector<std::string> headers;
    std::string body;
    size_t send_bytes = std::string::npos;  // fewer than body.size() = truncated
  };

  Answer Decide(const SeenRequest& req) {
    std::unique_lock lock(mu_);
    auto it = routes_.find(req.path);
    if (it == routes_.end()) return {404, {}, "no such file\n"};
    Route route = it->second;
    int hit = hits_[req.path]++;
    lock.unlock();
    if (route.delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(route.delay_ms));
    if (hit < route.fail_times) return {route.fail_status, {}, "injected failure\n"};
    Answer a;
    if (!route.etag.empty()) a.headers.push_back("ETag: " + route.etag);
    if (route.last_modified >= 0)
      a.headers.push_back("Last-Modified: " + HttpDate(route.last_modified));
    std::string inm = req.Header("if-none-match");
    std::string ims = req.Header("if-modified-since");
    if ((!inm.empty() && inm == route.etag) ||
        (inm.empty() && !ims.empty() && route.last_modified >= 0 &&
         ParseHttpDate(ims) >= route.last_modified)) {
      a.status = 304;
      return a;
    }
    a.body = route.body;
    std::string range = req.Header("range");
    if (route.ranges && range.rfind("bytes=", 0) == 0 && range.back() == '-') {
      size_t from = std::stoul(range.substr(6));
      size_t size = route.body.size();
      if (from >= size) {
        a.status = 416;
        a.headers.push_back("Content-Range: bytes */" + std::to_string(size));
        a.body.clear();
        return a;
      }
      a.status = 206;
      a.headers.push_back("Content-Range: bytes " + std::to_string(from) + "-" +
                          std::to_string(size - 1) + "/" + std::to_string(size));
      a.body = route.body.substr(from);
    }
    if (hit - route.fail_times < route.truncate_times) a.send_bytes = a.body.size() / 2;
    return a;
  }

  void Serve(UniqueFd conn) {
    SeenRequest req;
    if (!ReadRequest(conn.get(), &req)) return;
    int now = ++active_;
    for (int seen = max_active_; now > seen && !max_active_.compare_exchange_weak(seen, now);) {
    }
    Answer a = Decide(req);
    req.status = a.status;
    {
      std::lock_guard lock(mu_);
      seen_.push_back(req);
    }
    std::string out = "HTTP/1.1 " + std::to_string(a.status) + " " + Reason(a.status) + "\r\n";
    for (auto& h : a.headers) out += h + "\r\n";
    if (a.status != 304) out += "Content-Length: " + std::to_string(a.body.size()) + "\r\n";
    out += "Connection: close\r\n\r\n";
    if (req.method != "HEAD") out += a.body.substr(0, a.send_bytes);
    SendAll(conn.get(), out);
    --active_;
    ::shutdown(conn.get(), SHUT_RDWR);
  }

  UniqueFd listen_, wake_read_, wake_write_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> active_{0}, max_active_{0};
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<std::thread> workers_;
  std::map<std::string, Route> routes_;
  std::map<std::string, int> hits_;
  std::vector<SeenRequest> seen_;
};

}  // namespace imager::repo::test
