// SPDX-License-Identifier: GPL-3.0-or-later
#include "repo/debian.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "base/fd.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "repo/metadata_cache.h"

namespace imager::repo {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> Words(std::string_view s) {
  std::vector<std::string> out;
  for (const auto& w : Split(s, ' '))
    if (!Trim(w).empty()) out.emplace_back(Trim(w));
  return out;
}

// The signed Release text of the suite, verified; fills the release fields of `md`. Online, the
// files are downloaded into `pending` (md->release_path and signature_path name the downloads
// until they are accepted).
Result<std::string> FetchRelease(const profiles::Repository& repo, const std::string& dir,
                                 const MetadataOptions& o, DebianMetadata* md,
                                 PendingFiles* pending) {
  std::string base = md->mirror + "/dists/" + repo.suite + "/";
  std::string inrelease = dir + "/InRelease", release = dir + "/Release";
  bool inline_signed = true;
  std::string file = inrelease, signature = release + ".gpg";
  bool from_cache = true;  // the file checked is the cached copy (offline, or 304)
  if (o.offline) {
    inline_signed = CachedFileExists(inrelease);
    if (!inline_signed && !(CachedFileExists(release) && CachedFileExists(signature)))
      return Error{"offline: no cached metadata for " + base + " (looked for " + inrelease +
                   "); run 'imager resolve' once without --offline"};
    if (!inline_signed) file = release;
  } else {
    auto r = FetchStaged(*o.fetcher, base + "InRelease", inrelease);
    if (!r && !LooksNotFound(r.error())) return Error{"fetch " + base + "InRelease: " + r.error()};
    if (r) {
      file = r->path;
      from_cache = !r->fresh();
      pending->Add(std::move(*r));
    } else {
      inline_signed = false;
      ForgetCached(inrelease);
      auto rel = FetchStaged(*o.fetcher, base + "Release", release);
      if (!rel && LooksNotFound(rel.error()))
        return Error{"suite " + repo.suite + " not found at " + md->mirror +
                     "/dists/ (neither InRelease nor Release exists)"};
      if (!rel) return Error{"fetch " + base + "Release: " + rel.error()};
      file = rel->path;
      from_cache = !rel->fresh();
      pending->Add(std::move(*rel));
      auto sig = FetchStaged(*o.fetcher, base + "Release.gpg", signature);
      if (!sig && LooksNotFound(sig.error()))
        return Error{"missing signature: " + base +
                     "Release has no Release.gpg, and there is no InRelease; refusing the "
                     "unsigned Release"};
      if (!sig) return Error{"fetch " + base + "Release.gpg: " + sig.error()};
      signature = sig->path;
      from_cache = from_cache && !sig->fresh();
      pending->Add(std::move(*sig));
    }
  }
  md->release_url = base + (inline_signed ? "InRelease" : "Release");
  md->release_path = file;
  md->signature_path = inline_signed ? "" : signature;
  auto hash = Sha256File(file);
  if (!hash) return hash.take_error();
  md->release_sha256 = *hash;
  auto v = inline_signed ? VerifyInline(file, repo.keyring, o.openpgp)
                         : VerifyDetached(file, signature, repo.keyring, o.openpgp);
  if (!v) {
    // A cached copy that fails its check must not be used again (or be answered with 304).
    if (!o.offline && from_cache) ForgetCached(file);
    return Error{md->release_url + ": " + v.error()};
  }
  if (inline_signed) return std::move(v->content);
  return ReadFile(file);
}

// Chooses the best-compressed index of COMP/binary-ARCH that the Release lists.
const std::string* PickIndex(const ReleaseInfo& rel, const std::string& comp,
                             const std::string& arch, std::string* name) {
  for (const char* ext : {".xz", ".gz", ""}) {
    *name = comp + "/binary-" + arch + "/Packages" + ext;
    auto it = rel.files.find(*name);
    if (it != rel.files.end()) return &it->second.sha256;
  }
  return nullptr;
}

Status CheckRelease(const profiles::Repository& repo, const std::string& arch,
                    const ReleaseInfo& rel, const MetadataOptions& o, const std::string& url) {
  std::vector<std::string> problems;
  if (!rel.architectures.empty() && std::find(rel.architectures.begin(), rel.architectures.end(),
                                              arch) == rel.architectures.end())
    problems.push_back("suite " + repo.suite + " has no architecture " + arch +
                       " (it has: " + Join(rel.architectures, " ") + ")");
  std::vector<std::string> missing;
  for (const auto& c : repo.components)
    if (std::find(rel.components.begin(), rel.components.end(), c) == rel.components.end())
      missing.push_back(c);
  if (!missing.empty())
    problems.push_back("suite " + repo.suite + " has no component" +
                       (missing.size() > 1 ? "s " : " ") + Join(missing, ", ") +
                       " (it has: " + Join(rel.components, " ") + ")");
  int64_t now = o.now >= 0 ? o.now : static_cast<int64_t>(::time(nullptr));
  if (rel.valid_until_unix >= 0 && now > rel.valid_until_unix) {
    std::string msg = "the Release expired on " + rel.valid_until +
                      " (Valid-Until): the mirror is stale or replays old metadata";
    if (!o.offline) problems.push_back(msg);
    if (o.offline) log::Warn(url + ": " + msg + "; using the cached copy offline");
  }
  if (!problems.empty()) return Error{url + ": " + Join(problems, "; ")};
  if (repo.suite != rel.suite && repo.suite != rel.codename)
    log::Warn(url + ": the Release is for suite '" + rel.suite + "' (codename '" + rel.codename +
              "'), not '" + repo.suite + "'");
  return {};
}

// Which Packages files to use: per component, ARCH, then all when the archive keeps it apart.
Result<std::vector<PackagesIndex>> PlanIndexes(const profiles::Repository& repo,
                                               const std::string& arch, const ReleaseInfo& rel,
                                               const std::string& dir, const std::string& url) {
  std::vector<PackagesIndex> out;
  std::vector<std::string> problems;
  for (const auto& comp : repo.components) {
    for (const std::string& a : {arch, std::string("all")}) {
      if (a == "all" && (rel.all_in_arch_indexes || arch == "all")) continue;
      std::string name;
      if (!PickIndex(rel, comp, a, &name)) {
        if (a != "all")
          problems.push_back("no Packages index for " + comp + "/binary-" + a + " is listed");
        continue;
      }
      const ReleaseInfo::File& f = rel.files.at(name);
      out.push_back({comp, a, name, dir + "/" + name, f.sha256, f.size});
    }
  }
  if (!problems.empty()) return Error{url + ": " + Join(problems, "; ")};
  return out;
}

// Makes every index present and verified, downloading the ones the cache lacks in one batch.
Status FetchIndexes(const DebianMetadata& md, const std::string& suite_url,
                    const MetadataOptions& o) {
  std::vector<FetchRequest> requests;
  std::vector<const PackagesIndex*> fetched;
  for (const auto& ix : md.indexes) {
    if (CachedFileExists(ix.path)) {
      // Size too: a Release whose size and sha256 disagree is refused, cached or not.
      auto h = Sha256File(ix.path);
      std::error_code ec;
      auto size = static_cast<int64_t>(fs::file_size(ix.path, ec));
      if (h && *h == ix.sha256 && !ec && (ix.size < 0 || size == ix.size)) continue;
    }
    if (o.offline)
      return Error{"offline: " + ix.path + " is missing or outdated (the cached Release lists " +
                   ix.name + " with sha256 " + ix.sha256 + "); run without --offline"};
    if (auto st = MakeDirs(fs::path(ix.path).parent_path().string()); !st) return st;
    std::string url = suite_url + ix.name;
    if (md.release.acquire_by_hash)
      url = suite_url + fs::path(ix.name).parent_path().string() + "/by-hash/SHA256/" + ix.sha256;
    requests.push_back({.url = url, .dest = ix.path, .sha256 = ix.sha256, .size = ix.size});
    fetched.push_back(&ix);
  }
  if (!requests.empty()) {
    auto r = o.fetcher->FetchAll(requests, nullptr);
    if (!r) return Error{"fetch Packages indexes of " + suite_url + ": " + r.error()};
  }
  for (const PackagesIndex* ix : fetched) {
    auto h = Sha256File(ix->path);
    if (!h) return h.take_error();
    if (*h != ix->sha256) {
      ::unlink(ix->path.c_str());
      return Error{suite_url + ix->name + ": sha256 mismatch: the signed Release lists " +
                   ix->sha256 + ", the file has " + *h + " (tampered or corrupted index)"};
    }
  }
  return {};
}

// Makes DEST a copy of SRC; an existing DEST is kept. A copy, not a hard link: a fetcher may
// rewrite SRC in place.
Status KeepFile(const std::string& src, const std::string& dest) {
  if (CachedFileExists(dest)) return {};
  if (auto st = MakeDirs(fs::path(dest).parent_path().string()); !st) return st;
  std::string tmp = dest + ".tmp" + std::to_string(::getpid());
  auto data = ReadFile(src);
  if (!data) return data.take_error();
  if (auto st = WriteFile(tmp, *data); !st) return st;
  if (::rename(tmp.c_str(), dest.c_str()) != 0) {
    Status st = ErrnoError("rename " + tmp + " to " + dest);
    ::unlink(tmp.c_str());
    return st;
  }
  return {};
}

// The first of PATHS whose sha256 is SHA256, or "".
std::string FirstWithHash(const std::vector<std::string>& paths, const std::string& sha256) {
  for (const auto& p : paths) {
    if (!CachedFileExists(p)) continue;
    auto h = Sha256File(p);
    if (h && *h == sha256) return p;
  }
  return "";
}

}  // namespace

std::string MetadataByHash(const std::string& cache_dir, const std::string& sha256) {
  return cache_dir + "/metadata/sha256/" + sha256.substr(0, 2) + "/" + sha256;
}

Status KeepMetadataByHash(const std::string& cache_dir, const DebianMetadata& md) {
  std::vector<std::pair<std::string, std::string>> files;  // source, destination
  if (!md.release_path.empty())
    files.push_back({md.release_path, MetadataByHash(cache_dir, md.release_sha256)});
  if (!md.signature_path.empty())
    files.push_back({md.signature_path, MetadataByHash(cache_dir, md.release_sha256) + ".gpg"});
  for (const auto& ix : md.indexes)
    files.push_back({ix.path, MetadataByHash(cache_dir, ix.sha256)});
  for (const auto& [src, dest] : files)
    if (auto st = KeepFile(src, dest); !st) return Error{"keep " + src + ": " + st.error()};
  return {};
}

Result<DebianMetadata> CachedDebianMetadata(const profiles::Repository& repo,
                                            const std::string& mirror, const std::string& arch,
                                            const std::string& release_url,
                                            const std::string& release_sha256,
                                            const std::string& cache_dir,
                                            const OpenPgpOptions& openpgp) {
  DebianMetadata md;
  md.mirror = mirror;
  while (!md.mirror.empty() && md.mirror.back() == '/') md.mirror.pop_back();
  md.suite = repo.suite;
  md.release_url = release_url;
  md.release_sha256 = release_sha256;
  const std::string refresh =
      "; run 'imager resolve' (or 'imager fetch') to refresh the lock "
      "and the metadata cache";
  if (release_sha256.size() != 64)
    return Error{release_url + ": the lock records no valid sha256 for it" + refresh};
  const std::string kRelease = "/Release";
  bool inline_signed =
      !(release_url.size() >= kRelease.size() &&
        release_url.compare(release_url.size() - kRelease.size(), kRelease.size(), kRelease) == 0);
  std::string dir = MetadataDir(cache_dir, md.mirror) + "/dists/" + repo.suite;
  std::string by_hash = MetadataByHash(cache_dir, release_sha256);
  md.release_path =
      FirstWithHash({by_hash, dir + (inline_signed ? "/InRelease" : "/Release")}, release_sha256);
  if (md.release_path.empty())
    return Error{release_url +
                 ": the metadata cache does not hold the version the lock was "
                 "solved against (sha256 " +
                 release_sha256 + ")" + refresh};
  Result<Verified> v = Error{""};
  if (inline_signed) {
    v = VerifyInline(md.release_path, repo.keyring, openpgp);
  } else {
    for (const auto& sig : {by_hash + ".gpg", dir + "/Release.gpg"}) {
      if (!CachedFileExists(sig)) continue;
      v = VerifyDetached(md.release_path, sig, repo.keyring, openpgp);
      if (v) {
        md.signature_path = sig;
        break;
      }
    }
    if (md.signature_path.empty() && v.error().empty())
      return Error{release_url + ": the metadata cache has no Release.gpg for it" + refresh};
  }
  if (!v) return Error{release_url + " (cached " + md.release_path + "): " + v.error()};
  std::string text = v->content;
  if (!inline_signed) {
    auto t = ReadFile(md.release_path);
    if (!t) return t.take_error();
    text = std::move(*t);
  }
  auto rel = ParseRelease(text, release_url);
  if (!rel) return rel.take_error();
  md.release = std::move(*rel);
  auto ix = PlanIndexes(repo, arch, md.release, dir, release_url);
  if (!ix) return ix.take_error();
  md.indexes = std::move(*ix);
  std::string suite_url = md.mirror + "/dists/" + repo.suite + "/";
  for (auto& x : md.indexes) {
    std::string found = FirstWithHash({MetadataByHash(cache_dir, x.sha256), x.path}, x.sha256);
    if (found.empty())
      return Error{suite_url + x.name + ": the metadata cache does not hold the version " +
                   release_url + " lists (sha256 " + x.sha256 + ")" + refresh};
    x.path = found;
  }
  return md;
}

Result<int64_t> ParseReleaseDate(std::string_view text) {
  std::string s(Trim(text));
  struct tm tm = {};
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
  if (!end) end = strptime(s.c_str(), "%d %b %Y %H:%M:%S", &tm);
  if (!end) return Error{"cannot parse date '" + s + "'"};
  std::string zone(Trim(end));
  int64_t offset = 0;
  if (zone.size() == 5 && (zone[0] == '+' || zone[0] == '-') &&
      std::all_of(zone.begin() + 1, zone.end(), ::isdigit)) {
    offset = (std::stoi(zone.substr(1, 2)) * 60 + std::stoi(zone.substr(3, 2))) * 60;
    if (zone[0] == '-') offset = -offset;
  } else if (!zone.empty() && zone != "UTC" && zone != "GMT" && zone != "Z") {
    return Error{"cannot parse date '" + s + "': unknown time zone '" + zone + "'"};
  }
  return static_cast<int64_t>(timegm(&tm)) - offset;
}

Result<ReleaseInfo> ParseRelease(std::string_view text, const std::string& origin) {
  ReleaseInfo rel;
  std::vector<std::string> problems;
  std::string field;  // the multi-line field being read
  int lineno = 0;
  for (const auto& line : Split(text, '\n')) {
    ++lineno;
    std::string where = origin + ":" + std::to_string(lineno);
    if (Trim(line).empty()) continue;
    if (line[0] == ' ' || line[0] == '\t') {
      if (field != "SHA256") continue;
      auto w = Words(line);
      if (w.size() != 3 || w[0].size() != 64) {
        problems.push_back(where + ": malformed SHA256 line");
        continue;
      }
      char* endp = nullptr;
      int64_t size = std::strtoll(w[1].c_str(), &endp, 10);
      if (*endp != 0) problems.push_back(where + ": bad size '" + w[1] + "'");
      rel.files[w[2]] = {w[0], size};
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string::npos) {
      problems.push_back(where + ": not a 'Field: value' line");
      continue;
    }
    field = line.substr(0, colon);
    std::string value(Trim(std::string_view(line).substr(colon + 1)));
    if (field == "Origin") rel.origin = value;
    if (field == "Label") rel.label = value;
    if (field == "Suite") rel.suite = value;
    if (field == "Codename") rel.codename = value;
    if (field == "Architectures") rel.architectures = Words(value);
    if (field == "Components") rel.components = Words(value);
    if (field == "Acquire-By-Hash") rel.acquire_by_hash = value == "yes";
    if (field == "No-Support-for-Architecture-all") rel.all_in_arch_indexes = value == "Packages";
    for (auto [name, str, unix] :
         {std::tuple{"Date", &rel.date, &rel.date_unix},
          std::tuple{"Valid-Until", &rel.valid_until, &rel.valid_until_unix}}) {
      if (field != name) continue;
      *str = value;
      auto t = ParseReleaseDate(value);
      if (!t) problems.push_back(where + ": " + field + ": " + t.error());
      if (t) *unix = *t;
    }
  }
  if (rel.suite.empty() && rel.codename.empty())
    problems.push_back(origin + ": neither Suite nor Codename is set");
  if (rel.files.empty()) problems.push_back(origin + ": no SHA256 file list");
  if (!problems.empty()) return Error{Join(problems, "\n")};
  return rel;
}

std::string MetadataDir(const std::string& cache_dir, const std::string& mirror) {
  std::string_view m = mirror;
  if (size_t p = m.find("://"); p != std::string_view::npos) m = m.substr(p + 3);
  while (!m.empty() && m.back() == '/') m.remove_suffix(1);
  std::string out;
  for (char c : m) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '~') {
      out += c;
    } else if (c == '/') {
      out += '_';
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
      out += buf;
    }
  }
  return cache_dir + "/metadata/" + out;
}

Result<DebianMetadata> FetchDebianMetadata(const profiles::Repository& repo,
                                           const std::string& arch,
                                           const MetadataOptions& options) {
  DebianMetadata md;
  md.mirror = repo.mirror;
  while (!md.mirror.empty() && md.mirror.back() == '/') md.mirror.pop_back();
  md.suite = repo.suite;
  if (md.mirror.empty() || md.mirror == "auto")
    return Error{"repository " + repo.suite + ": mirror '" + repo.mirror +
                 "' is not a URL (resolve 'auto' from the host's apt sources first)"};
  if (repo.keyring.empty())
    return Error{"repository " + md.mirror + " " + repo.suite + ": no keyring to verify it with"};
  if (!options.offline && !options.fetcher)
    return Error{"repository " + md.mirror + ": no fetcher given"};
  std::string dir = MetadataDir(options.cache_dir, md.mirror) + "/dists/" + repo.suite;
  if (auto st = MakeDirs(dir); !st) return st.take_error();
  PendingFiles pending;
  auto text = FetchRelease(repo, dir, options, &md, &pending);
  if (!text) return text.take_error();
  auto rel = ParseRelease(*text, md.release_url);
  if (!rel) return rel.take_error();
  md.release = std::move(*rel);
  if (auto st = CheckRelease(repo, arch, md.release, options, md.release_url); !st)
    return st.take_error();
  std::string suite_url = md.mirror + "/dists/" + repo.suite + "/";
  auto ix = PlanIndexes(repo, arch, md.release, dir, md.release_url);
  if (!ix) return ix.take_error();
  md.indexes = std::move(*ix);
  if (auto st = FetchIndexes(md, suite_url, options); !st) return st.take_error();
  // Everything checked out: the new Release (and signature) may replace the cached ones.
  if (auto st = pending.AcceptAll(); !st) return st.take_error();
  md.release_path = dir + (md.signature_path.empty() ? "/InRelease" : "/Release");
  if (!md.signature_path.empty()) md.signature_path = dir + "/Release.gpg";
  if (auto st = KeepMetadataByHash(options.cache_dir, md); !st)
    log::Warn("metadata cache: " + st.error());
  return md;
}

}  // namespace imager::repo
