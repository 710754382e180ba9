// SPDX-License-Identifier: GPL-3.0-or-later
// imager manpage: imager(1) and imager-VERB(1) in roff, generated from the parser's own tree
// (cli_doc.h): every verb, subcommand, option and the --help texts; imager-profile(5) from the
// profile schema (profiles/schema.h).
#include <iostream>
#include <memory>
#include <sstream>

#include "base/fd.h"
#include "base/log.h"
#include "base/strings.h"
#include "cmd/cli_doc.h"
#include "cmd/verbs.h"
#include "profiles/schema.h"

namespace imager::cmd {
namespace {

struct ManpageOptions {
  std::string verb;
  int section = 1;
  std::string all;  // a directory: write every page there
};

// TEXT safe for roff: backslashes escaped, no line starting with a control character.
std::string Roff(const std::string& text) {
  std::string out;
  bool line_start = true;
  for (char ch : text) {
    if (line_start && (ch == '.' || ch == '\'')) out += "\\&";
    if (ch == '\\')
      out += "\\e";
    else if (ch == '-')
      out += "\\-";
    else
      out += ch;
    line_start = ch == '\n';
  }
  return out;
}

void Options(std::ostream& out, const std::vector<CliOption>& options) {
  for (const auto& o : options) {
    std::vector<std::string> names;
    for (const auto& n : o.names) names.push_back("\\fB" + Roff(n) + "\\fR");
    out << ".TP\n"
        << Join(names, ", ") << (o.value.empty() ? "" : " \\fI" + Roff(o.value) + "\\fR") << "\n"
        << Roff(o.help) << "\n";
  }
}

// A --help footer: paragraphs as they are, examples kept verbatim.
void Footer(std::ostream& out, const std::string& footer) {
  std::string text(Trim(footer));
  if (text.empty()) return;
  out << ".PP\n.nf\n" << Roff(text) << "\n.fi\n";
}

std::string Synopsis(const CliCommand& c) {
  std::string s = "\\fBimager\\fR " + Roff(c.path) + " [\\fIOPTIONS\\fR]";
  for (const auto& p : c.positionals) s += " \\fI" + Roff(p) + "\\fR";
  if (!c.subcommands.empty()) s += " \\fISUBCOMMAND\\fR";
  return s;
}

void Header(std::ostream& out, const std::string& name, const std::string& summary,
            int section = 1) {
  out << ".TH " << Roff(name) << " " << section << " \"\" \"imager\" \"imager manual\"\n"
      << ".SH NAME\n"
      << Roff(name) << " \\- " << Roff(summary) << "\n";
}

void Main(std::ostream& out, const CliCommand& root) {
  Header(out, "imager", "build bootable OS images from distribution packages, without root");
  out << ".SH SYNOPSIS\n\\fBimager\\fR [\\fB\\-v\\fR] [\\fB\\-q\\fR] \\fIVERB\\fR "
         "[\\fIOPTIONS\\fR]\n.SH DESCRIPTION\n"
      << Roff(root.summary) << "\n.SH GLOBAL OPTIONS\n";
  Options(out, root.options);
  out << ".SH VERBS\n";
  for (const auto& v : root.subcommands)
    out << ".TP\n\\fBimager " << Roff(v.path) << "\\fR\n"
        << Roff(v.summary) << " (see \\fBimager\\-" << Roff(v.path) << "\\fR(1))\n";
  out << ".SH EXIT STATUS\n";
  Footer(out, root.footer);
  out << ".SH SEE ALSO\n";
  std::vector<std::string> refs;
  for (const auto& v : root.subcommands) refs.push_back("\\fBimager\\-" + Roff(v.path) + "\\fR(1)");
  out << Join(refs, ", ") << "\n";
}

void Verb(std::ostream& out, const CliCommand& v) {
  Header(out, "imager-" + v.path, v.summary);
  out << ".SH SYNOPSIS\n" << Synopsis(v) << "\n.SH DESCRIPTION\n" << Roff(v.summary) << ".\n";
  Footer(out, v.footer);
  out << ".SH OPTIONS\n";
  Options(out, v.options);
  if (!v.subcommands.empty()) out << ".SH SUBCOMMANDS\n";
  for (const auto& s : v.subcommands) {
    out << ".SS " << Roff(s.path) << "\n" << Synopsis(s) << "\n.PP\n" << Roff(s.summary) << ".\n";
    Footer(out, s.footer);
    Options(out, s.options);
  }
  out << ".SH SEE ALSO\n\\fBimager\\fR(1)\n";
}

// imager-profile(5): the profile format, from the schema the validator takes its keys from.
void ProfilePage(std::ostream& out) {
  Header(out, "imager-profile", "the YAML file that describes an image", 5);
  out << ".SH SYNOPSIS\n\\fINAME\\fR.yaml\n.SH DESCRIPTION\n"
      << Roff(
             "A profile is a YAML map saying what image to build: the distribution, its "
             "repositories and packages, settings applied to the root filesystem, an optional "
             "installer, how the image boots and which outputs to write. Every field but name, "
             "distribution.family and (mostly) repositories has a default; paths are relative to "
             "the file that names them. imager reports every wrong field at once, with its "
             "file:line:column and what is allowed.")
      << "\n.PP\n"
      << Roff(
             "imager build NAME finds NAME.yaml in the current directory, "
             "$XDG_CONFIG_HOME/imager/profiles, /etc/imager/profiles and "
             "/usr/share/imager/profiles, in that order (imager profile list shows them); "
             "imager profile new NAME --from debian-live writes an editable copy with every "
             "default written out.")
      << "\n.SH FIELDS\n"
      << Roff("Dotted names are keys of maps; [] stands for each item of a list.") << "\n";
  for (const auto& f : profiles::ProfileSchema()) {
    out << ".TP\n\\fB" << Roff(f.path) << "\\fR (" << Roff(f.type) << ")\n"
        << Roff(f.doc) << "\n.br\n"
        << (f.fallback == "required" ? "Required." : "Default: " + Roff(f.fallback) + ".") << "\n";
    if (!f.example.empty()) out << ".br\nExample:\n.RS\n.nf\n" << Roff(f.example) << "\n.fi\n.RE\n";
  }
  out << ".SH EXAMPLE\n.nf\n"
      << Roff(
             "name: kiosk\n"
             "description: A Debian 12 system that boots to a console\n"
             "extends: debian-live.yaml\n"
             "packages:\n"
             "  include: [linux-image-amd64, systemd-sysv, openssh-server]\n"
             "rootfs:\n"
             "  hostname: kiosk\n"
             "  files: [{from: files/motd, to: /etc/motd}]\n"
             "  services: {enable: [ssh.service]}\n"
             "output: {formats: [iso, qcow2]}")
      << "\n.fi\n.SH SEE ALSO\n\\fBimager\\fR(1), \\fBimager\\-build\\fR(1), "
         "\\fBimager\\-profile\\fR(1)\n";
}

// Every page into DIR: imager.1, imager-VERB.1 and imager-profile.5 (what a package installs).
int WriteAll(const CliCommand& root, const std::string& dir) {
  auto write = [&](const std::string& name, const auto& print) {
    std::ostringstream page;
    print(page);
    std::string path = dir + "/" + name;
    if (auto st = WriteFile(path, page.str()); !st) {
      log::Err("manpage: " + st.error());
      return false;
    }
    return true;
  };
  if (!write("imager.1", [&](std::ostream& out) { Main(out, root); })) return kExitFailed;
  if (!write("imager-profile.5", ProfilePage)) return kExitFailed;
  for (const auto& v : root.subcommands)
    if (!write("imager-" + v.path + ".1", [&](std::ostream& out) { Verb(out, v); }))
      return kExitFailed;
  return kExitOk;
}

int Manpage(const ManpageOptions& o) {
  CliCommand root = DescribeCli();
  if (!o.all.empty()) return WriteAll(root, o.all);
  if (o.section == 5) {
    if (o.verb != "profile") {
      log::Err("manpage: section 5 has one page: imager manpage --section 5 profile");
      return kExitUsage;
    }
    ProfilePage(std::cout);
    return kExitOk;
  }
  if (o.verb.empty() || o.verb == "imager") {
    Main(std::cout, root);
    return kExitOk;
  }
  std::vector<std::string> names;
  for (const auto& v : root.subcommands) {
    if (v.path == o.verb) {
      Verb(std::cout, v);
      return kExitOk;
    }
    names.push_back(v.path);
  }
  log::Err("manpage: no verb '" + o.verb + "' (verbs: " + Join(names, ", ") + ")");
  return kExitUsage;
}

}  // namespace

Action SetupManpage(CLI::App* app, const GlobalOptions*) {
  auto o = std::make_shared<ManpageOptions>();
  app->footer(R"(
Prints imager(1), or imager-VERB(1) for a verb, as roff: the verbs, subcommands, options and
help texts of this imager's own command line, so the pages cannot drift from it. With
--section 5, imager-profile(5): every profile field with its type, default and an example, from
the table the profile validator takes its fields from.

Example:
  imager manpage | man -l -
  imager manpage build > imager-build.1
  imager manpage --section 5 profile | man -l -   # imager-profile(5): every profile field
  imager manpage --all man/     # every page, as a package installs them)");
  app->add_option("verb", o->verb, "The verb whose page to print (default: imager(1))");
  app->add_option("-s,--section", o->section, "1: the command's pages; 5: the profile format")
      ->check(CLI::IsMember({1, 5}));
  app->add_option("--all", o->all, "Write every page into this directory instead")
      ->type_name("DIR")
      ->check(CLI::ExistingDirectory);
  return [o] { return Manpage(*o); };
}

}  // namespace imager::cmd
