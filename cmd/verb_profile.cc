// SPDX-License-Identifier: GPL-3.0-or-later
// imager profile: check, show and list build profiles; write an installer's generated files.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <system_error>

#include "base/fd.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/strings.h"
#include "cmd/verbs.h"
#include "installer/installer.h"
#include "profiles/catalog.h"
#include "profiles/loader.h"
#include "stages/build.h"

namespace imager::cmd {
namespace {

struct ProfileOptions {
  std::string file;
  bool json = false;
  std::string new_name, from, output;
  bool force = false;
  std::string dir;
  installer::InstallerPaths paths;
};

// Loads FILE (or a profile's name), printing every problem; nullopt on errors.
std::optional<profiles::Profile> Load(const std::string& arg) {
  auto file = profiles::ResolveProfileArg(arg);
  if (!file) {
    log::Err(file.error());
    return std::nullopt;
  }
  auto p = profiles::LoadProfile(*file);
  if (!p) {
    for (const auto& line : Split(p.error(), '\n')) log::Err(line);
    return std::nullopt;
  }
  for (const auto& w : p->warnings) log::Warn(w);
  return std::move(*p);
}

// `mirror: auto` needs this host's apt sources; where they lack the suite, say so and go on.
void ResolveMirrors(profiles::Profile* p) {
  auto st = profiles::ResolveAutoMirrors(p);
  if (!st)
    for (const auto& line : Split(st.error(), '\n')) log::Warn(line);
}

// Schema errors and plan-time errors (the build planned for each output), all at once.
int Check(const ProfileOptions& o) {
  std::vector<std::string> errors;
  auto file = profiles::ResolveProfileArg(o.file);
  if (!file) {
    log::Err(file.error());
    return kExitFailed;
  }
  auto p = profiles::LoadProfile(*file, &errors);
  if (!p) {
    for (const auto& line : Split(p.error(), '\n')) log::Err(line);
    return kExitFailed;
  }
  for (const auto& w : p->warnings) log::Warn(w);
  for (auto& e : stages::PlanErrors(*p)) errors.push_back(std::move(e));
  if (!errors.empty()) {
    for (const auto& e : errors)
      for (const auto& line : Split(e, '\n')) log::Err(line);
    return kExitFailed;
  }
  ResolveMirrors(&*p);
  std::cout << p->source << ": ok\n";
  return kExitOk;
}

int Show(const ProfileOptions& o) {
  auto p = Load(o.file);
  if (!p) return kExitFailed;
  ResolveMirrors(&*p);
  if (o.json) {
    std::cout << profiles::ToJson(*p).dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "# " << Join(p->chain, " extends ") << ", resolved, with defaults\n"
            << profiles::ToYaml(*p);
  return kExitOk;
}

int InstallerFiles(const ProfileOptions& o) {
  auto p = Load(o.file);
  if (!p) return kExitFailed;
  const installer::Installer* inst = installer::For(*p);
  if (!inst) {
    log::Err(p->source + ": installer.type: " +
             (p->installer.type == profiles::InstallerType::kNone
                  ? std::string("the profile has no installer (set installer.type, e.g. calamares)")
                  : profiles::NameOf(p->installer.type) + " is not implemented for the " +
                        profiles::NameOf(p->distribution.family) + " family"));
    return kExitFailed;
  }
  auto files = inst->files(*p, o.paths);
  Status st = files ? installer::WriteFiles(*files, o.dir) : Status(files.take_error());
  if (!st) {
    log::Err(st.error());
    return kExitFailed;
  }
  for (const auto& f : *files) std::cout << f.path << "\n";
  return kExitOk;
}

int List() {
  auto dirs = profiles::ProfileSearchPath(profiles::ProcessSearchEnv());
  auto list = profiles::ListProfiles(dirs);
  if (list.empty()) {
    std::vector<std::string> paths;
    for (const auto& d : dirs) paths.push_back(d.path);
    log::Err("no profiles (*.yaml) in " + Join(paths, ", "));
    return kExitFailed;
  }
  size_t width = 0;
  for (const auto& lp : list) width = std::max(width, lp.name.size());
  for (const auto& lp : list) {
    std::string name = lp.name, dir = std::filesystem::path(lp.path).parent_path().string();
    name.resize(width + 2, ' ');
    std::cout << name << (lp.error.empty() ? lp.description : "(broken: " + lp.error + ")") << "  ["
              << lp.origin << ": " << dir << "]\n";
  }
  return kExitOk;
}

// A profile of its own for the user: FROM resolved (extends merged, defaults filled, paths
// absolute, so it works from anywhere) under the name NAME.
int New(const ProfileOptions& o) {
  if (o.new_name.empty() || o.new_name.find('/') != std::string::npos || o.new_name[0] == '.') {
    log::Err("profile new: '" + o.new_name + "' is not a name (no '/', not starting with '.')");
    return kExitUsage;
  }
  auto p = Load(o.from);
  if (!p) return kExitFailed;
  std::string out = o.output;
  if (out.empty()) {
    std::string dir = profiles::UserProfileDir(profiles::ProcessSearchEnv());
    if (dir.empty()) {
      log::Err("profile new: neither XDG_CONFIG_HOME nor HOME is set; give -o FILE");
      return kExitUsage;
    }
    out = dir + "/" + o.new_name + ".yaml";
  }
  std::error_code ec;
  if (!o.force && std::filesystem::exists(out, ec)) {
    log::Err("profile new: " + out + " exists (--force replaces it)");
    return kExitFailed;
  }
  std::string from = p->source;
  p->name = o.new_name;
  std::string text = "# " + o.new_name + ": made by 'imager profile new' from " + from +
                     " (every default written out, paths absolute); edit freely.\n" +
                     profiles::ToYaml(*p);
  std::string dir = std::filesystem::path(out).parent_path().string();
  Status st = dir.empty() ? Status{} : MakeDirs(dir);
  if (st) st = WriteFile(out, text);
  if (!st) {
    log::Err("profile new: " + st.error());
    return kExitFailed;
  }
  std::cout << out << "\n";
  return kExitOk;
}

// `imager profile` alone, or with a word that is not a subcommand.
int Usage(const std::vector<std::string>& extra) {
  std::vector<std::string> names = {"check", "show", "list", "new", "installer-files"};
  if (extra.empty()) {
    log::Err("profile: which one? " + Join(names, ", ") + " (see 'imager profile --help')");
  } else {
    std::string hint = ClosestMatch(extra[0], names);
    log::Err("profile: unknown subcommand '" + extra[0] + "'" +
             (hint.empty() ? "" : "; did you mean '" + hint + "'?") +
             " (allowed: " + Join(names, ", ") + ")");
  }
  return kExitUsage;
}

constexpr const char* kCheckHelp = R"(
Checks a profile and everything it extends; lists every problem as FILE:LINE:COL: FIELD: what
is wrong (allowed: ...), then exits 1. Warnings (plain-text root password, no apt source for
`mirror: auto`) do not fail the check. FILE may also name a shipped profile.

Example:
  imager profile check profiles/debian-live.yaml
  imager profile check debian-live)";

constexpr const char* kShowHelp = R"(
Prints the profile as the build sees it: extends merged, defaults filled, paths absolute and
`mirror: auto` replaced by the host's apt mirror for the suite when there is one.

Example:
  imager profile show profiles/debian-live.yaml
  imager profile show debian-live --json | jq .repositories)";

constexpr const char* kListHelp = R"(
Lists the profiles a name finds, each with its description and where it comes from. A name
(imager build NAME) is looked up as NAME.yaml in, in this order: the current directory,
$XDG_CONFIG_HOME/imager/profiles (~/.config/imager/profiles), /etc/imager/profiles,
/usr/share/imager/profiles, and the profiles shipped beside the executable (the source tree's
profiles/ for build/imager). The first one found wins.

Example:
  imager profile list)";

constexpr const char* kNewHelp = R"(
Writes a profile of your own made from another one (a name or a file): extends merged, every
default written out, paths absolute, so it builds from any directory. By default into
$XDG_CONFIG_HOME/imager/profiles/NAME.yaml, where 'imager build NAME' finds it.

Example:
  imager profile new my-live --from debian-live
  imager profile new kiosk --from debian-live -o ./kiosk.yaml)";

constexpr const char* kInstallerFilesHelp = R"(
Writes what the build puts into an installer image's installer layer besides its packages
(/etc/calamares, the live session's systemd unit, the offline repository helper) into DIR, as
if DIR were /, and prints their paths. For inspecting the configuration, or running Calamares
on it by hand (tests/lib/calamares_xvfb.sh).

Example:
  imager profile installer-files my-installer.yaml /tmp/files --offline-suite bookworm)";

}  // namespace

Action SetupProfile(CLI::App* app, const GlobalOptions*) {
  auto o = std::make_shared<ProfileOptions>();
  app->footer("\nExample:\n  imager profile check my.yaml\n  imager profile show debian-live");
  app->require_subcommand(0, 1);
  CLI::App* check = app->add_subcommand("check", "Check a profile; report every problem");
  check->add_option("file", o->file, "Profile: a name or a file")->required();
  check->footer(kCheckHelp);
  CLI::App* show = app->add_subcommand("show", "Print the fully resolved profile");
  show->add_option("file", o->file, "Profile file (or a shipped profile's name)")->required();
  show->add_flag("--json", o->json, "Print JSON instead of YAML");
  show->footer(kShowHelp);
  CLI::App* list = app->add_subcommand("list", "List the profiles found by name, and where");
  list->footer(kListHelp);
  CLI::App* create = app->add_subcommand("new", "Write an editable profile made from another");
  create->add_option("name", o->new_name, "The new profile's name")->required();
  create->add_option("--from", o->from, "The profile to start from (a name or a file)")->required();
  create->add_option("-o,--output", o->output,
                     "File to write (default: $XDG_CONFIG_HOME/imager/profiles/NAME.yaml)");
  create->add_flag("--force", o->force, "Replace the file if it exists");
  create->footer(kNewHelp);
  CLI::App* files =
      app->add_subcommand("installer-files", "Write the installer layer's generated files to DIR");
  files->add_option("file", o->file, "Profile file (or a shipped profile's name)")->required();
  files->add_option("dir", o->dir, "Directory that stands for the live system's /")->required();
  files->add_option("--offline-suite", o->paths.offline_suite,
                    "Suite of the medium's offline repository (default: none)");
  files->add_option("--medium", o->paths.medium, "Where the live system mounts the medium");
  files->add_option("--target-image", o->paths.target_image, "The target's squashfs image");
  files->footer(kInstallerFilesHelp);
  app->allow_extras();  // after the subcommands, which would inherit it: a typo gets a hint
  return [o, app, check, show, list, create, files] {
    if (!app->remaining().empty()) return Usage(app->remaining());
    if (check->parsed()) return Check(*o);
    if (show->parsed()) return Show(*o);
    if (list->parsed()) return List();
    if (create->parsed()) return New(*o);
    if (files->parsed()) return InstallerFiles(*o);
    return Usage({});
  };
}

}  // namespace imager::cmd
