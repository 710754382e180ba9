// SPDX-License-Identifier: GPL-3.0-or-later
#include "cmd/build_common.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "base/fs.h"
#include "base/log.h"
#include "profiles/loader.h"
#include "sandbox/hostcheck.h"

namespace imager::cmd {

void AddBuildFlags(CLI::App* app, BuildFlags* f) {
  app->add_option("profile", f->profile, "Profile file (YAML)")->required();
  app->add_option("-o,--output", f->out_dir, "Output directory (default: out/PROFILE-NAME)");
  app->add_option("--cache-dir", f->cache_dir, "Cache (default: $XDG_CACHE_HOME/imager)");
  app->add_flag("--offline", f->offline, "Use only what is in the cache; no network");
  app->add_flag("--json", f->json, "Progress as a JSON event stream on stdout");
}

Result<PreparedBuild> PrepareBuild(const BuildFlags& f) {
  auto profile = profiles::LoadProfile(f.profile);
  if (!profile) return profile.take_error();
  for (const auto& w : profile->warnings) log::Warn(w);
  PreparedBuild b{std::move(*profile), {}};
  stages::BuildOptions& o = b.options;
  o.cache_dir = f.cache_dir.empty() ? sandbox::DefaultCacheDir() : f.cache_dir;
  o.out_dir = f.out_dir.empty() ? "out/" + b.profile.name : f.out_dir;
  o.rebuild = f.rebuild;
  o.offline = f.offline;
  if (const char* sde = getenv("SOURCE_DATE_EPOCH"); sde && *sde) o.source_date_epoch = atoll(sde);
  for (const auto& dir : {o.cache_dir, o.out_dir})
    if (auto st = MakeDirs(dir); !st) return st.take_error();
  for (auto* dir : {&o.cache_dir, &o.out_dir}) {
    auto c = Canonical(*dir);
    if (!c) return c.take_error();
    *dir = *c;
  }
  std::string why;
  o.idmap = sandbox::DetectIdMap(&why, nullptr);
  if (o.idmap.mode == sandbox::IdMode::kSingle)
    log::Warn("single-id mode (" + why +
              "): files the image assigns to other users will belong to root; 'imager check' "
              "says how to get a subordinate id range");
  return b;
}

std::unique_ptr<stages::ProgressSink> MakeProgressFor(bool json, bool quiet) {
  if (json) return stages::MakeProgress(stages::ProgressStyle::kJson, STDOUT_FILENO);
  (void)quiet;
  return stages::MakeProgress(
      isatty(STDERR_FILENO) ? stages::ProgressStyle::kTty : stages::ProgressStyle::kPlain,
      STDERR_FILENO);
}

}  // namespace imager::cmd
