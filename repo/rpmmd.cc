// SPDX-License-Identifier: GPL-3.0-or-later
#include "repo/rpmmd.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "base/fd.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "repo/metadata_cache.h"
#include "repo/openpgp.h"

// libsolv's pool headers name a struct member `requires`, a C++20 keyword; renaming it in this
// translation unit changes no layout.
#define requires solv_requires
#include <solv/knownid.h>
#include <solv/pool.h>
#include <solv/queue.h>
#include <solv/repo.h>
extern "C" {  // libsolvext's headers lack C++ guards
#include <solv/repo_comps.h>
#include <solv/repo_rpmmd.h>
#include <solv/solv_xfopen.h>
}
#include <solv/solvable.h>
#undef requires

namespace imager::repo {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kGroupPrefix = "group:";
// "@group --optional": the group's optional packages too (kickstart's spelling).
constexpr std::string_view kWithOptional = "--optional";

// The text between <TAG ...> and </TAG> inside BLOCK, or nullopt.
std::optional<std::string> Element(std::string_view block, std::string_view tag,
                                   std::string* attrs = nullptr) {
  std::string open = "<" + std::string(tag);
  size_t p = 0;
  while ((p = block.find(open, p)) != std::string_view::npos) {
    char next = p + open.size() < block.size() ? block[p + open.size()] : '\0';
    if (next == ' ' || next == '>' || next == '/' || next == '\t' || next == '\n') break;
    p += open.size();
  }
  if (p == std::string_view::npos) return std::nullopt;
  size_t gt = block.find('>', p);
  if (gt == std::string_view::npos) return std::nullopt;
  if (attrs) *attrs = std::string(block.substr(p + open.size(), gt - p - open.size()));
  if (block[gt - 1] == '/') return std::string();
  size_t close = block.find("</" + std::string(tag) + ">", gt);
  if (close == std::string_view::npos) return std::nullopt;
  return std::string(Trim(block.substr(gt + 1, close - gt - 1)));
}

// The value of NAME="..." in an attribute list.
std::string Attr(std::string_view attrs, std::string_view name) {
  std::string key = " " + std::string(name) + "=\"";
  std::string padded = " " + std::string(attrs);
  size_t p = padded.find(key);
  if (p == std::string::npos) return "";
  size_t start = p + key.size(), end = padded.find('"', start);
  return end == std::string::npos ? "" : padded.substr(start, end - start);
}

// Downloads URL to DEST, or checks that the cache has it when offline.
Status Get(const MetadataOptions& o, const std::string& url, const std::string& dest,
           const std::string& sha256 = "", int64_t size = -1) {
  if (o.offline) {
    if (CachedFileExists(dest)) return {};
    return Error{"offline: no cached copy of " + url + " (looked for " + dest +
                 "); run 'imager resolve' once without --offline"};
  }
  if (auto st = MakeDirs(fs::path(dest).parent_path().string()); !st) return st;
  ::unlink(dest.c_str());
  auto r =
      o.fetcher->FetchAll({{.url = url, .dest = dest, .sha256 = sha256, .size = size}}, nullptr);
  if (!r) return Error{"fetch " + url + ": " + r.error()};
  return {};
}

// Fetches repomd.xml (and its signature when repo_gpgcheck is on) and verifies it; returns the file
// that was checked. Online, both are fetched conditionally (unchanged, they are not downloaded)
// into `pending`, beside the cached copies, which stay until the whole repository checked out.
Result<std::string> FetchRepoMd(const profiles::Repository& repo, const std::string& dir,
                                const MetadataOptions& o, RpmMdMetadata* md,
                                PendingFiles* pending) {
  std::string file = dir + "/repomd.xml", asc = file + ".asc";
  md->repomd_url = md->url + "/repodata/repomd.xml";
  bool from_cache = true;  // the repomd.xml checked is the cached copy (offline, or 304)
  auto get = [&](const std::string& url, std::string* path) -> Status {
    if (o.offline) return Get(o, url, *path);
    if (auto st = MakeDirs(dir); !st) return st;
    auto r = FetchStaged(*o.fetcher, url, *path);
    if (!r) return Error{"fetch " + url + ": " + r.error()};
    *path = r->path;
    if (r->fresh()) from_cache = false;
    pending->Add(std::move(*r));
    return {};
  };
  if (auto st = get(md->repomd_url, &file); !st) {
    if (LooksNotFound(st.error()))
      return Error{"no rpm-md repository at " + md->url + ": " + md->repomd_url + " not found"};
    return st.take_error();
  }
  if (repo.ChecksRepoMd()) {
    // A cached copy that fails its check must not be used again (nor be answered with 304).
    auto forget = [&] {
      if (!o.offline && from_cache) ForgetCached(dir + "/repomd.xml");
    };
    if (auto st = get(md->repomd_url + ".asc", &asc); !st) {
      forget();
      if (LooksNotFound(st.error()))
        return Error{"missing signature: " + md->repomd_url +
                     " has no repomd.xml.asc, and repo_gpgcheck is on (set repo_gpgcheck: false "
                     "for a repository that signs only its packages)"};
      return st.take_error();
    }
    auto v = VerifyDetached(file, asc, repo.keyring, o.openpgp);
    if (!v) {
      forget();
      return Error{md->repomd_url + ": " + v.error()};
    }
  }
  auto hash = Sha256File(file);
  if (!hash) return hash.take_error();
  md->repomd_sha256 = *hash;
  return file;
}

// Makes F present in the cache and verified against the sha256 repomd.xml lists.
Status FetchIndex(const RpmMdMetadata& md, const std::string& dir, const MetadataOptions& o,
                  RpmMdFile* f) {
  f->path = dir + "/" + fs::path(f->location).filename().string();
  std::string url = md.url + "/" + f->location;
  bool cached = false;
  if (CachedFileExists(f->path)) {
    auto h = Sha256File(f->path);
    cached = h && *h == f->sha256;
  }
  if (!cached) {
    if (o.offline)
      return Error{"offline: " + f->path + " is missing or outdated (repomd.xml lists " +
                   f->location + " with sha256 " + f->sha256 + "); run without --offline"};
    if (auto st = Get(o, url, f->path, f->sha256, f->size); !st) return st;
  }
  auto h = Sha256File(f->path);
  if (!h) return h.take_error();
  if (*h != f->sha256) {
    ::unlink(f->path.c_str());
    return Error{url + ": sha256 mismatch: repomd.xml lists " + f->sha256 + ", the file has " + *h +
                 " (tampered or corrupted index)"};
  }
  return {};
}

enum class Index { kPrimary, kComps, kFileLists };

Status Load(::Pool* pool, ::Repo* repo, const std::string& path, Index index) {
  FILE* fp = solv_xfopen(path.c_str(), "r");
  if (!fp) return ErrnoError("open " + path);
  int rc = 0;
  switch (index) {
    case Index::kPrimary:
      rc = repo_add_rpmmd(repo, fp, nullptr, 0);
      break;
    case Index::kComps:
      rc = repo_add_comps(repo, fp, 0);
      break;
    case Index::kFileLists:  // onto the packages primary added, matched by pkgid (as libdnf)
      rc = repo_add_rpmmd(repo, fp, "FL", REPO_EXTEND_SOLVABLES);
      break;
  }
  fclose(fp);
  if (rc != 0) return Error{"load " + path + ": " + std::string(pool_errstr(pool))};
  return {};
}

::Repo* RepoNamed(::Pool* pool, const std::string& name) {
  for (int i = 1; i < pool->nrepos; ++i)
    if (pool->repos[i] && name == pool->repos[i]->name) return pool->repos[i];
  return nullptr;
}

// A group member DEP as an install argument ("name", or "(name if condition)" for a conditional
// one) when a package has its name; else a warning in dnf's words.
std::optional<std::string> Member(::Pool* pool, Id dep, const std::set<std::string>& names,
                                  const std::string& group, std::vector<std::string>* warnings) {
  Id cond = 0;
  if (ISRELDEP(dep) && GETRELDEP(pool, dep)->flags == REL_COND) {
    cond = GETRELDEP(pool, dep)->evr;
    dep = GETRELDEP(pool, dep)->name;
  }
  std::string name = pool_dep2str(pool, dep);
  if (names.count(name)) return cond ? "(" + name + " if " + pool_dep2str(pool, cond) + ")" : name;
  if (warnings) warnings->push_back("No match for group package \"" + name + "\" (" + group + ")");
  return std::nullopt;
}

// Every comps group in the pool: its id (without "group:") -> solvable.
std::map<std::string, Id> Groups(::Pool* pool) {
  std::map<std::string, Id> out;
  for (Id p = 2; p < pool->nsolvables; ++p) {
    Solvable* s = pool->solvables + p;
    if (!s->repo) continue;
    std::string_view name = pool_id2str(pool, s->name);
    if (!StartsWith(name, kGroupPrefix)) continue;
    out.emplace(std::string(name.substr(kGroupPrefix.size())), p);
    if (const char* title = solvable_lookup_str(s, SOLVABLE_SUMMARY)) out.emplace(title, p);
  }
  return out;
}

}  // namespace

const RpmMdFile* RepoMd::Find(std::string_view type) const {
  for (const auto& f : files)
    if (f.type == type) return &f;
  return nullptr;
}

Result<RepoMd> ParseRepoMd(std::string_view text, const std::string& origin) {
  RepoMd md;
  if (!Element(text, "repomd")) return Error{origin + ": not a repomd.xml (no <repomd> element)"};
  md.revision = Element(text, "revision").value_or("");
  std::vector<std::string> problems;
  size_t p = 0;
  while ((p = text.find("<data ", p)) != std::string_view::npos) {
    size_t end = text.find("</data>", p);
    if (end == std::string_view::npos) {
      problems.push_back(origin + ": unterminated <data> element");
      break;
    }
    std::string_view block = text.substr(p, end - p + 7);
    p = end;
    RpmMdFile f;
    f.type = Attr(block.substr(6, block.find('>') - 6), "type");
    std::string attrs;
    std::string sum = Element(block, "checksum", &attrs).value_or("");
    std::string sum_type = Attr(attrs, "type");
    Element(block, "location", &attrs);
    f.location = Attr(attrs, "href");
    if (auto size = Element(block, "size")) f.size = std::strtoll(size->c_str(), nullptr, 10);
    if (auto t = Element(block, "timestamp"))
      md.timestamp = std::max<int64_t>(md.timestamp, std::strtoll(t->c_str(), nullptr, 10));
    if (sum_type == "sha256" && sum.size() == 64) f.sha256 = sum;
    if (f.type.empty() || f.location.empty())
      problems.push_back(origin + ": a <data> element without type or location");
    else if (f.sha256.empty() && (f.type == "primary" || StartsWith(f.type, "group")))
      problems.push_back(origin + ": " + f.type + " has no sha256 checksum (it has '" + sum_type +
                         "')");
    md.files.push_back(std::move(f));
  }
  if (!problems.empty()) return Error{Join(problems, "\n")};
  return md;
}

Result<RpmMdMetadata> FetchRpmMdMetadata(const profiles::Repository& repo,
                                         const MetadataOptions& options) {
  RpmMdMetadata md;
  md.url = repo.url.empty() ? repo.mirror : repo.url;
  while (!md.url.empty() && md.url.back() == '/') md.url.pop_back();
  if (md.url.empty()) return Error{"rpm-md repository: no url"};
  if ((repo.gpgcheck || repo.ChecksRepoMd()) && repo.keyring.empty())
    return Error{"repository " + md.url + ": gpgcheck is on but there is no keyring"};
  if ((repo.gpgcheck || repo.ChecksRepoMd()) && access(repo.keyring.c_str(), R_OK) != 0)
    return Error{"repository " + md.url + ": its keyring " + repo.keyring +
                 " cannot be read on this host (" + strerror(errno) +
                 "); distributions publish their key on their own hosts and beside their "
                 "repositories (for example " +
                 md.url + "/" + repo.keyring.substr(repo.keyring.rfind('/') + 1) +
                 "): fetch it, check its fingerprint, and give its path in keyring"};
  if (!options.offline && !options.fetcher)
    return Error{"repository " + md.url + ": no fetcher given"};
  std::string dir = MetadataDir(options.cache_dir, md.url) + "/repodata";
  if (auto st = MakeDirs(dir); !st) return st.take_error();
  PendingFiles pending;
  auto checked = FetchRepoMd(repo, dir, options, &md, &pending);
  if (!checked) return checked.take_error();
  auto text = ReadFile(*checked);
  if (!text) return text.take_error();
  auto parsed = ParseRepoMd(*text, md.repomd_url);
  if (!parsed) return parsed.take_error();
  md.repomd = std::move(*parsed);
  const RpmMdFile* primary = md.repomd.Find("primary");
  if (!primary) return Error{md.repomd_url + ": lists no primary index"};
  md.primary = *primary;
  if (auto st = FetchIndex(md, dir, options, &md.primary); !st) return st.take_error();
  const RpmMdFile* comps = md.repomd.Find("group");
  if (!comps) comps = md.repomd.Find("group_gz");
  if (comps) {
    md.comps = *comps;
    if (auto st = FetchIndex(md, dir, options, &*md.comps); !st) return st.take_error();
  }
  if (auto st = pending.AcceptAll(); !st) return st.take_error();
  return md;
}

Status AddRpmMd(Pool& pool, const RpmMdMetadata& md) {
  ::Repo* repo = pool.AddRepo(md.url, md.url);
  if (auto st = Load(pool.raw(), repo, md.primary.path, Index::kPrimary); !st) return st;
  if (md.comps)
    if (auto st = Load(pool.raw(), repo, md.comps->path, Index::kComps); !st) return st;
  return {};
}

Status AddFileListsWhenNeeded(Pool& pool, std::vector<RpmMdMetadata>& mds,
                              const std::vector<std::string>& include,
                              const MetadataOptions& options) {
  if (pool.UnprovidedFiles(include).empty()) return {};
  for (auto& md : mds) {
    const RpmMdFile* f = md.repomd.Find("filelists");
    ::Repo* repo = RepoNamed(pool.raw(), md.url);
    if (!f || !repo || md.filelists) continue;
    md.filelists = *f;
    std::string dir = MetadataDir(options.cache_dir, md.url) + "/repodata";
    if (auto st = FetchIndex(md, dir, options, &*md.filelists); !st) return st;
    if (auto st = Load(pool.raw(), repo, md.filelists->path, Index::kFileLists); !st) return st;
    pool.Extended();
  }
  return {};
}

Result<std::vector<std::string>> ExpandGroups(Pool& pool, const std::vector<std::string>& names,
                                              std::vector<std::string>* warnings) {
  ::Pool* p = pool.raw();
  std::map<std::string, Id> groups;
  std::set<std::string> packages;  // every package name, for the members
  bool scanned = false;
  std::vector<std::string> out, problems;
  std::set<std::string> seen;
  auto add = [&](std::string n) {
    if (seen.insert(n).second) out.push_back(std::move(n));
  };
  for (const auto& name : names) {
    if (!StartsWith(name, "@")) {
      add(name);
      continue;
    }
    if (!scanned) {
      groups = Groups(p);
      auto all = pool.Names();
      packages.insert(all.begin(), all.end());
      scanned = true;
    }
    std::string group = name.substr(1);
    bool optional =
        group.size() > kWithOptional.size() &&
        group.compare(group.size() - kWithOptional.size(), std::string::npos, kWithOptional) == 0;
    if (optional) group = std::string(Trim(group.substr(0, group.size() - kWithOptional.size())));
    auto it = groups.find(group);
    if (it == groups.end()) {
      std::vector<std::string> ids;
      for (const auto& [id, _] : groups) ids.push_back(id);
      std::string best = ClosestMatch(group, ids);
      problems.push_back("unknown group '@" + group + "'" +
                         (best.empty() ? " (the repositories define no comps groups)"
                                       : "; did you mean @" + best + "?"));
      continue;
    }
    Solvable* s = p->solvables + it->second;
    // mandatory; default and conditional; optional
    for (Id key : {SOLVABLE_REQUIRES, SOLVABLE_RECOMMENDS, SOLVABLE_SUGGESTS}) {
      if (key == SOLVABLE_SUGGESTS && !optional) continue;
      Queue q;
      queue_init(&q);
      solvable_lookup_idarray(s, key, &q);
      std::vector<std::string> members;
      for (int i = 0; i < q.count; ++i)
        if (q.elements[i] != SOLVABLE_PREREQMARKER)
          if (auto m = Member(p, q.elements[i], packages, name, warnings))
            members.push_back(std::move(*m));
      queue_free(&q);
      std::sort(members.begin(), members.end());
      for (auto& m : members) add(std::move(m));
    }
  }
  if (!problems.empty()) return Error{Join(problems, "\n")};
  return out;
}

}  // namespace imager::repo
