// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The repository metadata cache's conditional downloads: a cached file's ETag and
/// Last-Modified live beside it in FILE.cache.json and are sent with the next request, so an
/// unchanged index is not downloaded again (the Debian and rpm-md loaders share this).

#include <string>

#include "base/result.h"
#include "repo/fetch.h"

namespace imager::repo {

/// Downloads `url` to `dest`, conditionally when `dest` is cached; records the new validators.
Result<FetchResult> FetchConditional(Fetcher& fetcher, const std::string& url,
                                     const std::string& dest);

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

/// True when the metadata cache holds `path`.
bool CachedFileExists(const std::string& path);

/// A fetch error that means "the server has no such file" rather than "could not ask".
bool LooksNotFound(const std::string& error);

/// Drops a cached file and its validators.
void ForgetCached(const std::string& file);

}  // namespace imager::repo
