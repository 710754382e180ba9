// SPDX-License-Identifier: GPL-3.0-or-later
#include "repo/resolve.h"

#include <map>
#include <set>
#include <tuple>

#include "base/log.h"
#include "base/strings.h"
#include "repo/apt_sources.h"
#include "repo/debian.h"
#include "repo/rpmmd.h"
#include "repo/solver.h"

namespace imager::repo {
namespace {

// Offline, nothing may be downloaded: the cache asks only when something is missing.
class NoFetcher : public Fetcher {
 public:
  Result<std::vector<FetchResult>> FetchAll(const std::vector<FetchRequest>& requests,
                                            const ProgressFn&) override {
    return Error{"offline: not fetching " + std::to_string(requests.size()) + " files"};
  }
};

// The repositories with `mirror: auto` replaced by the host's mirror for their suite.
Result<std::vector<profiles::Repository>> ConcreteRepositories(const profiles::Profile& profile,
                                                               const std::string& etc_apt) {
  std::vector<profiles::Repository> out;
  std::vector<std::string> problems;
  for (auto repo : profile.repositories) {
    if (repo.type == profiles::RepoType::kDeb && repo.mirror == "auto") {
      auto m = AutoMirror(repo.suite, etc_apt);
      if (!m) problems.push_back(profile.source + ": repository " + repo.suite + ": " + m.error());
      if (m) repo.mirror = *m;
    }
    out.push_back(std::move(repo));
  }
  if (!problems.empty()) return Error{Join(problems, "\n")};
  return out;
}

// Adds SOLUTION's packages that the target (lock->packages) lacks to OUT, once each; a target
// package the solution wants in another version is an error naming it.
Status AddBeyondTarget(const Lock& lock, const Solution& solution, const std::string& what,
                       std::vector<LockedPackage>* out) {
  std::map<std::string, const LockedPackage*> target;
  for (const auto& p : lock.packages) target[p.name] = &p;
  std::set<std::tuple<std::string, std::string, std::string>> have;
  for (const auto& p : *out) have.insert({p.name, p.version, p.arch});
  std::vector<std::string> changed;
  for (const auto& p : solution.packages) {
    auto it = target.find(p.name);
    if (it != target.end()) {
      if (it->second->version != p.version || it->second->arch != p.arch)
        changed.push_back(p.name + " " + it->second->version + " (" + it->second->arch + ") -> " +
                          p.version + " (" + p.arch + ")");
      continue;
    }
    if (have.insert({p.name, p.version, p.arch}).second)
      out->push_back({p.name, p.version, p.arch, p.url, p.sha256, p.size});
  }
  if (!changed.empty())
    return Error{what + " needs other versions of the target's packages: " + Join(changed, ", ")};
  return {};
}

// The lock's installer and offline sections, from the same pool as its packages: each is what
// installing its request into a system of the target's packages adds.
Status ResolveInstaller(Pool& pool, const profiles::Profile& profile, Lock* lock) {
  std::vector<std::string> target;
  for (const auto& p : lock->packages) target.push_back(p.name);
  if (!lock->request.installer.empty()) {
    auto s = pool.Solve({.include = lock->request.installer,
                         .include_field = "installer.packages",
                         .keep = target});
    if (!s) return Error{profile.source + ": the installer's packages: " + s.error()};
    for (const auto& w : s->warnings) log::Warn(profile.source + ": " + w);
    if (auto st = AddBeyondTarget(*lock, *s, "the installer layer", &lock->installer); !st)
      return Error{profile.source + ": " + st.error()};
  }
  // One solution per package: alternatives such as grub-pc and grub-efi-amd64 conflict.
  for (const auto& name : lock->request.offline) {
    auto s = pool.Solve(
        {.include = {name}, .include_field = "installer.offline_packages", .keep = target});
    if (!s) return Error{profile.source + ": " + s.error()};
    if (auto st = AddBeyondTarget(*lock, *s, "offline package " + name, &lock->offline); !st)
      return Error{profile.source + ": installer.offline_packages: " + st.error()};
  }
  return {};
}

}  // namespace

Result<Lock> Resolve(const profiles::Profile& profile, const ResolveOptions& options) {
  auto repos = ConcreteRepositories(profile, options.etc_apt);
  if (!repos) return repos.take_error();
  Lock lock;
  lock.request = RequestOf(profile);
  const std::string& arch = profile.distribution.arch;
  Pool pool(profile.distribution.family, arch);
  MetadataOptions mo{.cache_dir = options.cache_dir,
                     .offline = options.offline,
                     .fetcher = options.fetcher,
                     .openpgp = options.openpgp,
                     .now = options.now};
  std::vector<RpmMdMetadata> rpmmd;
  for (const auto& repo : *repos) {
    if (repo.type == profiles::RepoType::kRpmMd) {
      auto md = FetchRpmMdMetadata(repo, mo);
      if (!md) return Error{profile.source + ": " + md.error()};
      if (auto st = AddRpmMd(pool, *md); !st) return st.take_error();
      // The date: repomd's newest timestamp, as seconds (a Release's Date is an HTTP date).
      lock.repositories.push_back(
          {md->url, "",
           md->repomd.timestamp >= 0 ? std::to_string(md->repomd.timestamp) : std::string(),
           md->repomd_url, md->repomd_sha256});
      rpmmd.push_back(std::move(*md));
      continue;
    }
    auto md = FetchDebianMetadata(repo, arch, mo);
    if (!md) return md.take_error();
    for (const auto& ix : md->indexes)
      if (auto st = pool.AddDebianPackages(ix.path, md->mirror); !st) return st.take_error();
    lock.repositories.push_back(
        {md->mirror, md->suite, md->release.date, md->release_url, md->release_sha256});
  }
  // `@group` names a comps group of the rpm-md repositories: its mandatory and default packages.
  // The request's include: the profile's, plus what an installer adds to the target.
  std::vector<std::string> warnings;
  auto include = ExpandGroups(pool, lock.request.include, &warnings);
  if (!include) return Error{profile.source + ": packages.include: " + include.error()};
  for (const auto& w : warnings) log::Warn(profile.source + ": packages.include: " + w);
  // A file dependency (or a requested path) that primary does not list: the file lists.
  if (!rpmmd.empty()) {
    std::vector<std::string> wanted = *include;
    for (const auto* more : {&lock.request.tools, &lock.request.installer, &lock.request.offline})
      wanted.insert(wanted.end(), more->begin(), more->end());
    if (auto st = AddFileListsWhenNeeded(pool, rpmmd, wanted, mo); !st)
      return Error{profile.source + ": " + st.error()};
  }
  SolveRequest req{.variant = profile.packages.variant,
                   .include = *include,
                   .exclude = profile.packages.exclude,
                   .recommends = profile.packages.recommends};
  auto solution = pool.Solve(req);
  if (!solution) return Error{profile.source + ": " + solution.error()};
  for (const auto& w : solution->warnings) log::Warn(profile.source + ": " + w);
  for (auto& p : solution->packages)
    lock.packages.push_back({p.name, p.version, p.arch, p.url, p.sha256, p.size});
  // The tools tree: a second, independent solution from the same metadata.
  if (!lock.request.tools.empty()) {
    auto tools = pool.Solve({.include = lock.request.tools});
    if (!tools)
      return Error{profile.source + ": the tools for the outputs (" +
                   Join(lock.request.tools, ", ") +
                   ": the family's boot loader and ESP packages, from the profile's "
                   "repositories): " +
                   tools.error()};
    for (auto& p : tools->packages)
      lock.tools.push_back({p.name, p.version, p.arch, p.url, p.sha256, p.size});
  }
  if (auto st = ResolveInstaller(pool, profile, &lock); !st) return st.take_error();
  return lock;
}

Result<EnsureResult> FetchPackages(const Lock& lock, const FetchPackagesOptions& options) {
  std::vector<PackageRef> refs;
  for (const auto* list : {&lock.packages, &lock.tools, &lock.installer, &lock.offline})
    for (const auto& p : *list) refs.push_back({p.name + " " + p.version, p.url, p.sha256, p.size});
  NoFetcher none;
  Fetcher* fetcher = options.fetcher ? options.fetcher : &none;
  if (!options.offline && !options.fetcher) return Error{"fetch packages: no fetcher given"};
  PackageCache cache(options.cache_dir);
  auto r = cache.Ensure(refs, *fetcher, options.progress, {.offline = options.offline});
  if (!r && r.error().find(" mismatch: expected ") != std::string::npos)
    return Error{r.error() +
                 "\nnothing was kept: the mirror's file is not the one the lock pins (a mirror "
                 "that is corrupt or mid-sync, or a lock older than the archive: run 'imager "
                 "resolve' to lock what the mirror has now)"};
  return r;
}

}  // namespace imager::repo
