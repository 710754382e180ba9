// SPDX-License-Identifier: GPL-3.0-or-later
#include "repo/pkgcache.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <set>
#include <thread>
#include <utility>

#include "base/cpus.h"
#include "base/fd.h"
#include "base/log.h"
#include "base/sha256.h"
#include "base/strings.h"

namespace imager::repo {
namespace {

// Unique to one Ensure call of one process: names its partial files.
std::string NewToken() {
  uint64_t r = 0;
  if (getrandom(&r, sizeof r, 0) != sizeof r) r = static_cast<uint64_t>(::time(nullptr));
  char buf[48];
  std::snprintf(buf, sizeof buf, "%d-%016llx", static_cast<int>(::getpid()),
                static_cast<unsigned long long>(r));
  return buf;
}

bool TryLock(int fd) {
  int rc;
  do rc = ::flock(fd, LOCK_EX | LOCK_NB);
  while (rc != 0 && errno == EINTR);
  return rc == 0;
}

// A partial download that this process holds the lock of; the lock dies with the process.
struct PartLock {
  std::string path;
  UniqueFd fd;
};

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
    ::closedir(d);
  }
  return names;
}

// Takes over a partial download of `hex` in `dir` whose owner is gone (nobody holds its lock), or
// creates a new one; the result is named "<hex>.<token>.part" and locked.
Result<PartLock> ClaimPart(const std::string& dir, const std::string& hex,
                           const std::string& token) {
  PartLock claimed{dir + "/" + hex + "." + token + ".part", UniqueFd()};
  for (const std::string& name : ListDir(dir)) {
    std::string path = dir + "/" + name;
    if (!StartsWith(name, hex + ".") || name.size() < 5 ||
        name.compare(name.size() - 5, 5, ".part") != 0 || path == claimed.path)
      continue;
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid() || !TryLock(fd.get())) continue;  // gone, or its owner is alive
    if (!claimed.fd.valid() && ::rename(path.c_str(), claimed.path.c_str()) == 0)
      claimed.fd = std::move(fd);
    else if (claimed.fd.valid())
      ::unlink(path.c_str());  // one more abandoned partial file; the one taken over suffices
  }
  if (claimed.fd.valid()) return claimed;
  // Locked before it has its name, so that nobody ever sees it unlocked.
  std::string fresh = claimed.path + ".new";
  claimed.fd =
      UniqueFd(::open(fresh.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!claimed.fd.valid()) return ErrnoError("create " + fresh);
  if (!TryLock(claimed.fd.get())) return ErrnoError("lock " + fresh);
  if (::rename(fresh.c_str(), claimed.path.c_str()) != 0)
    return ErrnoError("rename " + fresh + " to " + claimed.path);
  return claimed;
}

}  // namespace

PackageCache::PackageCache(std::string cache_root) : root_(std::move(cache_root)) {}

std::string PackageCache::PathFor(const std::string& sha256) const {
  return root_ + "/packages/sha256/" + sha256.substr(0, 2) + "/" + sha256;
}

Result<PackageCache::State> PackageCache::Check(const std::string& sha256, int64_t size) const {
  std::string path = PathFor(sha256);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid() && errno == ENOENT) return State::kMissing;
  std::string problem;
  struct stat st {};
  if (!fd.valid()) {
    if (errno != ELOOP) return ErrnoError("open " + path);
    problem = "a symbolic link";
  } else if (::fstat(fd.get(), &st) != 0) {
    return ErrnoError("stat " + path);
  } else if (!S_ISREG(st.st_mode)) {
    return Error{"package cache: " + path + " is not a regular file; remove it"};
  } else if (size >= 0 && st.st_size != size) {
    problem = "size " + std::to_string(st.st_size) + ", expected " + std::to_string(size);
  } else {
    auto actual = Sha256Fd(fd.get());
    if (!actual) return Wrap("read " + path, actual.error());
    if (*actual == sha256) return State::kPresent;
    problem = "sha256 " + *actual;
  }
  // Remove it unless another process has just put a new file there.
  struct stat now;
  bool same = fd.valid() ? ::lstat(path.c_str(), &now) == 0 && now.st_ino == st.st_ino &&
                               now.st_dev == st.st_dev
                         : true;
  if (same && ::unlink(path.c_str()) != 0 && errno != ENOENT)
    return ErrnoError("remove corrupt cache entry " + path);
  log::Warn("package cache: " + path + " was corrupt (" + problem +
            "); removed, it will be fetched again");
  return State::kCorrupt;
}

// Hashing is the cost of a warm cache: spread it over the cores.
std::vector<Result<PackageCache::State>> PackageCache::CheckAll(
    const std::vector<const PackageRef*>& refs) const {
  std::vector<Result<State>> states(refs.size(), Error{"not checked"});
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next++) < refs.size();) states[i] = Check(refs[i]->sha256, refs[i]->size);
  };
  size_t threads = std::min<size_t>({refs.size(), size_t{UsableCpus()}, 8});
  std::vector<std::thread> pool;
  for (size_t i = 1; i < threads; ++i) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  return states;
}

Result<bool> PackageCache::Verify(const std::string& sha256, int64_t size) const {
  if (!IsSha256Hex(sha256))
    return Error{"package cache: \"" + sha256 + "\" is not a sha256 (64 lowercase hex digits)"};
  auto state = Check(sha256, size);
  if (!state) return state.take_error();
  return *state == State::kPresent;
}

Result<EnsureResult> PackageCache::Ensure(const std::vector<PackageRef>& refs, Fetcher& fetcher,
                                          const ProgressFn& progress,
                                          const EnsureOptions& options) {
  std::vector<std::string> bad;
  for (const PackageRef& r : refs) {
    if (!IsSha256Hex(r.sha256))
      bad.push_back(r.name + ": \"" + r.sha256 + "\" is not a sha256 (64 lowercase hex digits)");
    else if (r.url.empty() && !options.offline)
      bad.push_back(r.name + ": no URL");
  }
  if (!bad.empty()) return Error{"package cache: " + Join(bad, "; ")};

  EnsureResult out;
  std::vector<const PackageRef*> unique;
  std::set<std::string> seen;
  for (const PackageRef& r : refs) {
    out.paths.push_back(PathFor(r.sha256));
    if (seen.insert(r.sha256).second) unique.push_back(&r);
  }
  auto states = CheckAll(unique);
  std::vector<const PackageRef*> missing;
  for (size_t i = 0; i < unique.size(); ++i) {
    if (!states[i]) return states[i].take_error();
    if (*states[i] == State::kPresent) {
      out.cached++;
      continue;
    }
    if (*states[i] == State::kCorrupt) out.corrupt.push_back(unique[i]->name);
    missing.push_back(unique[i]);
  }
  if (missing.empty()) return out;
  if (options.offline) {
    std::vector<std::string> lines;
    for (const PackageRef* r : missing)
      lines.push_back("  " + r->name + " (sha256 " + r->sha256 + ")");
    return Error{"offline, and " + std::to_string(missing.size()) + " of " +
                 std::to_string(seen.size()) + " packages are not in the cache " + root_ +
                 "/packages:\n" + Join(lines, "\n")};
  }

  std::string token = NewToken();
  std::vector<PartLock> locks;  // held until the batch is over
  std::vector<FetchRequest> requests;
  for (const PackageRef* r : missing) {
    std::string dest = PathFor(r->sha256);
    std::string dir = dest.substr(0, dest.rfind('/'));
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Error{"package cache: create " + dir + ": " + ec.message()};
    auto part = ClaimPart(dir, r->sha256, token);
    if (!part) return Wrap("package cache", part.error());
    FetchRequest req;
    req.url = r->url;
    req.dest = dest;
    req.sha256 = r->sha256;
    req.size = r->size;
    req.part = part->path;
    requests.push_back(std::move(req));
    locks.push_back(std::move(*part));
  }
  auto fetched = fetcher.FetchAll(requests, progress);
  for (PartLock& lock : locks) {  // a download that got nowhere leaves no empty file behind
    struct stat st;
    if (::fstat(lock.fd.get(), &st) == 0 && st.st_size == 0) ::unlink(lock.path.c_str());
  }
  locks.clear();
  if (!fetched) return fetched.take_error();
  out.fetched = static_cast<int>(requests.size());
  for (const FetchResult& r : *fetched) out.bytes_fetched += r.bytes;
  return out;
}

}  // namespace imager::repo
