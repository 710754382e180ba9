// SPDX-License-Identifier: GPL-3.0-or-later
#include "repo/metadata_cache.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/fd.h"
#include "base/log.h"

namespace imager::repo {
namespace {

struct CacheMeta {
  std::string etag;
  int64_t last_modified = -1;
};

CacheMeta ReadMeta(const std::string& file) {
  CacheMeta m;
  auto text = ReadFile(file + ".cache.json");
  if (!text) return m;
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return m;
  m.etag = j.value("etag", "");
  m.last_modified = j.value("last_modified", int64_t{-1});
  return m;
}

void WriteMeta(const std::string& file, const FetchResult& r) {
  nlohmann::json j = {{"etag", r.etag}, {"last_modified", r.last_modified}};
  if (auto st = WriteFile(file + ".cache.json", j.dump(2) + "\n"); !st)
    log::Warn("metadata cache: " + st.error());
}

}  // namespace

Result<StagedFile> FetchStaged(Fetcher& fetcher, const std::string& url, const std::string& dest) {
  FetchRequest req{.url = url, .dest = dest + ".new", .cached = dest};
  if (CachedFileExists(dest)) {
    CacheMeta m = ReadMeta(dest);
    req.etag = m.etag;
    req.last_modified = m.last_modified;
  }
  auto r = fetcher.FetchAll({req}, nullptr);
  if (!r) return r.take_error();
  if (r->size() != 1) return Error{"fetch " + url + ": the fetcher returned no result"};
  StagedFile f{.dest = dest, .path = req.dest, .result = (*r)[0]};
  if (f.result.not_modified) f.path = dest;
  return f;
}

Status AcceptStaged(const StagedFile& file) {
  if (!file.fresh()) return {};
  if (::rename(file.path.c_str(), file.dest.c_str()) != 0) {
    Status st = ErrnoError("rename " + file.path + " to " + file.dest);
    ::unlink(file.path.c_str());
    return st;
  }
  WriteMeta(file.dest, file.result);
  return {};
}

void DiscardStaged(const StagedFile& file) {
  if (file.fresh()) ::unlink(file.path.c_str());
}

bool CachedFileExists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

bool LooksNotFound(const std::string& error) {
  return error.find("HTTP 404") != std::string::npos ||
         error.find("HTTP 410") != std::string::npos ||
         error.find("Couldn't read a file://") != std::string::npos ||
         error.find("No such file") != std::string::npos;
}

void ForgetCached(const std::string& file) {
  ::unlink(file.c_str());
  ::unlink((file + ".cache.json").c_str());
}

}  // namespace imager::repo
