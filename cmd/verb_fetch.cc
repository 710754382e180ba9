// SPDX-License-Identifier: GPL-3.0-or-later
// imager fetch: download a profile's packages into the shared package cache, without building.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/strings.h"
#include "cmd/lock_common.h"
#include "cmd/verbs.h"
#include "repo/progress_bar.h"
#include "repo/resolve.h"

namespace imager::cmd {
namespace {

constexpr const char* kHelp = R"(
Uses the profile's lock file when it matches the profile (else resolves again and rewrites it,
as 'imager resolve' does), then downloads every locked package in parallel into the package
cache (CACHE/packages/sha256/..., shared by all profiles). Each package is checked against the
sha256 and size in the lock file before it is kept; what the cache already holds is verified
and not downloaded again. Offline, a missing package is an error naming it.

Examples:
  imager fetch profiles/debian-live.yaml
  imager fetch debian-live --cache-dir /var/tmp/imager-cache
  imager fetch my.yaml --locked --offline     # check that everything is already cached)";

int FetchMain(const LockFlags& f, const GlobalOptions* g) {
  auto c = PrepareLock(f);
  if (!c) {
    for (const auto& line : Split(c.error(), '\n')) log::Err(line);
    return kExitFailed;
  }
  auto out = ObtainLock(*c, f, true);
  if (!out) {
    for (const auto& line : Split(out.error(), '\n')) log::Err(line);
    return kExitFailed;
  }
  if (out->resolved) log::Info("resolved again; wrote " + c->lock_path);
  repo::FetchPackagesOptions fo{
      .cache_dir = c->cache_dir, .offline = f.offline, .fetcher = c->fetcher.get()};
  if (!g->quiet && !f.json) fo.progress = repo::MakeProgressBar(STDERR_FILENO);
  auto got = repo::FetchPackages(out->lock, fo);
  fo.progress = nullptr;  // the bar prints its summary line now
  if (!got) {
    for (const auto& line : Split(got.error(), '\n')) log::Err(line);
    return kExitFailed;
  }
  for (const auto& name : got->corrupt) log::Warn("cache entry of " + name + " was corrupt");
  if (f.json) {
    nlohmann::json j = {{"lockfile", c->lock_path},
                        {"packages", out->lock.packages.size()},
                        {"tools", out->lock.tools.size()},
                        {"installer", out->lock.installer.size()},
                        {"offline", out->lock.offline.size()},
                        {"size", out->lock.TotalSize()},
                        {"cached", got->cached},
                        {"fetched", got->fetched},
                        {"bytes_fetched", got->bytes_fetched},
                        {"cache", c->cache_dir + "/packages"}};
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  std::string tools;
  for (auto [n, what] : {std::pair{out->lock.tools.size(), " tools"},
                         std::pair{out->lock.installer.size(), " installer"},
                         std::pair{out->lock.offline.size(), " offline"}})
    if (n) tools += " + " + std::to_string(n) + what;
  std::cout << out->lock.packages.size() << " packages" << tools << " ("
            << repo::FormatSize(out->lock.TotalSize()) << ") in " << c->cache_dir
            << "/packages: " << got->fetched << " fetched (" << repo::FormatSize(got->bytes_fetched)
            << "), " << got->cached << " already there\n";
  return kExitOk;
}

}  // namespace

Action SetupFetch(CLI::App* app, const GlobalOptions* global) {
  auto f = std::make_shared<LockFlags>();
  app->footer(kHelp);
  AddLockFlags(app, f.get());
  return [f, global] { return FetchMain(*f, global); };
}

}  // namespace imager::cmd
