// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Options shared by the verbs that run a profile's pipeline (build, shell): loading the
/// profile, the cache and output directories, the id map and the progress display.

#include <CLI/CLI.hpp>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "engine/progress.h"
#include "oci/registry.h"
#include "profiles/profile.h"
#include "sandbox/spec.h"
#include "stages/build.h"

namespace imager::cmd {

struct BuildFlags {
  std::string profile;
  std::string out_dir;
  std::string cache_dir;
  std::string lockfile;  // --lock
  std::vector<std::string> rebuild;
  int jobs = 0;                      // stages at the same time; 0: processors (memory permitting)
  std::vector<std::string> formats;  // overrides the profile's output.formats
  bool offline = false;
  bool locked = false;
  bool json = false;
  bool plan = false;  // show the stage graph, run nothing
  bool single_id = false;
  bool incremental = false;  // added packages on the last full build's packages layer
  // A stage cache in an OCI registry (stages/remote_cache.h).
  std::string cache_from, cache_to;  // docker://HOST[:PORT]/REPO
  oci::RegistryOptions registry;     // --registry-ca, --registry-auth, --tls-verify
};

void AddBuildFlags(CLI::App* app, BuildFlags* f);

/// --registry-ca, --registry-auth and --tls-verify (imager build, imager cache push/pull/ls).
void AddRegistryFlags(CLI::App* app, oci::RegistryOptions* o);

struct PreparedBuild {
  profiles::Profile profile;
  stages::BuildOptions options;
  /// Where a full build records its packages for a later --incremental one (empty: no packages).
  std::string record_path;
};

/// Loads and checks the profile (printing its warnings), fills in directories and the id map.
Result<PreparedBuild> PrepareBuild(const BuildFlags& f);

/// The same for a plan (`imager build --plan`): the lock beside the profile when it still
/// matches (`lock_note` says which, or that there is none), nothing resolved, fetched or created.
Result<PreparedBuild> PreparePlan(const BuildFlags& f, std::string* lock_note);

std::unique_ptr<engine::ProgressSink> MakeProgressFor(bool json, bool quiet);

/// "SRC:DST[:ro|:rw]" (a --bind option) -> BindSpec with a canonical source.
Result<sandbox::BindSpec> ParseBind(const std::string& text);

}  // namespace imager::cmd
