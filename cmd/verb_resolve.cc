// SPDX-License-Identifier: GPL-3.0-or-later
// imager resolve: a profile's exact package set, written to its lock file.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/strings.h"
#include "cmd/lock_common.h"
#include "cmd/verbs.h"
#include "repo/progress_bar.h"

namespace imager::cmd {
namespace {

constexpr const char* kHelp = R"(
Fetches the signed metadata of the profile's repositories (InRelease, or Release and
Release.gpg, checked with gpgv against the profile's keyring; Packages checked against the
signed sha256), solves the package request with libsolv and writes the exact package set, in
install order, to the lock file: name, version, architecture, URL, sha256 and size of every
package, and the date and hash of the metadata it was solved against. `imager fetch` uses
that lock file while it matches the profile's request; --locked only checks that it does.

Examples:
  imager resolve profiles/debian-live.yaml          # writes profiles/debian-live.lock
  imager resolve debian-live --lock /tmp/live.lock --json | jq .packages
  imager resolve my.yaml --locked                   # CI: fail if my.lock is stale)";

int ResolveMain(const LockFlags& f) {
  auto c = PrepareLock(f);
  if (!c) {
    for (const auto& line : Split(c.error(), '\n')) log::Err(line);
    return kExitFailed;
  }
  auto out = ObtainLock(*c, f, false);
  if (!out) {
    for (const auto& line : Split(out.error(), '\n')) log::Err(line);
    return kExitFailed;
  }
  const repo::Lock& lock = out->lock;
  if (f.json) {
    nlohmann::json j = {{"lockfile", c->lock_path},       {"packages", lock.packages.size()},
                        {"tools", lock.tools.size()},     {"installer", lock.installer.size()},
                        {"offline", lock.offline.size()}, {"size", lock.TotalSize()},
                        {"resolved", out->resolved},      {"changes", out->changes}};
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  std::vector<std::string> extra;
  for (auto [n, what] : {std::pair{lock.tools.size(), " for the build's tools"},
                         std::pair{lock.installer.size(), " for the installer"},
                         std::pair{lock.offline.size(), " for the offline repository"}})
    if (n) extra.push_back("+ " + std::to_string(n) + what);
  std::string tools = extra.empty() ? "" : " (" + Join(extra, ", ") + ")";
  std::cout << c->lock_path << ": " << lock.packages.size() << " packages" << tools << ", "
            << repo::FormatSize(lock.TotalSize()) << " to download"
            << (out->resolved ? "" : " (lock file unchanged, --locked)") << "\n";
  if (!out->changes.empty()) log::Info("changes: " + out->changes);
  return kExitOk;
}

}  // namespace

Action SetupResolve(CLI::App* app, const GlobalOptions*) {
  auto f = std::make_shared<LockFlags>();
  app->footer(kHelp);
  AddLockFlags(app, f.get());
  return [f] { return ResolveMain(*f); };
}

}  // namespace imager::cmd
