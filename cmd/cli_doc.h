// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The command line as data, read from the parser itself (MakeApp): every visible verb, its
/// subcommands, options and positional arguments. The completion scripts and the manual pages
/// are generated from it, so they cannot list an option the parser lacks or miss one it has.

#include <string>
#include <vector>

namespace imager::cmd {

struct CliOption {
  std::vector<std::string> names;  // "-o", "--output"
  std::string value;               // "" for a flag; else what it takes ("PROFILE", "DIR", ...)
  std::string help;
};

struct CliCommand {
  std::string path;  // "imager", "build", "profile check"
  std::string summary;
  std::string footer;  // the --help text after the options (description, examples)
  std::vector<std::string> positionals;
  std::vector<CliOption> options;
  std::vector<CliCommand> subcommands;
};

/// The tree of `imager` without hidden verbs (internal); the root's options are the global ones.
CliCommand DescribeCli();

/// What a value completes to: "profile", "stage", "dir", "file" or "" (anything).
std::string ValueKind(const std::string& option_or_positional);

}  // namespace imager::cmd
