// SPDX-License-Identifier: GPL-3.0-or-later
// imager build: a profile's images, through the stage pipeline and its cache.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "base/log.h"
#include "base/strings.h"
#include "cmd/build_common.h"
#include "cmd/verbs.h"
#include "stages/build.h"
#include "stages/incremental.h"
#include "stages/outputs.h"

#include <nlohmann/json.hpp>

namespace imager::cmd {
namespace {

// The stage graph, nothing run: text, or JSON with every input's value.
int PlanMain(const BuildFlags& f) {
  std::string lock_note;
  auto setup = PreparePlan(f, &lock_note);
  if (!setup) {
    log::Err(setup.error());
    return kExitFailed;
  }
  auto plan = stages::Plan(setup->profile, setup->options);
  if (!plan) {
    log::Err(plan.error());
    return kExitFailed;
  }
  if (!f.json) {
    std::cout << "# " << setup->profile.name << ": " << plan->size() << " stages; " << lock_note
              << "\n"
              << stages::PlanText(*plan, /*details=*/true);
    return kExitOk;
  }
  nlohmann::ordered_json out = {{"profile", setup->profile.name}, {"lock", lock_note}};
  out["stages"] = nlohmann::ordered_json::array();
  for (const auto& s : *plan) {
    nlohmann::ordered_json inputs = nlohmann::ordered_json::array();
    for (const auto& in : s.inputs)
      inputs.push_back({{"name", in.name},
                        {"kind", in.kind == engine::KeyInput::Kind::kContent ? "content" : "value"},
                        {"value", in.value}});
    out["stages"].push_back({{"name", s.name},
                             {"output", engine::KindName(s.output)},
                             {"version", s.version},
                             {"parents", s.parents},
                             {"key", s.key},
                             {"cached", s.cached},
                             {"inputs", inputs}});
  }
  std::cout << out.dump(2) << "\n";
  return kExitOk;
}

int BuildMain(const BuildFlags& f, const GlobalOptions* g) {
  if (f.plan) return PlanMain(f);
  auto setup = PrepareBuild(f);
  if (!setup) {
    log::Err(setup.error());
    return kExitFailed;
  }
  auto progress = MakeProgressFor(f.json, g->quiet);
  auto result = stages::Build(setup->profile, setup->options, *progress);
  if (!result) {
    log::Err(result.error());
    return kExitFailed;
  }
  // Named in the plan's order, whichever ran first: the same build gives the same line.
  std::vector<std::string> built, cached;
  size_t remote = 0;
  for (const auto& s : result->report.stages) {
    (s.cached ? cached : built).push_back(s.name);
    remote += s.remote;
  }
  auto names = [](const std::vector<std::string>& v) {
    return v.empty() ? std::string() : " (" + Join(v, " ") + ")";
  };
  // A full build of the lock is what a later --incremental build adds packages to.
  if (!result->incremental && !setup->record_path.empty())
    if (auto st = stages::WriteRecord(setup->record_path, setup->options.packages,
                                      setup->profile.packages.include);
        !st)
      log::Warn("--incremental will build in full next time: " + st.error());
  if (!f.json) {
    for (const auto& out : result->outputs) std::cout << out << "\n";
    log::Info(std::to_string(result->report.stages.size()) + " stages, " +
              std::to_string(built.size()) + " built" + names(built) + ", " +
              std::to_string(cached.size()) + " from the cache" + names(cached) +
              (remote ? " (" + std::to_string(remote) + " of them from --cache-from)" : "") +
              "; logs in " + setup->options.out_dir + "/logs");
    if (const auto& p = result->pushed)
      log::Info("--cache-to: " + std::to_string(p->pushed) + " stages pushed (" +
                engine::FormatBytes(p->bytes) + "), " + std::to_string(p->present) +
                " there already" +
                (p->failed ? ", " + std::to_string(p->failed) + " failed (see the warnings)" : ""));
  }
  return kExitOk;
}

}  // namespace

Action SetupBuild(CLI::App* app, const GlobalOptions* global) {
  auto f = std::make_shared<BuildFlags>();
  std::string formats;
  for (const auto& o : stages::OutputFormats()) {
    std::string name = o.name;
    name.resize(std::max<size_t>(name.size() + 1, 13), ' ');
    formats += "  " + name + o.help + "\n";
  }
  app->footer("\nOutput formats (output.formats, or --format):\n" + formats + R"(
Stages: resolve + fetch (the lock file beside the profile is reused while it matches), then
packages (or base), config, users, files, services, scripts (each a layer, present when the
profile asks for it), then the output formats' stages; an installer adds installer-packages,
installer-config and installer-check above the target. A live ISO carries an image per layer
(squashfs-packages, squashfs-config, ...), so a change above the packages rewrites only the
small images above them: a new ISO in seconds, the same bytes as a cold build (with the
squashfs output or an installer, the ISO carries the one merged image instead). `--plan` prints
the graph without running it. With --incremental, packages added to the profile are installed
as a layer of their own (packages-added) on the last full build's packages: the same packages,
not the same bytes. Each stage's output is cached by a key made of its inputs; an
unchanged stage is reused, so a second build of an unchanged profile does no work. A killed
build leaves the cache as it was after the last completed stage. Logs: OUTDIR/logs/STAGE.log.
File times are clamped to SOURCE_DATE_EPOCH, by default the archive's Release date, so the same
lock gives the same bytes.

Examples:
  imager build profiles/debian-live.yaml              # the default profile's live ISO
  imager boot out/debian-live/debian-live.iso --serial  # ...booted in QEMU
  imager build profiles/debian-live.yaml --format tar   # its root filesystem as a tarball
  imager build debian-live --plan                     # the stages, their keys, what is cached
  imager build my.yaml -o out --rebuild scripts      # rerun one stage (and what follows)
  imager build my.yaml --json | jq .                 # machine-readable progress
  imager build my.yaml --incremental                 # after adding a package: seconds, not bytes
  imager build my.yaml --cache-from docker://reg:5000/imager-cache   # stages another machine built
  imager build profiles/debian-installer.yaml      # a Calamares installer ISO)");
  AddBuildFlags(app, f.get());
  app->add_option("--rebuild", f->rebuild, "Rebuild STAGE even if cached (repeat)");
  app->add_option("-j,--jobs", f->jobs,
                  "Run at most N stages at the same time (default: one per processor, fewer when "
                  "memory is short; 1: one after the other). The outputs do not depend on it")
      ->check(CLI::Range(1, 64));
  app->add_flag("--incremental", f->incremental,
                "Install packages added to the profile on top of the last full build's packages "
                "layer instead of installing every package again (seconds, not minutes). The "
                "image holds the same packages but is not the same bytes as a full build: for "
                "trying changes, not for releases. Falls back to a full build, saying why, when "
                "a package changed or went away");
  app->add_option("--cache-from", f->cache_from,
                  "Before building a stage the local cache lacks, fetch it from this OCI registry "
                  "repository (docker://HOST[:PORT]/REPO) if it has it: another machine's build "
                  "of the same stage. Unreachable or refused: a warning and a local build")
      ->envname("IMAGER_CACHE_FROM");
  app->add_option("--cache-to", f->cache_to,
                  "After the build, push every stage of it (built or cached) that the repository "
                  "lacks, each tagged with its key; a push that fails is a warning")
      ->envname("IMAGER_CACHE_TO");
  AddRegistryFlags(app, &f->registry);
  app->add_flag("--plan", f->plan,
                "Show the stage graph (names, parents, key inputs, key, cached or not) and run "
                "nothing; with --json as JSON");
  return [f, global] { return BuildMain(*f, global); };
}

}  // namespace imager::cmd
