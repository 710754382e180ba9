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

/// True when the metadata cache holds `path`.
bool CachedFileExists(const std::string& path);

/// A fetch error that means "the server has no such file" rather than "could not ask".
bool LooksNotFound(const std::string& error);

/// Drops a cached file and its validators.
void ForgetCached(const std::string& file);

}  // namespace imager::repo
