// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The build driver: turns a profile into its stage graph (base, configuration, scripts,
/// outputs), runs it on the cache and copies the outputs to the output directory. Behind
/// `imager build` and `imager shell`.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "profiles/profile.h"
#include "repo/lockfile.h"
#include "sandbox/idmap.h"
#include "stages/remote_cache.h"
#include "stages/stage.h"

namespace imager::stages {

/// The packages a rootfs stage installs, in the solver's install order, with the repositories
/// they were resolved from (the lock's).
struct PackageFiles {
  std::vector<repo::LockedPackage> packages;
  std::vector<std::string> paths;  // host path in the package cache of each package, same order
  std::vector<repo::LockedRepository> repositories;
  /// The build's time (BuildOptions::source_date_epoch), SOURCE_DATE_EPOCH for the package
  /// manager's scripts; set by the planner.
  int64_t source_date_epoch = -1;
};

/// True when the profile installs packages (and so needs a lock and fetched packages).
bool NeedsPackages(const profiles::Profile& profile);

/// What an incremental build (stages/incremental.h) installs: the last full build's packages as
/// they were (its packages layer, found in the cache by the same key) and what the lock has
/// beyond them.
struct IncrementalPlan {
  PackageFiles base;                      // the last full build's packages, paths from the lock
  std::vector<std::string> base_include;  // its profile's packages.include, as it was written
  PackageFiles added;                     // the rest of the lock, in the lock's order
  std::vector<std::string> asked;         // of the added, those packages.include names now
};

struct BuildOptions {
  std::string cache_dir;
  std::string out_dir;  // outputs and logs/
  std::vector<std::string> rebuild;
  int jobs = 0;  // PipelineOptions::jobs
  bool offline = false;
  int64_t source_date_epoch = -1;  // >= 0: clamp file times in outputs
  sandbox::IdMap idmap;
  PackageFiles packages;   // resolved and fetched, when NeedsPackages()
  PackageFiles tools;      // the tools tree's packages (profiles::ToolPackages), same
  PackageFiles installer;  // the installer layer's packages (the lock's `installer`), same
  // The offline repository's packages (the lock's `offline`), same (`offline` is --offline).
  PackageFiles offline_packages;
  /// --incremental: the added packages as a layer above the last full build's packages layer.
  std::optional<IncrementalPlan> incremental;
  /// --cache-from/--cache-to: stages fetched from and pushed to an OCI registry.
  RemoteCacheOptions remote;
};

/// The layer of the packages an incremental build adds (BuildOptions::incremental).
inline constexpr const char* kAddedPackages = "packages-added";

struct BuildResult {
  PipelineReport report;
  std::optional<PushReport> pushed;  // --cache-to
  bool incremental = false;  // the added packages went on the last full build's packages layer
  std::vector<std::string> layers;   // layer stage names, bottom first
  std::vector<std::string> outputs;  // files written to out_dir
};

/// Adds the profile's stages to `pipeline`; returns the layer stages in stacking order. Fails
/// (naming the profile field) when the profile asks for something no stage can build yet.
Result<std::vector<std::string>> PlanBuild(const profiles::Profile& profile,
                                           const BuildOptions& options, Pipeline* pipeline);

/// One stage of a planned build: what it is, what its key is made of, and whether the cache has
/// it. Keys are final only when the options carry the lock's packages.
struct PlannedStage {
  std::string name;
  int version = 1;
  OutputKind output = OutputKind::kLayer;
  std::vector<std::string> parents;
  std::vector<KeyInput> inputs;  // as the stage's options give them (content inputs: the path)
  std::string key;
  bool cached = false;
};

/// The build's stage graph, parents first, without running anything (`imager build --plan`);
/// the cache is only read.
Result<std::vector<PlannedStage>> Plan(const profiles::Profile& profile,
                                       const BuildOptions& options);

/// Every plan-time error of the profile (an output its family cannot build, an installer that is
/// not implemented, ...), each naming the profile field: each output is planned on its own, so
/// one error does not hide the next. Nothing is read from or written to any cache.
std::vector<std::string> PlanErrors(const profiles::Profile& profile);

/// The plan as text, one stage a paragraph: "NAME (layer|artifact) <- PARENTS", then its key
/// inputs' names; with `details`, each input's value (content inputs: the path), the key and
/// whether it is cached. Without details the text depends only on the profile and the lock's
/// package count (the golden files of the shipped profiles, stages/plan_test.cc).
std::string PlanText(const std::vector<PlannedStage>& plan, bool details);

/// Runs the whole build.
Result<BuildResult> Build(const profiles::Profile& profile, const BuildOptions& options,
                          ProgressSink& progress);

}  // namespace imager::stages
