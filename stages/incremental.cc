// SPDX-License-Identifier: GPL-3.0-or-later
#include "stages/incremental.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "base/fs.h"
#include "base/sha256.h"

namespace imager::stages {
namespace {

using Id = std::tuple<std::string, std::string, std::string>;  // name, arch, version

Id IdOf(const repo::LockedPackage& p) { return {p.name, p.arch, p.version}; }

std::string Show(const repo::LockedPackage& p) { return p.name + " " + p.version + " " + p.arch; }

}  // namespace

Result<IncrementalPlan> PlanIncremental(const repo::Lock& base, const PackageFiles& now,
                                        const std::vector<std::string>& include) {
  std::map<Id, size_t> at;  // index in `now`
  std::map<std::pair<std::string, std::string>, const repo::LockedPackage*> by_name;
  for (size_t i = 0; i < now.packages.size(); ++i) {
    at[IdOf(now.packages[i])] = i;
    by_name[{now.packages[i].name, now.packages[i].arch}] = &now.packages[i];
  }
  IncrementalPlan plan;
  plan.base.repositories = base.repositories;
  plan.base_include = base.request.include;
  std::set<size_t> kept;
  for (const auto& p : base.packages) {
    auto it = at.find(IdOf(p));
    if (it == at.end()) {
      auto other = by_name.find({p.name, p.arch});
      if (other != by_name.end())
        return Error{p.name + " changed from " + p.version + " to " + other->second->version +
                     " since the last full build"};
      return Error{Show(p) + " of the last full build is no longer in the lock"};
    }
    if (now.packages[it->second].sha256 != p.sha256)
      return Error{Show(p) + " has another sha256 than in the last full build"};
    plan.base.packages.push_back(p);
    plan.base.paths.push_back(it->second < now.paths.size() ? now.paths[it->second] : "");
    kept.insert(it->second);
  }
  std::set<std::string> added_names;
  plan.added.repositories = now.repositories;
  for (size_t i = 0; i < now.packages.size(); ++i) {
    if (kept.count(i)) continue;
    plan.added.packages.push_back(now.packages[i]);
    plan.added.paths.push_back(i < now.paths.size() ? now.paths[i] : "");
    added_names.insert(now.packages[i].name);
  }
  if (plan.added.packages.empty()) return Error{"the lock adds no package to the last full build"};
  for (const auto& name : include)
    if (added_names.count(name)) plan.asked.push_back(name);
  return plan;
}

std::string RecordPath(const std::string& cache_dir, const std::string& lock_path) {
  return cache_dir + "/incremental/" + Sha256Hex(lock_path).substr(0, 32) + ".lock";
}

Status WriteRecord(const std::string& path, const PackageFiles& packages,
                   const std::vector<std::string>& include) {
  if (auto st = MakeDirs(path.substr(0, path.rfind('/'))); !st) return st;
  repo::Lock record;
  record.request.include = include;
  record.repositories = packages.repositories;
  record.packages = packages.packages;
  return repo::WriteLock(path, record);
}

}  // namespace imager::stages
