// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The table of imager's verbs: each verb lives in its own verb_<name>.cc and contributes one
/// Setup function that declares its options on a CLI11 subcommand and returns the action to run.

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <vector>

namespace imager::cmd {

/// Exit codes shared by all verbs (documented in `imager --help`).
enum ExitCode {
  kExitOk = 0,
  kExitFailed = 1,          // the operation failed; the message says why
  kExitUsage = 2,           // bad command line
  kExitHostNotReady = 3,    // `imager check`: an essential host feature is missing
  kExitSandboxSetup = 125,  // the sandbox could not be set up
  kExitNotExecutable = 126,
  kExitNotFound = 127,  // the command was not found inside the sandbox
};

struct GlobalOptions {
  int verbose = 0;
  bool quiet = false;
  std::vector<std::string> after_dashes;  // everything after the first "--", untouched
  bool has_dashes = false;
};

using Action = std::function<int()>;
using SetupFn = Action (*)(CLI::App* app, const GlobalOptions* global);

struct Verb {
  const char* name;
  const char* summary;
  SetupFn setup;
  bool hidden = false;  // imager's own helpers, not offered to users
};

const std::vector<Verb>& Verbs();

/// The whole command line as `imager` parses it: the global flags and one subcommand per verb,
/// whose callback stores the verb's action in *ACTION. The completion scripts and manual pages
/// are generated from it, so they list what the parser accepts.
std::unique_ptr<CLI::App> MakeApp(GlobalOptions* global, Action* action);

// One per verb file.
Action SetupRun(CLI::App* app, const GlobalOptions* global);
Action SetupCheck(CLI::App* app, const GlobalOptions* global);
Action SetupProfile(CLI::App* app, const GlobalOptions* global);
Action SetupResolve(CLI::App* app, const GlobalOptions* global);
Action SetupFetch(CLI::App* app, const GlobalOptions* global);
Action SetupBuild(CLI::App* app, const GlobalOptions* global);
Action SetupShell(CLI::App* app, const GlobalOptions* global);
Action SetupCache(CLI::App* app, const GlobalOptions* global);
Action SetupBoot(CLI::App* app, const GlobalOptions* global);
Action SetupOci(CLI::App* app, const GlobalOptions* global);
Action SetupIso(CLI::App* app, const GlobalOptions* global);
Action SetupInternal(CLI::App* app, const GlobalOptions* global);
Action SetupCompletion(CLI::App* app, const GlobalOptions* global);
Action SetupManpage(CLI::App* app, const GlobalOptions* global);

}  // namespace imager::cmd
