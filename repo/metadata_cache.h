// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The repository metadata cache's conditional downloads: a cached file's ETag and
/// Last-Modified live beside it in FILE.cache.json and are sent with the next request, so an
/// unchanged index is not downloaded again (the Debian and rpm-md loaders share this).

#include <string>
#include <vector>

#include "base/result.h"
#include "repo/fetch.h"

namespace imager::repo {

/// A metadata file fetched to be checked before the cache takes it: `path` is the cached copy
/// itself when the server said it is unchanged (304), else a new download beside it
/// ("DEST.new") that nothing trusts yet.
struct StagedFile {
  std::string dest;  // where the file is cached once accepted
  std::string path;  // what to check
  FetchResult result;
  bool fresh() const { return path != dest; }
};

/// Downloads `url` beside `dest` (conditionally when `dest` is cached); the cache is unchanged.
Result<StagedFile> FetchStaged(Fetcher& fetcher, const std::string& url, const std::string& dest);

/// Makes a checked download the cached copy (renamed into place) and records its validators.
Status AcceptStaged(const StagedFile& file);

/// Throws a download away unchecked or after it failed its check; the cached copy stays.
void DiscardStaged(const StagedFile& file);

/// Downloads that the cache takes only once all of a repository's metadata checked out
/// (AcceptAll); whatever is left when this goes out of scope is thrown away, and the cached
/// copies stay as they were.
class PendingFiles {
 public:
  PendingFiles() = default;
  PendingFiles(const PendingFiles&) = delete;
  PendingFiles& operator=(const PendingFiles&) = delete;
  ~PendingFiles() {
    for (const auto& f : files_) DiscardStaged(f);
  }
  void Add(StagedFile f) { files_.push_back(std::move(f)); }
  Status AcceptAll() {
    for (const auto& f : files_)
      if (auto st = AcceptStaged(f); !st) return st;
    files_.clear();
    return {};
  }

 private:
  std::vector<StagedFile> files_;
};

/// True when the metadata cache holds `path`.
bool CachedFileExists(const std::string& path);

/// A fetch error that means "the server has no such file" rather than "could not ask".
bool LooksNotFound(const std::string& error);

/// Drops a cached file and its validators.
void ForgetCached(const std::string& file);

}  // namespace imager::repo
