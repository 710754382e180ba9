// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// PackageCache is the content-addressed store of downloaded packages that every profile shares:
/// a package lives at <cache_root>/packages/sha256/<first 2 hex>/<hex> and is trusted only after
/// its sha256 and size were checked. Builds may share a cache concurrently: each process
/// downloads into a partial file of its own, locked while in use, and the final rename is atomic,
/// so two processes fetching the same package both succeed. A partial file left by a process
/// that is gone is taken over and resumed.

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "repo/fetch.h"

namespace imager::repo {

struct PackageRef {
  std::string name;  // for messages
  std::string url;
  std::string sha256;  // lowercase hex, required
  int64_t size = -1;   // bytes; -1 = unknown
};

struct EnsureOptions {
  bool offline = false;  // never download: a missing package is an error
};

struct EnsureResult {
  std::vector<std::string> paths;    // one per ref, in the order given
  int cached = 0;                    // distinct packages that were present and correct
  int fetched = 0;                   // distinct packages downloaded now
  int64_t bytes_fetched = 0;         // bytes transferred now
  std::vector<std::string> corrupt;  // names whose cache entry was wrong and was removed
};

class PackageCache {
 public:
  explicit PackageCache(std::string cache_root);

  /// Where the package with this sha256 (64 lowercase hex digits) lives.
  std::string PathFor(const std::string& sha256) const;

  /// True when the entry is present with this sha256 and size (-1: any size); false when it is
  /// absent, or was corrupt and has been removed (with a warning) so that it is fetched again.
  Result<bool> Verify(const std::string& sha256, int64_t size) const;

  /// Makes every ref present: verifies what the cache holds, downloads only what is missing or
  /// corrupt (in one batch through `fetcher`), and returns where each package is. Offline, the
  /// error names every package that is not in the cache.
  Result<EnsureResult> Ensure(const std::vector<PackageRef>& refs, Fetcher& fetcher,
                              const ProgressFn& progress, const EnsureOptions& options = {});

 private:
  enum class State { kPresent, kMissing, kCorrupt };
  Result<State> Check(const std::string& sha256, int64_t size) const;
  std::vector<Result<State>> CheckAll(const std::vector<const PackageRef*>& refs) const;

  std::string root_;
};

}  // namespace imager::repo
