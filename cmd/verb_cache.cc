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
#include "cmd/build_common.h"
#include "cmd/verbs.h"
#include "engine/cache.h"
#include "engine/progress.h"
#include "sandbox/hostcheck.h"
#include "sandbox/tools.h"
#include "stages/build.h"
#include "stages/remote_cache.h"

namespace imager::cmd {
namespace {

using engine::Cache;

struct CacheOptions {
  std::string cache_dir;
  std::string remote;   // ls --remote, push --to, pull --from
  std::string profile;  // push, pull
  bool single_id = false;
  oci::RegistryOptions registry;
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

// The registry cache for --remote/--to/--from, with the build's id mapping.
Result<std::unique_ptr<stages::RegistryCache>> Remote(const CacheOptions& o,
                                                      const sandbox::IdMap& idmap) {
  return stages::RegistryCache::Make(o.remote, o.registry, idmap);
}

int RemoteLs(const CacheOptions& o) {
  std::string why;
  auto remote = Remote(o, sandbox::DetectIdMap(&why, nullptr));
  auto keys =
      remote ? (*remote)->List() : Result<std::vector<stages::RemoteEntry>>(remote.take_error());
  if (!keys) {
    log::Err(keys.error());
    return kExitFailed;
  }
  if (o.json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& e : *keys)
      j.push_back({{"key", e.key}, {"stage", e.stage}, {"kind", e.kind}, {"size", e.size}});
    std::cout << j.dump(2) << "\n";
    return kExitOk;
  }
  if (keys->empty()) {
    std::cout << (*remote)->Describe() << " holds no stage entries.\n";
    return kExitOk;
  }
  size_t w = 5;
  for (const auto& e : *keys) w = std::max(w, e.stage.size());
  std::cout << Pad("KEY", 14) << Pad("STAGE", w + 2) << Pad("KIND", 10) << PadLeft("SIZE", 10)
            << "\n";
  for (const auto& e : *keys)
    std::cout << Pad(e.key.substr(0, 12), 14) << Pad(e.stage, w + 2) << Pad(e.kind, 10)
              << PadLeft(engine::FormatBytes(e.size), 10) << "\n";
  return kExitOk;
}

// A profile's stages as a build with its lock would run them, and the registry repository.
struct PlannedProfile {
  std::string profile, cache_dir;
  sandbox::IdMap idmap;
  std::vector<stages::PlannedStage> stages;
  std::unique_ptr<stages::RegistryCache> remote;
};

Result<PlannedProfile> PlanProfile(const CacheOptions& o, const char* flag) {
  BuildFlags f;
  f.profile = o.profile;
  f.cache_dir = o.cache_dir;
  f.single_id = o.single_id;
  std::string lock_note;
  auto setup = PreparePlan(f, &lock_note);
  if (!setup) return setup.take_error();
  if (stages::NeedsPackages(setup->profile) && setup->options.packages.packages.empty())
    return Error{o.profile + ": " + lock_note};
  auto plan = stages::Plan(setup->profile, setup->options);
  if (!plan) return plan.take_error();
  auto remote = Remote(o, setup->options.idmap);
  if (!remote) return Error{std::string(flag) + ": " + remote.error()};
  return PlannedProfile{setup->profile.name, setup->options.cache_dir, setup->options.idmap,
                        std::move(*plan), std::move(*remote)};
}

int Push(const CacheOptions& o) {
  auto setup = PlanProfile(o, "--to");
  auto cache = setup ? Cache::Open(setup->cache_dir, Cache::Access::kRead)
                     : Result<Cache>(setup.take_error());
  if (!cache) {
    log::Err(cache.error());
    return kExitFailed;
  }
  std::vector<engine::Entry> entries;
  std::vector<std::string> absent;
  for (const auto& s : setup->stages) {
    if (auto e = cache->Find(s.key, s.output))
      entries.push_back(std::move(*e));
    else
      absent.push_back(s.name);
  }
  auto r = stages::PushEntries(*setup->remote, entries);
  log::Info(
      setup->remote->Describe() + ": " + std::to_string(r.pushed) + " stages pushed (" +
      engine::FormatBytes(r.bytes) + "), " + std::to_string(r.present) + " there already" +
      (r.failed ? ", " + std::to_string(r.failed) + " failed" : "") +
      (absent.empty() ? "" : "; not in the local cache (build them first): " + Join(absent, " ")));
  return r.failed ? kExitFailed : kExitOk;
}

int Pull(const CacheOptions& o) {
  auto setup = PlanProfile(o, "--from");
  if (!setup) {
    log::Err(setup.error());
    return kExitFailed;
  }
  Cache::Options co;
  co.remove_tree = [idmap = setup->idmap](const std::string& path) {
    return sandbox::RemoveTreeInSandbox(idmap, path);
  };
  co.index_tree = sandbox::CacheIndexer(setup->idmap);
  if (auto st = MakeDirs(setup->cache_dir); !st) {
    log::Err(st.error());
    return kExitFailed;
  }
  auto cache = Cache::Open(setup->cache_dir, Cache::Access::kBuild, co);
  if (!cache) {
    log::Err(cache.error());
    return kExitFailed;
  }
  std::map<std::string, std::string> keys;
  for (const auto& s : setup->stages) keys[s.name] = s.key;
  std::vector<stages::WantedEntry> wanted;
  for (const auto& s : setup->stages) {
    stages::WantedEntry w{s.name, s.key, s.output, {}};
    for (const auto& p : s.parents) w.parents.push_back(keys[p]);
    wanted.push_back(std::move(w));
  }
  auto r = stages::PullEntries(*setup->remote, *cache, wanted, setup->profile);
  if (!r) {
    log::Err(r.error());
    return kExitFailed;
  }
  log::Info(setup->remote->Describe() + ": " + std::to_string(r->pulled) + " stages pulled, " +
            std::to_string(r->present) + " in the local cache already, " +
            std::to_string(r->missing) + " not in the registry" +
            (r->failed ? ", " + std::to_string(r->failed) + " refused" : ""));
  return r->failed ? kExitFailed : kExitOk;
}

int Usage(const std::vector<std::string>& extra) {
  std::vector<std::string> names = {"ls", "du", "prune", "verify", "push", "pull"};
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

A cache can be shared through an OCI registry: `imager build --cache-to REF` pushes a build's
stages, `--cache-from REF` takes the stages another machine built; `imager cache push` and
`pull` do the same for a profile without building, `imager cache ls --remote REF` lists what the
registry holds. REF: docker://HOST[:PORT]/REPO.

Example:
  imager cache ls
  imager cache du
  imager cache prune --keep-last 1 --dry-run
  imager cache verify
  imager cache push profiles/debian-live.yaml --to docker://registry.example:5000/imager-cache)";

constexpr const char* kLsHelp = R"(
Columns: key prefix, stage, kind (layer or artifact), size, age, time since last use, profile.

With --remote REF: the stage entries the registry repository holds (key, stage, kind, size).

Example:
  imager cache ls
  imager cache ls --json | jq '.[] | select(.stage == "rootfs") | .path'
  imager cache ls --remote docker://registry.example:5000/imager-cache)";

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

constexpr const char* kPushHelp = R"(
Pushes every stage of PROFILE's build that the local cache holds to the registry repository,
each as one manifest tagged with its key (what `imager build --cache-to` does after a build);
entries the repository has are skipped. The keys come from the lock beside the profile.

Example:
  imager cache push profiles/debian-live.yaml --to docker://registry.example:5000/imager-cache)";

constexpr const char* kPullHelp = R"(
Fetches every stage of PROFILE's build that the registry repository holds and the local cache
lacks, checks each blob against its digest and commits it like a build; builds nothing. A
later `imager build` of the profile then finds them. The keys come from the lock beside the
profile.

Example:
  imager cache pull profiles/debian-live.yaml --from docker://registry.example:5000/imager-cache)";

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
  ls->add_option("--remote", o->remote,
                 "List the stage entries of this registry repository (docker://HOST[:PORT]/REPO) "
                 "instead");
  AddRegistryFlags(ls, &o->registry);
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
  CLI::App* push = app->add_subcommand("push", "Push a profile's cached stages to a registry");
  cache_dir(push);
  push->add_option("profile", o->profile, "The profile (file or shipped name)")->required();
  push->add_option("--to", o->remote, "The registry repository: docker://HOST[:PORT]/REPO")
      ->required();
  push->add_flag("--single-id", o->single_id, "The stages of a --single-id build");
  AddRegistryFlags(push, &o->registry);
  push->footer(kPushHelp);
  CLI::App* pull = app->add_subcommand("pull", "Fetch a profile's stages from a registry");
  cache_dir(pull);
  pull->add_option("profile", o->profile, "The profile (file or shipped name)")->required();
  pull->add_option("--from", o->remote, "The registry repository: docker://HOST[:PORT]/REPO")
      ->required();
  pull->add_flag("--single-id", o->single_id, "The stages of a --single-id build");
  AddRegistryFlags(pull, &o->registry);
  pull->footer(kPullHelp);
  app->allow_extras();  // after the subcommands, which would inherit it: a typo gets a hint
  return [o, app, ls, du, prune, verify, push, pull] {
    if (!app->remaining().empty()) return Usage(app->remaining());
    if (ls->parsed()) return o->remote.empty() ? Ls(*o) : RemoteLs(*o);
    if (push->parsed()) return Push(*o);
    if (pull->parsed()) return Pull(*o);
    if (du->parsed()) return Du(*o);
    if (prune->parsed()) return Prune(*o);
    if (verify->parsed()) return Verify(*o);
    return Usage({});
  };
}

}  // namespace imager::cmd
