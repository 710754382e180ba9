// SPDX-License-Identifier: GPL-3.0-or-later
// imager: builds bootable OS images from distribution packages without root.
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <iostream>

#include "base/log.h"
#include "base/proctitle.h"
#include "base/strings.h"
#include "cmd/verbs.h"
#include "sandbox/tools.h"

namespace imager::cmd {

const std::vector<Verb>& Verbs() {
  static const std::vector<Verb> kVerbs = {
      {"build", "Build a profile's images (cached, resumable)", SetupBuild},
      {"shell", "A shell on a build stage's tree, for debugging", SetupShell},
      {"run", "Run a command in the rootless sandbox (like bwrap)", SetupRun},
      {"check", "Check that this host can run rootless builds, and how to fix it", SetupCheck},
      {"profile", "Check, show and list build profiles", SetupProfile},
      {"resolve", "Solve a profile's packages into its lock file", SetupResolve},
      {"fetch", "Download a profile's locked packages into the package cache", SetupFetch},
      {"cache", "List, measure and prune the cache of stage outputs", SetupCache},
      {"boot", "Boot an ISO or disk image in QEMU (BIOS/UEFI), or test that it boots", SetupBoot},
      {"oci", "Export a root filesystem as an OCI image, or import one", SetupOci},
      {"iso", "Inspect, list and extract ISO images without mounting them", SetupIso},
      {"completion", "Print a shell completion script (bash, zsh, fish)", SetupCompletion},
      {"manpage", "Print a manual page (imager(1), or one verb's) as roff", SetupManpage},
      {"internal", "imager's helpers inside its sandbox", SetupInternal, true},
  };
  return kVerbs;
}

namespace {

constexpr const char* kVersion = IMAGER_VERSION;  // CMakeLists.txt's project(VERSION)

constexpr const char* kFooter = R"(Exit codes:
  0    success
  1    the operation failed (the message says why)
  2    bad command line
  3    imager check: the host lacks an essential feature
  125  the sandbox could not be set up
  126  the command in the sandbox is not executable
  127  the command was not found in the sandbox
  N    imager run: the command's own exit code; 128+N when it was killed by signal N

Run 'imager VERB --help' for a verb's options and an example.)";

// CLI11 would call an unknown verb an "extra argument"; catch it first and say what was meant.
int CheckVerb(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") return 0;
    if (a.empty() || a[0] == '-') continue;
    std::vector<std::string> names;
    for (const auto& v : Verbs()) {
      if (v.name == a) return 0;
      if (!v.hidden) names.emplace_back(v.name);
    }
    std::string hint = ClosestMatch(a, names);
    std::cerr << "imager: unknown verb '" << a << "'"
              << (hint.empty() ? "" : "; did you mean '" + hint + "'?") << "\n"
              << "Verbs: " << Join(names, ", ") << " (see 'imager --help')\n";
    return kExitUsage;
  }
  return 0;
}

}  // namespace

std::unique_ptr<CLI::App> MakeApp(GlobalOptions* global, Action* action) {
  auto app = std::make_unique<CLI::App>(
      "imager " + std::string(kVersion) +
      " - build bootable OS images from distribution packages, without root");
  app->footer(kFooter);
  app->set_version_flag("--version", std::string("imager ") + kVersion);
  app->add_flag("-v,--verbose", global->verbose, "More output (repeat for debug output)");
  app->add_flag("-q,--quiet", global->quiet, "Only errors");
  app->require_subcommand(1);
  for (const auto& v : Verbs()) {
    CLI::App* sub = app->add_subcommand(v.name, v.summary);
    Action a = v.setup(sub, global);
    sub->callback([action, a] { *action = a; });
  }
  return app;
}

int Main(int argc, char** argv) {
  if (int rc = CheckVerb(argc, argv)) return rc;
  GlobalOptions global;
  // CLI11 reorders and drops words after "--"; commands for the sandbox must arrive verbatim.
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--") != 0) continue;
    global.has_dashes = true;
    global.after_dashes.assign(argv + i + 1, argv + argc);
    argc = i;
    break;
  }
  Action action;
  auto app_ptr = MakeApp(&global, &action);
  CLI::App& app = *app_ptr;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  if (global.quiet)
    log::SetLevel(log::Level::kQuiet);
  else if (global.verbose >= 2)
    log::SetLevel(log::Level::kDebug);
  else if (global.verbose == 1)
    log::SetLevel(log::Level::kVerbose);
  return action ? action() : kExitUsage;
}

}  // namespace imager::cmd

int main(int argc, char** argv) {
  imager::RememberArgv(argc, argv);
  imager::sandbox::PinSelfExe();  // helpers run from this binary even if a rebuild replaces it
  // What imager creates (layer trees, the files its sandboxed scripts write into images) must
  // not depend on the caller's umask: with 077 the image's /etc/apt/sources.list became 0600.
  umask(022);
  return imager::cmd::Main(argc, argv);
}
