// SPDX-License-Identifier: GPL-3.0-or-later
// imager manpage: imager(1) and imager-VERB(1) in roff, generated from the parser's own tree
// (cli_doc.h): every verb, subcommand, option and the --help texts.
#include <iostream>
#include <memory>
#include <sstream>

#include "base/log.h"
#include "base/strings.h"
#include "cmd/cli_doc.h"
#include "cmd/verbs.h"

namespace imager::cmd {
namespace {

struct ManpageOptions {
  std::string verb;
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

void Header(std::ostream& out, const std::string& name, const std::string& summary) {
  out << ".TH " << Roff(name) << " 1 \"\" \"imager\" \"imager manual\"\n"
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

int Manpage(const ManpageOptions& o) {
  CliCommand root = DescribeCli();
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
help texts of this imager's own command line, so the pages cannot drift from it.

Example:
  imager manpage | man -l -
  imager manpage build > imager-build.1)");
  app->add_option("verb", o->verb, "The verb whose page to print (default: imager(1))");
  return [o] { return Manpage(*o); };
}

}  // namespace imager::cmd
