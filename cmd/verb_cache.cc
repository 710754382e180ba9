// SPDX-License-Identifier: GPL-3.0-or-later
// imager cache: list, measure and prune the cache of stage outputs (layers and artifacts).
#include <algorithm>
#include <ctime>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/log.h"
#include "base/strings.h"
#include "cmd/verbs.h"
#include "engine/cache.h"
#include "engine/progress.h"
#include "sandbox/hostcheck.h"
#include "sandbox/tools.h"

namespace imager::cmd {
namespace {

using engine::Cache;

struct CacheOptions {
  std::string cache_dir;
  bool json = false;
  size_t keep_last = 3;
  bool all = false;
  bool dry_run = false;
  bool remove = false;
  bool no_wait = false;
};

std::string Dir(const CacheOptions& o) {
  if (o.cache_dir.empty()) return sandbox::DefaultCacheDir();
  auto absolute = Canonical(o.cache_dir);
  return absolute ? *absolute : o.cache_dir;
}

// "now", "42s", "5m", "3h", "2d".
std::string Ago(int64_t then) {
  int64_t s = std::max<int64_t>(0, static_cast<int64_t>(std::time(nullptr)) - then);
  if (s < 5) return "now";
  if (s < 60) return std::to_string(s) + "s";
  if (s < 3600) return std::to_string(s / 60) + "m";
  if (s < 86400) return std::to_string(s / 3600) + "h";
  return std::to_string(s / 86400) + "d";
}

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.resize(width, ' ');
  return s;
}

std::string PadLeft(const std::string& s, size_t width) {
  return s.size() < width ? std::string(width - s.size(), ' ') + s : s;
}

nlohmann::json EntryJson(const engine::Entry& e) {
  return {{"key", e.meta.key},         {"stage", e.meta.stage},     {"kind", KindName(e.meta.kind)},
          {"size", e.meta.size},       {"created", e.meta.created}, {"last_used", e.last_used},
          {"parents", e.meta.parents}, {"profile", e.meta.profile}, {"path", e.data_dir}};
}

// One line per entry: key prefix, stage, kind, size, age, last use, profile.
void PrintTable(const std::vector<engine::Entry>& entries) {
  size_t w = 5;
  for (const auto& e : entries) w = std::max(w, e.meta.stage.size());
  std::cout << Pad("KEY", 14) << Pad("STAGE", w + 2) << Pad("KIND", 10) << PadLeft("SIZE", 10)
            << "  " << Pad("AGE", 6) << Pad("USED", 6) << "PROFILE\n";
  for (const auto& e : entries)
    std::cout << Pad(e.meta.key.substr(0, 12), 14) << Pad(e.meta.stage, w + 2)
              << Pad(KindName(e.meta.kind), 10) << PadLeft(engine::FormatBytes(e.meta.size), 10)
              << "  " << Pad(Ago(e.meta.created), 6) << Pad(Ago(e.last_used), 6)
              << (e.meta.profile.empty() ? "-" : e.meta.profile) << "\n";
}

int Ls(const CacheOptions& o) {
  auto cache = Cache::Open(Dir(o), Cache::Access::kRead);
  auto entries = cache ? cache->List() : Result<std::vector<engine::Entry>>(cache.take_error());
  if (!entries) {
    log::Err(entries.error());
    return kExitFailed;
  }
  if (o.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& e : *entries) j.push_back(EntryJson(e));
    std::cout << j.dump(2) << "\n";
  } else if (entries->empty()) {
    std::cout << "The cache " << Dir(o) << " holds no entries.\n";
  } else {
    PrintTable(*entries);
  }
  return kExitOk;
}

int Du(const CacheOptions& o) {
  auto cache = Cache::Open(Dir(o), Cache::Access::kRead);
  auto u = cache ? cache->Usage() : Result<engine::CacheUsage>(cache.take_error());
  if (!u) {
    log::Err(u.error());
    return kExitFailed;
  }
  uint64_t total = u->layer_bytes + u->artifact_bytes + u->tmp_bytes + u->trash_bytes;
  if (o.json) {
    std::cout << nlohmann::json{{"path", Dir(o)},
                                {"layers", {{"entries", u->layers}, {"bytes", u->layer_bytes}}},
                                {"artifacts",
                                 {{"entries", u->artifacts}, {"bytes", u->artifact_bytes}}},
                                {"unfinished_bytes", u->tmp_bytes},
                                {"trash_bytes", u->trash_bytes},
                                {"total_bytes", total}}
                     .dump(2)
              << "\n";
    return kExitOk;
  }
  auto row = [](const std::string& what, const std::string& count, uint64_t bytes) {
    std::cout << Pad(what, 12) << Pad(count, 12) << PadLeft(engine::FormatBytes(bytes), 10) << "\n";
  };
  row("layers", std::to_string(u->layers) + " entries", u->layer_bytes);
  row("artifacts", std::to_string(u->artifacts) + " entries", u->artifact_bytes);
  if (u->tmp_bytes) row("unfinished", "", u->tmp_bytes);
  if (u->trash_bytes) row("trash", "", u->trash_bytes);
  row("total", "", total);
  std::cout << "in " << Dir(o) << " (apparent sizes)\n";
  return kExitOk;
}

Result<Cache> OpenForPrune(const CacheOptions& o) {
  if (o.dry_run) return Cache::Open(Dir(o), Cache::Access::kRead);
  Cache::Options options;
  options.wait = !o.no_wait;
  options.on_wait = [](const std::string& why) { log::Info("cache: " + why + "..."); };
  sandbox::IdMap idmap = sandbox::DetectIdMap(nullptr, nullptr);
  options.remove_tree = [idmap](const std::string& path) {
    return sandbox::RemoveTreeInSandbox(idmap, path);
  };
  options.index_tree = sandbox::CacheIndexer(idmap);
  return Cache::Open(Dir(o), Cache::Access::kPrune, options);
}

int Prune(const CacheOptions& o) {
  auto cache = OpenForPrune(o);
  auto entries = cache ? cache->List() : Result<std::vector<engine::Entry>>(cache.take_error());
  if (!entries) {
    log::Err(entries.error());
    return kExitFailed;
  }
  auto doomed = engine::SelectForPrune(std::move(*entries), o.all ? 0 : o.keep_last);
  uint64_t freed = 0;
  int failed = 0;
  for (const auto& e : doomed) {
    std::string what = e.meta.key.substr(0, 12) + " " + e.meta.stage + " (" +
                       engine::FormatBytes(e.meta.size) + ", used " + Ago(e.last_used) + " ago)";
    if (o.dry_run) {
      std::cout << "would remove " << what << "\n";
    } else if (auto st = cache->Remove(e); !st) {
      log::Err("cannot remove " + what + ": " + st.error());
      ++failed;
      continue;
    } else {
      std::cout << "removed " << what << "\n";
    }
    freed += e.meta.size;
  }
  std::cout << (o.dry_run ? "would free " : "freed ") << engine::FormatBytes(freed) << " ("
            << doomed.size() - failed << " entries)\n";
  return failed ? kExitFailed : kExitOk;
}

int Verify(const CacheOptions& o) {
  sandbox::IdMap idmap = sandbox::DetectIdMap(nullptr, nullptr);
  Result<Cache> cache = Error{""};
  if (o.remove) {
    cache = OpenForPrune(o);
  } else {
    Cache::Options options;
    options.index_tree = sandbox::CacheIndexer(idmap);
    cache = Cache::Open(Dir(o), Cache::Access::kRead, options);
  }
  auto entries = cache ? cache->List() : Result<std::vector<engine::Entry>>(cache.take_error());
  if (!entries) {
    log::Err(entries.error());
    return kExitFailed;
  }
  size_t damaged = 0, removed = 0;
  for (const auto& e : *entries) {
    auto st = cache->Verify(e);
    if (st) continue;
    ++damaged;
    std::cout << "damaged " << e.meta.key.substr(0, 12) << " " << e.meta.stage << ": " << st.error()
              << "\n";
    if (!o.remove) continue;
    if (auto rm = cache->Remove(e); !rm)
      log::Err("cannot remove " + e.path + ": " + rm.error());
    else
      ++removed;
  }
  std::cout << entries->size() - damaged << " of " << entries->size() << " entries intact";
  if (o.remove) std::cout << ", " << removed << " damaged removed";
  std::cout << "\n";
  if (damaged && !o.remove)
    std::cout << "a build rebuilds a damaged entry by itself; 'imager cache verify --remove' "
                 "deletes them now\n";
  return damaged == removed && (o.remove || damaged == 0) ? kExitOk : kExitFailed;
}

int Usage(const std::vector<std::string>& extra) {
  std::vector<std::string> names = {"ls", "du", "prune", "verify"};
  if (extra.empty()) {
    log::Err("cache: which one? " + Join(names, ", ") + " (see 'imager cache --help')");
  } else {
    std::string hint = ClosestMatch(extra[0], names);
    log::Err("cache: unknown subcommand '" + extra[0] + "'" +
             (hint.empty() ? "" : "; did you mean '" + hint + "'?") +
             " (allowed: " + Join(names, ", ") + ")");
  }
  return kExitUsage;
}

constexpr const char* kCacheHelp = R"(
The cache holds each stage's output under its key (a hash of the stage's inputs and of its
parents' keys): layers (directory trees) in DIR/layers, artifacts (files) in DIR/artifacts.
A build reuses every stage whose key is there. Default DIR: $XDG_CACHE_HOME/imager or
~/.cache/imager.

Example:
  imager cache ls
  imager cache du
  imager cache prune --keep-last 1 --dry-run
  imager cache verify)";

constexpr const char* kLsHelp = R"(
Columns: key prefix, stage, kind (layer or artifact), size, age, time since last use, profile.

Example:
  imager cache ls
  imager cache ls --json | jq '.[] | select(.stage == "rootfs") | .path')";

constexpr const char* kDuHelp = R"(
Disk use per kind, plus leftovers: "unfinished" (builds in progress or interrupted) and
"trash" (replaced entries, deleted when no build runs).

Example:
  imager cache du
  imager cache du --cache-dir /srv/imager-cache --json)";

constexpr const char* kPruneHelp = R"(
Keeps the N most recently used entries of each stage of each profile and deletes the rest
(default N: 3); --all deletes every entry. Prune waits until running builds have finished,
so it never deletes what a build uses. Files that a sandboxed build gave to subordinate ids
are deleted from inside the sandbox's id mapping.

Example:
  imager cache prune --dry-run
  imager cache prune --keep-last 1
  imager cache prune --all --no-wait)";

constexpr const char* kVerifyHelp = R"(
Checks every entry against the index its build recorded: each file's bytes, each symlink's
target, modes, owners and times. A build does the same for each entry it uses and rebuilds a
damaged one, saying which file changed; this checks the whole cache at once (exit 1 when an
entry is damaged). Entries written by an imager older than this check count as damaged.

Example:
  imager cache verify
  imager cache verify --remove)";

}  // namespace

Action SetupCache(CLI::App* app, const GlobalOptions*) {
  auto o = std::make_shared<CacheOptions>();
  app->footer(kCacheHelp);
  app->require_subcommand(0, 1);
  // --cache-dir before or after the subcommand's name.
  auto cache_dir = [o](CLI::App* a) {
    a->add_option("--cache-dir", o->cache_dir, "Cache directory (default: ~/.cache/imager)");
  };
  cache_dir(app);
  CLI::App* ls = app->add_subcommand("ls", "List the cached stage outputs");
  cache_dir(ls);
  ls->add_flag("--json", o->json, "Print JSON");
  ls->footer(kLsHelp);
  CLI::App* du = app->add_subcommand("du", "Show the cache's disk use");
  cache_dir(du);
  du->add_flag("--json", o->json, "Print JSON");
  du->footer(kDuHelp);
  CLI::App* prune = app->add_subcommand("prune", "Delete old cache entries");
  cache_dir(prune);
  auto* keep = prune
                   ->add_option("--keep-last", o->keep_last,
                                "Entries to keep per stage and profile, most recently used first")
                   ->capture_default_str();
  prune->add_flag("--all", o->all, "Delete every entry")->excludes(keep);
  prune->add_flag("--dry-run", o->dry_run, "Only say what would be deleted");
  prune->add_flag("--no-wait", o->no_wait, "Fail instead of waiting for running builds");
  prune->footer(kPruneHelp);
  CLI::App* verify = app->add_subcommand("verify", "Check the entries' bytes against their index");
  cache_dir(verify);
  verify->add_flag("--remove", o->remove, "Delete the damaged entries (waits for running builds)");
  verify->add_flag("--no-wait", o->no_wait, "With --remove: fail instead of waiting for builds");
  verify->footer(kVerifyHelp);
  app->allow_extras();  // after the subcommands, which would inherit it: a typo gets a hint
  return [o, app, ls, du, prune, verify] {
    if (!app->remaining().empty()) return Usage(app->remaining());
    if (ls->parsed()) return Ls(*o);
    if (du->parsed()) return Du(*o);
    if (prune->parsed()) return Prune(*o);
    if (verify->parsed()) return Verify(*o);
    return Usage({});
  };
}

}  // namespace imager::cmd
