// SPDX-License-Identifier: GPL-3.0-or-later
// imager check: can this host build rootless, and if not, what to change.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "cmd/verbs.h"
#include "sandbox/hostcheck.h"

namespace imager::cmd {
namespace {

struct CheckOptions {
  bool json = false;
  std::string cache_dir;
};

const char* StateName(sandbox::CheckItem::State s) {
  switch (s) {
    case sandbox::CheckItem::State::kOk:
      return "ok";
    case sandbox::CheckItem::State::kWarn:
      return "warn";
    case sandbox::CheckItem::State::kFail:
      return "fail";
  }
  return "?";
}

int Check(const CheckOptions& o, const GlobalOptions* g) {
  std::string cache = o.cache_dir.empty() ? sandbox::DefaultCacheDir() : o.cache_dir;
  auto items = sandbox::RunHostChecks(cache);
  bool failed = false;
  for (const auto& i : items) failed |= i.state == sandbox::CheckItem::State::kFail;
  if (o.json) {
    nlohmann::json j;
    j["ready"] = !failed;
    j["checks"] = nlohmann::json::array();
    for (const auto& i : items)
      j["checks"].push_back({{"name", i.name},
                             {"state", StateName(i.state)},
                             {"detail", i.detail},
                             {"hint", i.hint}});
    std::cout << j.dump(2) << "\n";
  } else if (!g->quiet || failed) {
    bool tty = isatty(STDOUT_FILENO);
    for (const auto& i : items) {
      const char* mark =
          i.state == sandbox::CheckItem::State::kOk     ? (tty ? "\033[32mok\033[0m  " : "ok  ")
          : i.state == sandbox::CheckItem::State::kWarn ? (tty ? "\033[33mwarn\033[0m" : "warn")
                                                        : (tty ? "\033[31mFAIL\033[0m" : "FAIL");
      std::cout << mark << "  " << i.name << ": " << i.detail << "\n";
      if (!i.hint.empty()) std::cout << "        fix: " << i.hint << "\n";
    }
    std::cout << (failed ? "This host cannot build rootless images yet: fix the FAIL lines.\n"
                         : "This host can build rootless images.\n");
  }
  return failed ? kExitHostNotReady : kExitOk;
}

}  // namespace

Action SetupCheck(CLI::App* app, const GlobalOptions* global) {
  auto o = std::make_shared<CheckOptions>();
  app->footer(R"(
Checks user namespaces (and names what restricts them: AppArmor's
kernel.apparmor_restrict_unprivileged_userns, kernel.unprivileged_userns_clone,
user.max_user_namespaces, SELinux), subordinate id ranges, newuidmap/newgidmap, seccomp, a full
sandbox launch with an overlay root, the cache's filesystem (from the mount table: an overlay,
NFS or FUSE, noexec/nosuid/nodev), /dev/fuse, /dev/kvm and free space. Exits 3 when an
essential check fails; warnings name optional features and how to get them.

Example:
  imager check            # human-readable, with fixes
  imager check --json     # for scripts)");
  app->add_flag("--json", o->json, "Print the results as JSON");
  app->add_option("--cache-dir", o->cache_dir,
                  "Cache directory whose filesystem and free space to check");
  return [o, global] { return Check(*o, global); };
}

}  // namespace imager::cmd
