// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Downloading, behind one narrow interface: HTTP(S) and file:// through libcurl's multi API in
/// production, a fake in tests. Every download lands in a temporary file beside its destination
/// and is renamed into place only after its size and sha256 (when known) were checked.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/result.h"

namespace imager::repo {

struct FetchRequest {
  std::string url;
  std::string dest;            // final path; "<dest>.part" while downloading (see CurlFetcher)
  std::string sha256;          // expected lowercase hex; "" = unknown (metadata)
  int64_t size = -1;           // expected bytes; -1 = unknown
  std::string etag;            // conditional GET: send If-None-Match
  int64_t last_modified = -1;  // conditional GET: send If-Modified-Since (unix time)
  std::string part;            // the temporary path instead of "<dest>.part" when set
  std::string cached;          // the copy etag/last_modified describe, when not dest itself
};

struct FetchResult {
  bool not_modified = false;  // 304: dest was left as it was
  std::string etag;           // the server's, for the next conditional GET
  int64_t last_modified = -1;
  int64_t bytes = 0;  // bytes transferred now (excludes resumed bytes)
};

/// The environment variable that overrides FetchOptions::low_speed_timeout_s (whole seconds).
inline constexpr const char* kStallSecondsEnv = "IMAGER_FETCH_STALL_SECONDS";

struct FetchOptions {
  int parallel = 8;
  int retries = 3;  // extra attempts after a transient failure, with backoff
  int connect_timeout_s = 20;
  int low_speed_timeout_s = 30;  // a stall: below 1 KiB/s for this long aborts the attempt
  int retry_delay_ms = 500;      // backoff before the first retry; doubles with each retry
};

/// Progress of a batch: called from the fetching thread, rate-limited by the fetcher.
struct FetchProgress {
  int64_t bytes_done = 0;
  int64_t bytes_total = -1;  // -1 when some sizes are unknown
  int files_done = 0;
  int files_total = 0;
};
using ProgressFn = std::function<void(const FetchProgress&)>;

class Fetcher {
 public:
  virtual ~Fetcher() = default;
  /// Fetches every request (in parallel); all-or-error: the error names each failed URL with
  /// the curl error or the checksum/size mismatch. Completed files stay in place.
  virtual Result<std::vector<FetchResult>> FetchAll(const std::vector<FetchRequest>& requests,
                                                    const ProgressFn& progress) = 0;
};

}  // namespace imager::repo
