// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// CurlFetcher is the production Fetcher: libcurl's multi interface driven on the calling thread,
/// up to `parallel` transfers at once over HTTP, HTTPS and file://. A partial file is resumed with
/// a Range request (a server that answers 200 instead of 206 restarts it from zero); one left from
/// before the call is resumed only when the request has a sha256 that will check the whole.
/// Connection errors, timeouts, stalls (below 1 KiB/s for low_speed_timeout_s), HTTP 5xx/408/429
/// and truncated bodies are retried with exponential backoff; other HTTP errors are not. A request
/// with an etag or a modification time whose destination exists is a conditional GET, and 304
/// leaves the destination alone. A download takes its final name only after its size and sha256
/// matched, the data was fsynced, and the rename was made durable; a mismatch deletes the partial
/// file. Apart from that, a partial file is only ever truncated in place, never replaced, so a lock
/// that a caller holds on it stays meaningful.

#include <memory>

#include "repo/fetch.h"

namespace imager::repo {

class CurlFetcher : public Fetcher {
 public:
  explicit CurlFetcher(const FetchOptions& options);

  Result<std::vector<FetchResult>> FetchAll(const std::vector<FetchRequest>& requests,
                                            const ProgressFn& progress) override;

 private:
  FetchOptions options_;
};

std::unique_ptr<Fetcher> MakeCurlFetcher(const FetchOptions& options);

}  // namespace imager::repo
