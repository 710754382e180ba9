// SPDX-License-Identifier: GPL-3.0-or-later
// imager shell: an interactive shell on a stage's tree, for debugging a build.
#include <unistd.h>

#include <memory>

#include "base/fs.h"
#include "base/log.h"
#include "base/strings.h"
#include "cmd/build_common.h"
#include "cmd/verbs.h"
#include "sandbox/launch.h"
#include "sandbox/tools.h"
#include "stages/build.h"

extern char** environ;

namespace imager::cmd {
namespace {

struct ShellFlags {
  BuildFlags build;
  std::string stage;
  std::vector<std::string> binds;
  std::vector<std::string> setenv;
};

// The layers up to and including `stage` (default: all), bottom first.
Result<std::vector<std::string>> LayerDirs(const stages::BuildResult& r, const std::string& stage) {
  std::vector<std::string> dirs;
  for (const auto& name : r.layers) {
    const engine::StageReport* s = r.report.Find(name);
    if (!s) return Error{"stage " + name + " did not run"};
    dirs.push_back(s->dir);
    if (name == stage) return dirs;
  }
  if (!stage.empty())
    return Error{"--stage " + stage +
                 ": not a layer of this build (layers: " + Join(r.layers, ", ") + ")"};
  return dirs;
}

int ShellMain(const ShellFlags& f, const std::vector<std::string>& command) {
  auto setup = PrepareBuild(f.build);
  if (!setup) {
    log::Err(setup.error());
    return kExitFailed;
  }
  auto progress = MakeProgressFor(false, false);
  auto built = stages::Build(setup->profile, setup->options, *progress);
  if (!built) {
    log::Err(built.error());
    return kExitFailed;
  }
  auto layers = LayerDirs(*built, f.stage);
  if (!layers) {
    log::Err(layers.error());
    return kExitUsage;
  }
  // Changes made in the shell go to a throwaway upper, never into the cache.
  auto scratch = MakeTempDir(setup->options.cache_dir, "shell-");
  if (!scratch) {
    log::Err(scratch.error());
    return kExitFailed;
  }
  sandbox::SandboxSpec spec;
  spec.idmap = setup->options.idmap;
  spec.root.kind = sandbox::RootSpec::Kind::kOverlay;
  spec.root.lowers = *layers;
  spec.root.upper = *scratch + "/upper";
  spec.root.work = *scratch + "/work";
  // Single-id mode: the layers' recorded owners are what ls and stat show, and a chown in the
  // shell is recorded (in the throwaway upper) like one in a build.
  spec.root.record_owners = true;
  for (const auto& d : {spec.root.upper, spec.root.work}) (void)MakeDirs(d);
  spec.interactive = true;
  spec.capabilities = sandbox::DefaultCapabilities();
  spec.env = sandbox::DefaultEnvironment(environ);
  for (const auto& kv : f.setenv) {
    if (kv.find('=') == std::string::npos || kv[0] == '=') {
      log::Err("--setenv '" + kv + "': expected KEY=VALUE");
      return kExitUsage;
    }
    spec.env.push_back(kv);
  }
  for (const auto& b : f.binds) {
    auto bind = ParseBind(b);
    if (!bind) {
      log::Err(bind.error());
      return kExitUsage;
    }
    spec.binds.push_back(*bind);
  }
  spec.argv = command.empty() ? std::vector<std::string>{"/bin/sh"} : command;
  log::Info("shell on " + (f.stage.empty() ? "the last layer" : f.stage) +
            "; changes are discarded on exit");
  auto st = sandbox::Launch(spec);
  if (auto rm = sandbox::RemoveTreeInSandbox(spec.idmap, *scratch); !rm)
    log::Warn("cleanup: " + rm.error());
  if (!st) {
    log::Err("sandbox: " + st.error());
    return kExitSandboxSetup;
  }
  if (!st->message.empty()) log::Err(st->message);
  return st->ShellCode();
}

}  // namespace

Action SetupShell(CLI::App* app, const GlobalOptions* global) {
  auto f = std::make_shared<ShellFlags>();
  app->footer(R"(
Builds what is not cached, then starts a shell (or COMMAND) in the sandbox with the image's
layers up to --stage as /. Changes are thrown away when the shell exits.

Examples:
  imager shell my.yaml                        # the finished image
  imager shell my.yaml --stage config         # as it was before the scripts ran
  imager shell my.yaml -- cat /etc/hostname
  # an installer's live session with the host's X server
  imager shell installer.yaml --bind /tmp/.X11-unix:/tmp/.X11-unix --setenv DISPLAY=:1 -- calamares)");
  AddBuildFlags(app, &f->build);
  app->add_option("--stage", f->stage, "Layer stage to stop at (default: the last one)");
  app->add_option("--bind", f->binds, "Bind host SRC at DST inside: SRC:DST[:ro] (repeat)");
  app->add_option("--setenv", f->setenv, "Set KEY=VALUE in the command's environment (repeat)");
  return [f, global] { return ShellMain(*f, global->after_dashes); };
}

}  // namespace imager::cmd
