// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// `imager build --incremental`: packages added to a profile are installed on top of the
/// packages layer of its last full build (still in the cache) as a layer of their own,
/// "packages-added", by the family's package manager (families::Family::add_packages_stage),
/// instead of installing every package again. The layers above are rebuilt as usual; on a live
/// ISO the packages' image is reused and the added packages get a small image of their own.
///
/// The result boots and holds the same packages as a full build of the same lock, but not the
/// same bytes (the added packages were installed in another transaction, the package database
/// lists them in another order): it is opt-in, for the edit–build–boot loop, and a release is
/// built without it. Every full build of a lock records its packages (RecordPath); an
/// incremental build adds to that record and leaves it as it was, so a second added package is
/// installed with the first on the same base.

#include <string>
#include <vector>

#include "base/result.h"
#include "repo/lockfile.h"
#include "stages/build.h"

namespace imager::stages {

/// The plan when the lock `now` (with the profile's `include`) keeps every package of the
/// recorded full build `base` (name, version, architecture and sha256 alike) and adds some;
/// else an error that says why a full build is needed (a package changed or went away, nothing
/// was added).
Result<IncrementalPlan> PlanIncremental(const repo::Lock& base, const PackageFiles& now,
                                        const std::vector<std::string>& include);

/// Where the record of the last full build of the lock at `lock_path` is kept in the cache.
std::string RecordPath(const std::string& cache_dir, const std::string& lock_path);
/// The record of a full build: the lock's packages and repositories, and `include` as the
/// profile wrote it (request.include; the packages stage's key takes it in that order).
Status WriteRecord(const std::string& path, const PackageFiles& packages,
                   const std::vector<std::string>& include);

}  // namespace imager::stages
