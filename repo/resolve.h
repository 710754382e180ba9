// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Resolve turns a profile into a Lock: the signed metadata of each repository is fetched and
/// verified, loaded into one libsolv pool, and the profile's package request is solved into the
/// exact packages in install order. FetchPackages then makes every locked package present and
/// verified in the shared package cache. Used by `imager resolve`, `imager fetch` and the build.

#include <string>

#include "base/result.h"
#include "profiles/profile.h"
#include "repo/fetch.h"
#include "repo/lockfile.h"
#include "repo/openpgp.h"
#include "repo/pkgcache.h"

namespace imager::repo {

struct ResolveOptions {
  std::string cache_dir;       // metadata in CACHE_DIR/metadata, packages in CACHE_DIR/packages
  bool offline = false;        // use cached metadata only
  Fetcher* fetcher = nullptr;  // required unless offline
  std::string etc_apt = "/etc/apt";  // where `mirror: auto` looks
  OpenPgpOptions openpgp;
  int64_t now = -1;  // for Valid-Until checks; -1: the current time
};

/// Resolves the profile's request against its repositories (`mirror: auto` is looked up in the
/// host's apt sources here, so the lock's request keeps "auto"). rpm-md repositories are read
/// with their comps groups, and "@group" in packages.include stands for a group's mandatory and
/// default packages. With an installer, the lock's `installer` section is what installing
/// profiles::InstallerPackages into a system of its `packages` adds, and `offline` what each of
/// installer.offline_packages adds to that system (solved one by one, merged).
Result<Lock> Resolve(const profiles::Profile& profile, const ResolveOptions& options);

struct FetchPackagesOptions {
  std::string cache_dir;       // packages in CACHE_DIR/packages/sha256/...
  bool offline = false;        // a package missing from the cache is an error
  Fetcher* fetcher = nullptr;  // required unless offline
  ProgressFn progress;
};

/// Makes every package of the lock present in the package cache, verified by sha256 and size;
/// the paths come back in the lock's (install) order: `packages`, `tools`, `installer`, then
/// `offline`.
Result<EnsureResult> FetchPackages(const Lock& lock, const FetchPackagesOptions& options);

}  // namespace imager::repo
