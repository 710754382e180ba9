// SPDX-License-Identifier: GPL-3.0-or-later
#include "cmd/cli_doc.h"

#include <algorithm>
#include <cctype>

#include "cmd/verbs.h"

namespace imager::cmd {
namespace {

bool Hidden(const std::string& verb) {
  for (const auto& v : Verbs())
    if (v.name == verb) return v.hidden;
  return false;
}

std::string Upper(std::string s) {
  for (auto& c : s) c = c == '-' ? '_' : static_cast<char>(std::toupper(c));
  return s;
}

CliCommand Describe(const CLI::App* app, const std::string& path) {
  CliCommand c;
  c.path = path;
  c.summary = app->get_description();
  c.footer = app->get_footer();
  for (const CLI::Option* o : app->get_options()) {
    if (o->get_group().empty()) continue;  // hidden
    if (!o->nonpositional()) {
      c.positionals.push_back(o->get_name(true));
      continue;
    }
    CliOption opt;
    for (const auto& s : o->get_snames()) opt.names.push_back("-" + s);
    for (const auto& l : o->get_lnames()) opt.names.push_back("--" + l);
    if (o->get_items_expected_min() > 0)
      opt.value = Upper(o->get_lnames().empty() ? o->get_snames()[0] : o->get_lnames()[0]);
    opt.help = o->get_description();
    c.options.push_back(std::move(opt));
  }
  for (const CLI::App* sub : app->get_subcommands([](const CLI::App*) { return true; })) {
    if (path == "imager" && Hidden(sub->get_name())) continue;
    c.subcommands.push_back(
        Describe(sub, path == "imager" ? sub->get_name() : path + " " + sub->get_name()));
  }
  return c;
}

}  // namespace

CliCommand DescribeCli() {
  GlobalOptions global;
  Action action;
  auto app = MakeApp(&global, &action);
  return Describe(app.get(), "imager");
}

std::string ValueKind(const std::string& name) {
  if (name == "profile" || name == "file" || name == "--from") return "profile";
  if (name == "--rebuild" || name == "--stage") return "stage";
  if (name == "--cache-dir" || name == "-o" || name == "--output" || name == "dir" ||
      name == "--root" || name == "--upper" || name == "--lower")
    return "dir";
  if (name == "--lock" || name == "--lockfile") return "file";
  return "";
}

}  // namespace imager::cmd
