// SPDX-License-Identifier: GPL-3.0-or-later
#include "cmd/lock_common.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <system_error>

#include "base/fs.h"
#include "base/log.h"
#include "base/strings.h"
#include "profiles/catalog.h"
#include "profiles/loader.h"
#include "repo/curl_fetcher.h"
#include "repo/resolve.h"
#include "sandbox/hostcheck.h"

namespace imager::cmd {
namespace {

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// "2 added (a, b), 1 removed (c), 1 changed (d 1.0 -> 1.1)", or "" when the sets are equal.
std::string Changes(const repo::Lock& before, const repo::Lock& after) {
  std::map<std::string, std::string> old, now;
  for (const auto& p : before.packages) old[p.name] = p.version;
  for (const auto& p : after.packages) now[p.name] = p.version;
  std::vector<std::string> added, removed, changed;
  for (const auto& [name, version] : now) {
    auto it = old.find(name);
    if (it == old.end())
      added.push_back(name);
    else if (it->second != version)
      changed.push_back(name + " " + it->second + " -> " + version);
  }
  for (const auto& [name, version] : old)
    if (!now.count(name)) removed.push_back(name);
  std::vector<std::string> parts;
  for (auto [what, list] :
       {std::pair{"added", &added}, std::pair{"removed", &removed}, std::pair{"changed", &changed}})
    if (!list->empty())
      parts.push_back(std::to_string(list->size()) + " " + what + " (" + Join(*list, ", ") + ")");
  return Join(parts, ", ");
}

}  // namespace

Result<repo::FetchOptions> FetchOptionsFromEnv() {
  repo::FetchOptions o;
  const char* env = getenv(repo::kStallSecondsEnv);
  if (!env || !*env) return o;
  char* end = nullptr;
  long s = std::strtol(env, &end, 10);
  if (*end != '\0' || s < 1 || s > 86400)
    return Error{std::string(repo::kStallSecondsEnv) + "='" + env +
                 "': expected a whole number of seconds from 1 to 86400"};
  o.low_speed_timeout_s = static_cast<int>(s);
  return o;
}

void AddProfileCacheLock(CLI::App* app, std::string* profile, std::string* cache_dir,
                         std::string* lockfile) {
  app->add_option("profile", *profile, "Profile: a name ('imager profile list') or a file")
      ->required();
  app->add_option("--cache-dir", *cache_dir, "Cache (default: $XDG_CACHE_HOME/imager)");
  app->add_option("--lock,--lockfile", *lockfile,
                  "Lock file (default: FILE.lock beside the profile FILE.yaml, or in the output "
                  "directory when the profile's directory is not writable)");
}

void AddLockFlags(CLI::App* app, LockFlags* f) {
  AddProfileCacheLock(app, &f->profile, &f->cache_dir, &f->lockfile);
  app->add_option("-o,--output", f->out_dir,
                  "The build's output directory (default: out/PROFILE-NAME): where the lock file "
                  "goes when the profile's directory is not writable");
  app->add_flag("--offline", f->offline, "Use only cached metadata and packages; no network");
  app->add_flag("--locked", f->locked,
                "Use the lock file as it is; fail if it is missing or no longer matches the "
                "profile's request");
  app->add_flag("--json", f->json, "Print the result as JSON on stdout");
}

Result<LockContext> PrepareLock(const LockFlags& f) {
  auto file = profiles::ResolveProfileArg(f.profile);
  if (!file) return file.take_error();
  auto profile = profiles::LoadProfile(*file);
  if (!profile) return profile.take_error();
  for (const auto& w : profile->warnings) log::Warn(w);
  LockContext c;
  c.profile = std::move(*profile);
  c.cache_dir = f.cache_dir.empty() ? sandbox::DefaultCacheDir() : f.cache_dir;
  if (auto st = MakeDirs(c.cache_dir); !st) return st.take_error();
  auto abs = Canonical(c.cache_dir);
  if (!abs) return abs.take_error();
  c.cache_dir = *abs;
  c.lock_path =
      LockPathOf(c.profile, f.lockfile, f.out_dir.empty() ? "out/" + c.profile.name : f.out_dir);
  if (!f.offline) {
    auto fo = FetchOptionsFromEnv();
    if (!fo) return fo.take_error();
    c.fetcher = repo::MakeCurlFetcher(*fo);
  }
  return c;
}

std::string LockPathOf(const profiles::Profile& profile, const std::string& flag,
                       const std::string& out_dir) {
  repo::LockPlace place = repo::LockPlaceFor(profile, {.explicit_path = flag, .out_dir = out_dir});
  if (!place.note.empty()) log::Info(place.note);
  return place.path;
}

Result<LockOutcome> ObtainLock(const LockContext& c, const LockFlags& f, bool reuse) {
  repo::LockRequest request = repo::RequestOf(c.profile);
  std::optional<repo::Lock> old;
  if (Exists(c.lock_path)) {
    auto l = repo::ReadLock(c.lock_path);
    if (!l && f.locked) return l.take_error();
    if (!l) log::Warn(l.error() + "; resolving again");
    if (l) old = std::move(*l);
  }
  if (f.locked) {
    if (!old)
      return Error{"--locked: there is no lock file " + c.lock_path + " (run 'imager resolve " +
                   f.profile + "' to make one)"};
    if (auto st = repo::Matches(*old, request); !st) return Error{c.lock_path + ": " + st.error()};
    return LockOutcome{std::move(*old), false, ""};
  }
  if (reuse && old && repo::Matches(*old, request)) {
    log::Verbose("using " + c.lock_path);
    return LockOutcome{std::move(*old), false, ""};
  }
  if (reuse && old) log::Info(c.lock_path + " no longer matches the profile; resolving again");
  repo::ResolveOptions ro{
      .cache_dir = c.cache_dir, .offline = f.offline, .fetcher = c.fetcher.get()};
  auto lock = repo::Resolve(c.profile, ro);
  if (!lock) return lock.take_error();
  std::string dir = std::filesystem::path(c.lock_path).parent_path().string();
  if (!dir.empty())
    if (auto st = MakeDirs(dir); !st) return st.take_error();
  if (auto st = repo::WriteLock(c.lock_path, *lock); !st) return st.take_error();
  LockOutcome out{std::move(*lock), true, ""};
  if (old) out.changes = Changes(*old, out.lock);
  return out;
}

}  // namespace imager::cmd
