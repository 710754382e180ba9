// SPDX-License-Identifier: GPL-3.0-or-later
#include "repo/resolve.h"

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
  for (const auto& repo : *repos) {
    if (repo.type == profiles::RepoType::kRpmMd) {
      auto md = FetchRpmMdMetadata(repo, mo);
      if (!md) return Error{profile.source + ": " + md.error()};
      if (auto st = AddRpmMd(pool, *md); !st) return st.take_error();
      lock.repositories.push_back(
          {md->url, "", md->repomd.revision, md->repomd_url, md->repomd_sha256});
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
  auto include = ExpandGroups(pool, profile.packages.include);
  if (!include) return Error{profile.source + ": packages.include: " + include.error()};
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
    if (!tools) return Error{profile.source + ": the tools for the outputs: " + tools.error()};
    for (auto& p : tools->packages)
      lock.tools.push_back({p.name, p.version, p.arch, p.url, p.sha256, p.size});
  }
  return lock;
}

Result<EnsureResult> FetchPackages(const Lock& lock, const FetchPackagesOptions& options) {
  std::vector<PackageRef> refs;
  for (const auto* list : {&lock.packages, &lock.tools})
    for (const auto& p : *list) refs.push_back({p.name + " " + p.version, p.url, p.sha256, p.size});
  NoFetcher none;
  Fetcher* fetcher = options.fetcher ? options.fetcher : &none;
  if (!options.offline && !options.fetcher) return Error{"fetch packages: no fetcher given"};
  PackageCache cache(options.cache_dir);
  return cache.Ensure(refs, *fetcher, options.progress, {.offline = options.offline});
}

}  // namespace imager::repo
