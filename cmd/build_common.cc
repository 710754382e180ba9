// SPDX-License-Identifier: GPL-3.0-or-later
#include "cmd/build_common.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>

#include "base/fs.h"
#include "base/log.h"
#include "base/strings.h"
#include "cmd/lock_common.h"
#include "formats/tar.h"
#include "oci/layout.h"
#include "profiles/catalog.h"
#include "profiles/loader.h"
#include "repo/curl_fetcher.h"
#include "repo/lockfile.h"
#include "repo/progress_bar.h"
#include "repo/resolve.h"
#include "sandbox/hostcheck.h"
#include "stages/incremental.h"

namespace imager::cmd {

void AddBuildFlags(CLI::App* app, BuildFlags* f) {
  AddProfileCacheLock(app, &f->profile, &f->cache_dir, &f->lockfile);
  app->add_option("-o,--output", f->out_dir, "Output directory (default: out/PROFILE-NAME)");
  app->add_flag("--offline", f->offline, "Use only what is in the cache; no network");
  app->add_option("--format", f->formats,
                  "Write these outputs instead of the profile's output.formats (repeat: --format "
                  "tar --format squashfs)");
  app->add_flag("--locked", f->locked,
                "Install exactly what the lock file says; fail if it is missing or no longer "
                "matches the profile");
  app->add_flag("--json", f->json, "Progress as a JSON event stream on stdout");
  app->add_flag("--single-id", f->single_id,
                "Map only your own id even if you have a subordinate range (what a user without "
                "one, or a container without privileges, gets): the owners packages set are "
                "recorded on the layers instead of being real");
}

void AddRegistryFlags(CLI::App* app, oci::RegistryOptions* o) {
  app->add_option("--registry-ca", o->ca_file,
                  "Trust the registry's certificate from this CA bundle (PEM)")
      ->envname("IMAGER_REGISTRY_CA");
  app->add_option("--registry-auth", o->auth_file,
                  "Credentials file (auth.json); default: $REGISTRY_AUTH_FILE, "
                  "$XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json (what podman login "
                  "and docker login write)");
  app->add_option("--tls-verify", o->tls_verify,
                  "false: talk to the registry over plain HTTP or without checking its "
                  "certificate (a test registry on this machine)")
      ->envname("IMAGER_TLS_VERIFY");
}

namespace {

// What dates a build from a base and no repository: the OCI image's "created", else its newest
// file; the same base gives the same time, so the same bytes.
Result<int64_t> BaseEpoch(const profiles::Profile& p) {
  std::string tarball = p.base.path;
  if (p.base.kind == profiles::BaseKind::kOci) {
    auto image = oci::Read(p.base.path, p.base.tag, {.verify_layers = false});
    if (!image) return Error{p.Where("base").ToString() + ": base.oci: " + image.error()};
    if (image->config.created > 0) return image->config.created;
    if (image->layers.empty()) return -1;
    tarball = oci::BlobPath(p.base.path, image->layers.back().digest);
  } else if (p.base.kind != profiles::BaseKind::kTar) {
    return -1;
  }
  auto t = formats::tar::NewestMtime(tarball);
  if (!t) return Error{p.Where("base").ToString() + ": " + t.error()};
  return *t;
}

// A Release "Date:" ("Sat, 10 Jun 2023 08:55:34 UTC") as Unix seconds, or -1.
int64_t ParseHttpDate(const std::string& text) {
  struct tm tm {};
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
  if (!end) return -1;
  return static_cast<int64_t>(timegm(&tm));
}

// A locked repository's date as Unix seconds, or -1: a Release's Date, or an rpm-md
// repository's newest repomd timestamp (digits).
int64_t RepositoryEpoch(const std::string& date) {
  if (!date.empty() && std::all_of(date.begin(), date.end(), [](char c) { return isdigit(c); }))
    return std::strtoll(date.c_str(), nullptr, 10);
  return ParseHttpDate(date);
}

// The profile's lock at lock_path (reused when it still matches, else resolved again and
// rewritten) and every locked package verified in the package cache.
Status ObtainPackages(const profiles::Profile& profile, const BuildFlags& f,
                      const std::string& lock_path, stages::BuildOptions* o) {
  const std::string& cache_dir = o->cache_dir;
  LockContext c;
  c.profile = profile;
  c.cache_dir = cache_dir;
  c.lock_path = lock_path;
  if (!f.offline) {
    auto fo = FetchOptionsFromEnv();
    if (!fo) return fo.take_error();
    c.fetcher = repo::MakeCurlFetcher(*fo);
  }
  LockFlags lf{.profile = f.profile,
               .cache_dir = cache_dir,
               .lockfile = c.lock_path,
               .offline = f.offline,
               .locked = f.locked};
  auto out = ObtainLock(c, lf, true);
  if (!out) return out.take_error();
  if (out->resolved) log::Info("resolved " + profile.name + "; wrote " + c.lock_path);
  if (!out->changes.empty()) log::Info("package changes: " + out->changes);
  repo::FetchPackagesOptions fo{
      .cache_dir = cache_dir, .offline = f.offline, .fetcher = c.fetcher.get()};
  if (!f.json) fo.progress = repo::MakeProgressBar(STDERR_FILENO);
  auto got = repo::FetchPackages(out->lock, fo);
  fo.progress = nullptr;
  if (!got) return got.take_error();
  // The paths come in the lock's order: packages, tools, installer, offline.
  auto at = got->paths.begin();
  for (auto [list, files] :
       {std::pair{&out->lock.packages, &o->packages}, std::pair{&out->lock.tools, &o->tools},
        std::pair{&out->lock.installer, &o->installer},
        std::pair{&out->lock.offline, &o->offline_packages}}) {
    auto end = at + static_cast<ptrdiff_t>(list->size());
    *files = {*list, {at, end}, out->lock.repositories};
    at = end;
  }
  return {};
}

}  // namespace

namespace {

// The profile with --format applied, and the directories: what a build and a plan share.
Result<PreparedBuild> LoadForBuild(const BuildFlags& f, bool create_dirs) {
  auto file = profiles::ResolveProfileArg(f.profile);
  if (!file) return file.take_error();
  auto profile = profiles::LoadProfile(*file);
  if (!profile) return profile.take_error();
  for (const auto& w : profile->warnings) log::Warn(w);
  PreparedBuild b{std::move(*profile), {}};
  if (!f.formats.empty()) {
    b.profile.output.formats.clear();
    for (const auto& name : f.formats) {
      auto fmt = profiles::ParseEnum<profiles::Format>(name);
      if (!fmt) {
        std::vector<std::string> allowed;
        for (const auto& [v, n] : profiles::EnumNames<profiles::Format>()) allowed.push_back(n);
        return Error{"--format " + name +
                     ": unknown output format (allowed: " + Join(allowed, ", ") + ")"};
      }
      b.profile.output.formats.push_back(*fmt);
    }
  }
  stages::BuildOptions& o = b.options;
  o.cache_dir = f.cache_dir.empty() ? sandbox::DefaultCacheDir() : f.cache_dir;
  o.out_dir = f.out_dir.empty() ? "out/" + b.profile.name : f.out_dir;
  o.rebuild = f.rebuild;
  o.jobs = f.jobs;
  o.remote.from = f.cache_from;
  o.remote.to = f.cache_to;
  o.remote.registry = f.registry;
  o.offline = f.offline;
  if (const char* sde = getenv("SOURCE_DATE_EPOCH"); sde && *sde) o.source_date_epoch = atoll(sde);
  if (o.source_date_epoch < 0 && !stages::NeedsPackages(b.profile)) {
    auto t = BaseEpoch(b.profile);
    if (!t) return t.take_error();
    o.source_date_epoch = *t;
  }
  if (!create_dirs) return b;
  if (auto st = MakeDirs(o.cache_dir); !st)
    return Error{st.error() + " (the cache directory; give another with --cache-dir DIR)"};
  if (auto st = MakeDirs(o.out_dir); !st)
    return Error{st.error() + (f.out_dir.empty() ? " (the default output directory " + o.out_dir +
                                                       " of the current directory; give one "
                                                       "with -o DIR)"
                                                 : " (the output directory given with -o)")};
  for (auto* dir : {&o.cache_dir, &o.out_dir}) {
    auto c = Canonical(*dir);
    if (!c) return c.take_error();
    *dir = *c;
  }
  return b;
}

}  // namespace

namespace {

// --incremental: the added packages on the recorded last full build, or a full build and why.
void PlanIncremental(PreparedBuild& b) {
  const std::string full =
      "; a full build instead (cached stages are reused; a later --incremental build adds to it)";
  auto record = repo::ReadLock(b.record_path);
  if (!record) {
    log::Info("--incremental: no full build of this lock in the cache yet" + full);
    return;
  }
  auto plan = stages::PlanIncremental(*record, b.options.packages, b.profile.packages.include);
  if (!plan) {
    log::Info("--incremental: " + plan.error() + full);
    return;
  }
  std::vector<std::string> names;
  for (const auto& p : plan->added.packages) names.push_back(p.name);
  log::Info("--incremental: " + std::to_string(names.size()) + " package(s) added on the last " +
            "full build's packages (" + Join(names, " ") +
            "); the images are not the bytes a full build gives");
  b.options.incremental = std::move(*plan);
}

}  // namespace

Result<PreparedBuild> PrepareBuild(const BuildFlags& f) {
  auto b = LoadForBuild(f, /*create_dirs=*/true);
  if (!b) return b.take_error();
  stages::BuildOptions& o = b->options;
  if (stages::NeedsPackages(b->profile)) {
    std::string lock_path = LockPathOf(b->profile, f.lockfile, o.out_dir);
    if (auto st = ObtainPackages(b->profile, f, lock_path, &o); !st) return st.take_error();
    // Without SOURCE_DATE_EPOCH, the archive's date pins file times: the same lock gives the
    // same image.
    if (o.source_date_epoch < 0 && !o.packages.repositories.empty())
      o.source_date_epoch = RepositoryEpoch(o.packages.repositories[0].date);
    if (auto c = Canonical(lock_path)) lock_path = *c;
    b->record_path = stages::RecordPath(o.cache_dir, lock_path);
    if (f.incremental) PlanIncremental(*b);
  }
  std::string why = "--single-id";
  o.idmap = f.single_id ? sandbox::ComputeIdMap(getuid(), getgid(), {}, {})
                        : sandbox::DetectIdMap(&why, nullptr);
  if (o.idmap.mode == sandbox::IdMode::kSingle)
    log::Info("single-id mode (" + why +
              "): the owners packages set are recorded on the layers and applied to the "
              "images ('imager check' tells more)");
  return b;
}

Result<PreparedBuild> PreparePlan(const BuildFlags& f, std::string* lock_note) {
  auto b = LoadForBuild(f, /*create_dirs=*/false);
  if (!b) return b.take_error();
  stages::BuildOptions& o = b->options;
  std::string why;
  o.idmap = f.single_id ? sandbox::ComputeIdMap(getuid(), getgid(), {}, {})
                        : sandbox::DetectIdMap(&why, nullptr);
  if (!stages::NeedsPackages(b->profile)) return b;
  // The lock's packages when there is a lock that still matches; nothing is resolved or fetched.
  std::string path = LockPathOf(b->profile, f.lockfile, o.out_dir);
  auto lock = repo::ReadLock(path);
  if (!lock || !repo::Matches(*lock, repo::RequestOf(b->profile))) {
    *lock_note = "no lock that matches the profile (" + path +
                 "): package stages are planned without packages and their keys are not final; "
                 "'imager resolve' writes one";
    return b;
  }
  *lock_note = "lock " + path;
  for (auto [list, files] :
       {std::pair{&lock->packages, &o.packages}, std::pair{&lock->tools, &o.tools},
        std::pair{&lock->installer, &o.installer}, std::pair{&lock->offline, &o.offline_packages}})
    *files = {*list, {}, lock->repositories};
  if (o.source_date_epoch < 0 && !lock->repositories.empty())
    o.source_date_epoch = RepositoryEpoch(lock->repositories[0].date);
  return b;
}

std::unique_ptr<engine::ProgressSink> MakeProgressFor(bool json, bool quiet) {
  if (json) return engine::MakeProgress(engine::ProgressStyle::kJson, STDOUT_FILENO);
  (void)quiet;
  return engine::MakeProgress(
      isatty(STDERR_FILENO) ? engine::ProgressStyle::kTty : engine::ProgressStyle::kPlain,
      STDERR_FILENO);
}

Result<sandbox::BindSpec> ParseBind(const std::string& text) {
  auto parts = Split(text, ':');
  sandbox::BindSpec b;
  if (parts.size() == 3 && (parts[2] == "ro" || parts[2] == "rw")) {
    b.readonly = parts[2] == "ro";
    parts.pop_back();
  }
  if (parts.size() != 2 || parts[0].empty() || parts[1].empty())
    return Error{"--bind '" + text + "': expected SRC:DST or SRC:DST:ro"};
  auto src = Canonical(parts[0]);
  if (!src) return Error{"--bind '" + text + "': source " + src.error()};
  b.source = *src;
  b.target = parts[1];
  if (b.target[0] != '/') return Error{"--bind '" + text + "': DST must be absolute"};
  return b;
}

}  // namespace imager::cmd
