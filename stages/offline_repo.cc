// SPDX-License-Identifier: GPL-3.0-or-later
#include "stages/offline_repo.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "base/fd.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "repo/debian.h"
#include "stages/rootfs.h"
#include "stages/stage_util.h"

namespace imager::stages {
namespace {

using profiles::Profile;

// The archive path of a package below its repository's URL ("pool/main/g/grub2/x.deb"), or ""
// when it is not a plain relative path.
std::string PoolPath(const std::string& url, const std::string& base) {
  std::string prefix = base;
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  prefix += "/";
  if (!StartsWith(url, prefix)) return "";
  std::string rel = url.substr(prefix.size());
  if (rel.empty() || rel[0] == '/') return "";
  for (const auto& part : Split(rel, '/'))
    if (part.empty() || part == "." || part == "..") return "";
  return rel;
}

}  // namespace

std::vector<OfflineSource> OfflineSources(const Profile& p) {
  std::vector<OfflineSource> out;
  for (const auto& r : p.repositories)
    if (r.type == profiles::RepoType::kDeb) out.push_back({r.suite, r.components});
  return out;
}

std::string OfflineSourcesList(const Profile& p, const std::string& root) {
  std::string text;
  for (const auto& s : OfflineSources(p))
    text += "deb [lang=none] file:" + root + " " + s.suite + " " + Join(s.components, " ") + "\n";
  return text;
}

bool WantsOfflineRepo(const Profile& p) {
  return p.installer.type != profiles::InstallerType::kNone &&
         !p.installer.offline_packages.empty();
}

Status WriteOfflineRepo(const Profile& p, const std::string& cache_dir, const PackageFiles& offline,
                        const std::string& out) {
  const std::string where = p.source + ": installer.offline_packages";
  for (const auto& r : p.repositories)
    if (r.type != profiles::RepoType::kDeb)
      return Error{where +
                   ": an offline repository for rpm-md repositories is not implemented "
                   "yet"};
  if (offline.paths.size() != offline.packages.size())
    return Error{where + ": " + std::to_string(offline.packages.size()) + " offline packages but " +
                 std::to_string(offline.paths.size()) + " fetched files"};
  if (offline.repositories.size() != p.repositories.size())
    return Error{where + ": the lock names " + std::to_string(offline.repositories.size()) +
                 " repositories, the profile " + std::to_string(p.repositories.size()) +
                 " (run 'imager resolve')"};
  const std::string tree = out + "/tree";
  std::set<std::string> suites;
  for (size_t i = 0; i < p.repositories.size(); ++i) {
    const profiles::Repository& repo = p.repositories[i];
    const repo::LockedRepository& locked = offline.repositories[i];
    if (!suites.insert(repo.suite).second)
      return Error{where + ": two repositories have suite " + repo.suite +
                   "; the offline repository has one dists/" + repo.suite};
    auto md = repo::CachedDebianMetadata(repo, locked.url, p.distribution.arch, locked.release,
                                         locked.sha256, cache_dir);
    if (!md) return Error{where + ": " + md.error()};
    const std::string dists = tree + "/dists/" + repo.suite;
    std::string release = md->signature_path.empty() ? "/InRelease" : "/Release";
    if (auto st = LinkOrCopy(md->release_path, dists + release); !st) return st;
    if (!md->signature_path.empty())
      if (auto st = LinkOrCopy(md->signature_path, dists + "/Release.gpg"); !st) return st;
    for (const auto& ix : md->indexes)
      if (auto st = LinkOrCopy(ix.path, dists + "/" + ix.name); !st) return st;
  }
  std::set<std::string> written;
  for (size_t j = 0; j < offline.packages.size(); ++j) {
    const repo::LockedPackage& pkg = offline.packages[j];
    std::string rel;
    for (const auto& locked : offline.repositories)
      if (rel.empty()) rel = PoolPath(pkg.url, locked.url);
    if (rel.empty())
      return Error{where + ": " + pkg.name + " " + pkg.version + " comes from " + pkg.url +
                   ", which is not below a locked repository's URL"};
    if (!written.insert(rel).second) continue;
    auto sha = Sha256File(offline.paths[j]);
    if (!sha) return sha.take_error();
    if (*sha != pkg.sha256)
      return Error{where + ": " + offline.paths[j] + " (" + pkg.name + " " + pkg.version +
                   ") has sha256 " + *sha + ", the lock says " + pkg.sha256};
    if (auto st = LinkOrCopy(offline.paths[j], tree + "/" + rel); !st) return st;
  }
  return {};
}

namespace {

// What the offline repository is made of: the profile's repositories as the lock pinned them,
// and the offline package set.
struct OfflineRepository {
  profiles::RepoType type = profiles::RepoType::kDeb;
  std::string suite;
  std::vector<std::string> components;
  ContentPath keyring;
  static constexpr auto kFields =
      std::tuple{Field("type", &OfflineRepository::type), Field("suite", &OfflineRepository::suite),
                 Field("components", &OfflineRepository::components),
                 Field("keyring", &OfflineRepository::keyring)};
};

struct OfflineRepoOptions {
  std::string where;  // the profile file, for messages
  std::string arch;
  std::vector<OfflineRepository> repositories;
  std::vector<repo::LockedRepository> locked;
  PackageSet packages;
  std::string cache_dir;
  static void EncodeLocked(KeyInputs& k, const std::string& name,
                           const std::vector<repo::LockedRepository>& locked) {
    for (const auto& r : locked)
      k.Value(name + " " + r.url + " " + r.suite + " " + r.release, r.sha256);
  }
  static constexpr auto kFields = std::tuple{
      Unkeyed("where", &OfflineRepoOptions::where, "only named in messages"),
      Field("arch", &OfflineRepoOptions::arch),
      Field("repositories", &OfflineRepoOptions::repositories),
      Field("release", &OfflineRepoOptions::locked, &EncodeLocked),
      Field("package ", &OfflineRepoOptions::packages, &KeyPackages),
      Unkeyed("cache_dir", &OfflineRepoOptions::cache_dir,
              "the metadata is read from the cache by the sha256 of each Release, which is keyed")};
};

Status RunOfflineRepo(StageContext& ctx, const OfflineRepoOptions& o) {
  ctx.log("offline repository: " + std::to_string(o.packages.packages.size()) + " packages");
  Profile p;  // the part of a profile WriteOfflineRepo reads
  p.source = o.where;
  p.distribution.arch = o.arch;
  for (const auto& r : o.repositories) {
    p.repositories.emplace_back();
    p.repositories.back().type = r.type;
    p.repositories.back().suite = r.suite;
    p.repositories.back().components = r.components;
    p.repositories.back().keyring = r.keyring.path;
  }
  PackageFiles offline{o.packages.packages, o.packages.paths, o.locked};
  return WriteOfflineRepo(p, o.cache_dir, offline, ctx.output_dir());
}

}  // namespace

Stage OfflineRepoStage(const Profile& p, const std::string& cache_dir,
                       const PackageFiles& offline) {
  OfflineRepoOptions o{.where = p.source,
                       .arch = p.distribution.arch,
                       .repositories = {},
                       .locked = offline.repositories,
                       .packages = SetOf(offline),
                       .cache_dir = cache_dir};
  for (const auto& r : p.repositories)
    o.repositories.push_back({r.type, r.suite, r.components, {r.keyring}});
  return MakeStage({.name = "offline-repo", .output = OutputKind::kArtifact}, std::move(o),
                   RunOfflineRepo);
}

}  // namespace imager::stages
