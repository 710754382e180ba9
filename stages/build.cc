// SPDX-License-Identifier: GPL-3.0-or-later
#include "stages/build.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/fd.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "families/family.h"
#include "sandbox/launch.h"
#include "sandbox/tools.h"
#include "stages/customize_stages.h"
#include "stages/iso_stages.h"
#include "stages/oci_stages.h"
#include "stages/outputs.h"
#include "stages/rootfs.h"
#include "stages/stage_util.h"

namespace imager::stages {
namespace {

using profiles::Profile;

struct BaseTarOptions {
  ContentPath tarball;
  static constexpr auto kFields = std::tuple{Field("tarball", &BaseTarOptions::tarball)};
};

Status RunBaseTar(StageContext& ctx, const BaseTarOptions& o) {
  auto spec = sandbox::InternalSpec(
      ctx.idmap(),
      {{o.tarball.path, "/in/base.tar", true}, {ctx.output_dir(), "/out", false, true}}, {},
      {"extract-tar", "/in/base.tar", "/out"});
  if (!spec) return spec.take_error();
  return RunLogged(*spec, ctx, "unpack " + o.tarball.path);
}

// Hard link when the output directory shares the cache's filesystem, copy otherwise. An output
// already linked to the entry stays (rename() between two links to one file does nothing and
// would leave the temporary name behind).
Status Publish(const std::string& from, const std::string& to) {
  std::string tmp = to + ".part";
  unlink(tmp.c_str());
  struct stat a, b;
  if (stat(from.c_str(), &a) == 0 && lstat(to.c_str(), &b) == 0 && a.st_dev == b.st_dev &&
      a.st_ino == b.st_ino)
    return {};
  if (link(from.c_str(), tmp.c_str()) != 0) {
    auto data = ReadFile(from);
    if (!data) return data.take_error();
    if (auto st = WriteFile(tmp, *data); !st) return st;
  }
  if (rename(tmp.c_str(), to.c_str()) != 0) return ErrnoError("rename " + tmp);
  return {};
}

}  // namespace

bool NeedsPackages(const Profile& p) {
  return !p.packages.include.empty() || p.base.kind == profiles::BaseKind::kNone;
}

Result<std::vector<std::string>> PlanBuild(const Profile& p, const BuildOptions& o,
                                           Pipeline* pipeline) {
  std::vector<std::string> layers;
  // What the image starts from: a tarball, an OCI image, or nothing.
  if (p.base.kind == profiles::BaseKind::kTar) {
    pipeline->Add(MakeStage({.name = "base"}, BaseTarOptions{{p.base.path}}, RunBaseTar));
    layers.push_back("base");
  } else if (p.base.kind == profiles::BaseKind::kOci) {
    auto base = BaseOciStage(p);
    if (!base) return base.take_error();
    pipeline->Add(std::move(*base));
    layers.push_back("base");
  }
  // The lock's packages, installed by the family's package manager.
  const families::Family& family = families::Of(p);
  if (NeedsPackages(p) && o.incremental) {
    // The last full build's packages layer (the same key: its packages, its include list), then
    // what was added, installed on top by the image's own package manager.
    if (!family.add_packages_stage)
      return Error{std::string("--incremental: adding packages to an installed system is not "
                               "implemented for the ") +
                   family.name + " family yet (build without --incremental)"};
    Profile base = p;
    base.packages.include = o.incremental->base_include;
    PackageFiles files = o.incremental->base;
    files.source_date_epoch = o.source_date_epoch;
    pipeline->Add(family.packages_stage(base, files, layers));
    layers.push_back("packages");
    PackageFiles added = o.incremental->added;
    added.source_date_epoch = o.source_date_epoch;
    pipeline->Add(
        family.add_packages_stage(p, added, layers, kAddedPackages, o.incremental->asked));
    layers.push_back(kAddedPackages);
  } else if (NeedsPackages(p)) {
    PackageFiles files = o.packages;
    files.source_date_epoch = o.source_date_epoch;
    pipeline->Add(family.packages_stage(p, files, layers));
    layers.push_back("packages");
  }
  // The profile's rootfs settings, one layer each: a changed setting rebuilds from its layer.
  auto add = [&](Stage s) {
    layers.push_back(s.name);
    pipeline->Add(std::move(s));
  };
  add(ConfigStage(p, layers));
  const auto& r = p.rootfs;
  if (!r.users.empty() || r.root_password.kind != profiles::Password::Kind::kNone)
    add(UsersStage(p, o.source_date_epoch, layers));
  if (!r.files.empty()) add(FilesStage(p, layers));
  if (!r.services.enable.empty() || !r.services.disable.empty()) add(ServicesStage(p, layers));
  if (!r.run.empty()) add(ScriptsStage(p, layers));
  // Every output the profile asks for, from the outputs table.
  if (auto st = PlanOutputs(p, o, &layers, pipeline); !st) return st.take_error();
  return layers;
}

namespace {

PipelineOptions PipelineOptionsFor(const Profile& p, const BuildOptions& o) {
  return {.log_dir = o.out_dir + "/logs",
          .profile = p.name,
          .rebuild = o.rebuild,
          .common_inputs = {KeyInput::Value(
              "idmode", o.idmap.mode == sandbox::IdMode::kSingle ? "single" : "range")},
          .stage_timeout = p.build.stage_timeout,
          .memory_limit = static_cast<uint64_t>(p.build.memory_limit_mib) << 20,
          .idmap = o.idmap,
          .jobs = o.jobs};
}

}  // namespace

Result<std::vector<PlannedStage>> Plan(const Profile& p, const BuildOptions& o) {
  auto cache = Cache::Open(o.cache_dir, Cache::Access::kRead);
  if (!cache) return cache.take_error();
  auto sink = engine::MakeProgress(engine::ProgressStyle::kPlain, -1);
  Pipeline pipeline(*cache, *sink, PipelineOptionsFor(p, o));
  if (auto layers = PlanBuild(p, o, &pipeline); !layers) return layers.take_error();
  auto keys = pipeline.Keys();
  if (!keys) return keys.take_error();
  std::vector<PlannedStage> out;
  for (const auto& [name, key] : *keys)
    for (const auto& s : pipeline.stages())
      if (s.name == name)
        out.push_back({s.name, s.version, s.output, s.parents, s.inputs, key,
                       cache->Find(key, s.output).has_value()});
  return out;
}

std::vector<std::string> PlanErrors(const Profile& p) {
  char tmpl[] =
      "/tmp/imager-plan-XXXXXX";  // an empty cache: Pipeline needs one, planning reads none
  if (!mkdtemp(tmpl)) return {std::string("plan: mkdtemp: ") + strerror(errno)};
  std::vector<std::string> errors;
  {
    auto cache = Cache::Open(tmpl, Cache::Access::kRead);
    auto sink = engine::MakeProgress(engine::ProgressStyle::kPlain, -1);
    std::vector<std::vector<profiles::Format>> each;
    for (auto f : p.output.formats) each.push_back({f});
    if (each.empty()) each.push_back({});
    for (const auto& formats : each) {
      if (!cache) {
        errors.push_back(cache.error());
        break;
      }
      Profile one = p;
      one.output.formats = formats;
      BuildOptions o;
      Pipeline pipeline(*cache, *sink, {});
      if (auto layers = PlanBuild(one, o, &pipeline); !layers)
        if (std::find(errors.begin(), errors.end(), layers.error()) == errors.end())
          errors.push_back(layers.error());
    }
  }
  if (auto st = RemoveTree(tmpl); !st) errors.push_back(st.error());
  return errors;
}

std::string PlanText(const std::vector<PlannedStage>& plan, bool details) {
  std::string out;
  for (const auto& s : plan) {
    out += s.name + " (" + engine::KindName(s.output) + ")";
    if (!s.parents.empty()) out += " <- " + Join(s.parents, " ");
    if (details) out += "\n  key " + s.key + (s.cached ? " (cached)" : " (to build)");
    out += "\n";
    for (const auto& in : s.inputs) {
      out += "  " + std::string(in.kind == KeyInput::Kind::kContent ? "content " : "") + in.name;
      if (details) {
        std::string v = in.value;
        if (v.size() > 72 || v.find('\n') != std::string::npos)
          v = "sha256:" + Sha256Hex(v).substr(0, 16) + " (" + std::to_string(v.size()) + " bytes)";
        out += " = " + v;
      }
      out += "\n";
    }
  }
  return out;
}

Result<BuildResult> Build(const Profile& p, const BuildOptions& o, ProgressSink& progress) {
  Cache::Options cache_options;
  cache_options.remove_tree = [idmap = o.idmap](const std::string& path) {
    return sandbox::RemoveTreeInSandbox(idmap, path);  // layers may hold subordinate owners
  };
  cache_options.index_tree = sandbox::CacheIndexer(o.idmap);
  auto cache = Cache::Open(o.cache_dir, Cache::Access::kBuild, cache_options);
  if (!cache) return cache.take_error();
  BuildOptions options = o;
  if (options.incremental) {
    // Only on the last full build's packages layer as it is in the cache; else a full build.
    Pipeline trial(*cache, progress, PipelineOptionsFor(p, options));
    if (auto planned = PlanBuild(p, options, &trial); !planned) return planned.take_error();
    auto keys = trial.Keys();
    if (!keys) return keys.take_error();
    for (const auto& [name, key] : *keys)
      if (name == "packages" && !cache->Find(key, OutputKind::kLayer)) {
        log::Info(
            "--incremental: the last full build's packages layer is no longer in the cache; "
            "building in full");
        options.incremental.reset();
      }
  }
  // The registries, checked before anything is built: a wrong reference is the user's to fix.
  std::unique_ptr<RegistryCache> pull_from, push_to;
  for (auto [ref, flag, out] : {std::tuple{&o.remote.from, "--cache-from", &pull_from},
                                std::tuple{&o.remote.to, "--cache-to", &push_to}}) {
    if (ref->empty()) continue;
    auto c = RegistryCache::Make(*ref, o.remote.registry, o.idmap);
    if (!c) return Error{std::string(flag) + ": " + c.error()};
    *out = std::move(*c);
  }
  PipelineOptions pipeline_options = PipelineOptionsFor(p, options);
  pipeline_options.remote = pull_from.get();
  Pipeline pipeline(*cache, progress, pipeline_options);
  BuildResult result;
  result.incremental = options.incremental.has_value();
  auto layers = PlanBuild(p, options, &pipeline);
  if (!layers) return layers.take_error();
  result.layers = *layers;
  auto report = pipeline.Run();
  if (!report) return report.take_error();
  result.report = *report;
  // What the profile asked for, from the cache into the output directory.
  for (const auto& pub : Publications(p)) {
    const StageReport* s = report->Find(pub.stage);
    if (!s) return Error{"internal: no stage " + pub.stage + " ran for " + pub.name};
    std::string to = o.out_dir + "/" + pub.name;
    auto st =
        pub.tree ? PublishTree(s->dir + "/" + pub.name, to) : Publish(s->dir + "/" + pub.name, to);
    if (!st) return st.take_error();
    result.outputs.push_back(to);
  }
  // Every stage of the build, built or cached, for the next builder; failures are warnings.
  if (push_to) {
    log::Info("pushing " + std::to_string(report->stages.size()) + " stages to " +
              push_to->Describe());
    std::vector<engine::Entry> entries;
    for (const auto& s : report->stages)
      for (const auto& stage : pipeline.stages())
        if (stage.name == s.name)
          if (auto e = cache->Find(s.key, stage.output)) entries.push_back(std::move(*e));
    result.pushed = PushEntries(*push_to, entries);
  }
  return result;
}

}  // namespace imager::stages
