// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// What `imager resolve` and `imager fetch` share: their flags, loading the profile, and getting
/// a lock for it — the profile's lock file when it still answers the request, else a fresh
/// resolution written back to it.

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "base/result.h"
#include "profiles/profile.h"
#include "repo/fetch.h"
#include "repo/lockfile.h"

namespace imager::cmd {

struct LockFlags {
  std::string profile;
  std::string cache_dir;
  std::string lockfile;  // --lock
  std::string out_dir;   // where the lock goes when the profile's directory is not writable
  bool offline = false;
  bool locked = false;
  bool json = false;
};

void AddLockFlags(CLI::App* app, LockFlags* f);
/// The positional profile, --cache-dir and --lock, as every verb that reads a profile's lock has
/// them (build, resolve, fetch).
void AddProfileCacheLock(CLI::App* app, std::string* profile, std::string* cache_dir,
                         std::string* lockfile);

struct LockContext {
  profiles::Profile profile;
  std::string cache_dir;  // absolute
  std::string lock_path;
  std::unique_ptr<repo::Fetcher> fetcher;  // null offline
};

/// The fetcher's options: the defaults, with the stall limit from $IMAGER_FETCH_STALL_SECONDS
/// when it is set (a whole number of seconds, 1 or more).
Result<repo::FetchOptions> FetchOptionsFromEnv();

/// Loads the profile (found by ResolveProfileArg; warnings printed) and sets up cache and
/// fetcher.
Result<LockContext> PrepareLock(const LockFlags& f);

/// The profile's lock file for --lock FLAG (may be empty) and the output directory OUT_DIR
/// (repo::LockPlaceFor); says where it is when that is not beside the profile.
std::string LockPathOf(const profiles::Profile& profile, const std::string& flag,
                       const std::string& out_dir);

struct LockOutcome {
  repo::Lock lock;
  bool resolved = false;  // false: taken from the lock file as it was
  std::string changes;    // what a fresh resolution changed against the old lock, if anything
};

/// --locked: the lock file must exist and match the profile's request; it is used as it is.
/// Otherwise, when `reuse` and the lock file matches, it is used; else the profile is resolved
/// and the lock file (re)written.
Result<LockOutcome> ObtainLock(const LockContext& c, const LockFlags& f, bool reuse);

}  // namespace imager::cmd
