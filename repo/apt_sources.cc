// SPDX-License-Identifier: GPL-3.0-or-later
#include "repo/apt_sources.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>
#include <utility>

#include "base/strings.h"

namespace imager::repo {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> Words(std::string_view s) {
  std::vector<std::string> out;
  std::string word;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!word.empty()) out.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) out.push_back(std::move(word));
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string> Uris(std::string_view s) {
  auto uris = Words(s);
  for (auto& u : uris)
    while (u.size() > 1 && u.back() == '/' && u[u.size() - 2] != '/') u.pop_back();
  return uris;
}

std::string SignedBy(std::string_view value) {
  std::string v(Trim(value));
  if (v.find('\n') != std::string::npos || StartsWith(v, "-----BEGIN")) return "(inline key)";
  auto words = Words(v);
  return words.empty() ? "" : words[0];
}

struct Stanza {
  std::vector<std::pair<std::string, std::string>> fields;  // lower-case name -> value
  int line = 0;
};

std::optional<AptSource> FromStanza(const Stanza& st, const std::string& origin,
                                    std::vector<std::string>* errors) {
  AptSource s;
  s.origin = origin;
  for (const auto& [name, value] : st.fields) {
    if (name == "types") s.types = Words(value);
    if (name == "uris") s.uris = Uris(value);
    if (name == "suites") s.suites = Words(value);
    if (name == "components") s.components = Words(value);
    if (name == "signed-by") s.signed_by = SignedBy(value);
    if (name != "enabled") continue;
    std::string v = Lower(Trim(value));
    if (v != "yes" && v != "no") errors->push_back(origin + ": Enabled: expected yes or no");
    s.enabled = v != "no";
  }
  if (!s.enabled) return s;
  std::vector<std::string> missing;
  if (s.types.empty()) missing.push_back("Types");
  if (s.uris.empty()) missing.push_back("URIs");
  if (s.suites.empty()) missing.push_back("Suites");
  if (missing.empty()) return s;
  errors->push_back(origin + ": stanza without " + Join(missing, ", "));
  return std::nullopt;
}

}  // namespace

Result<std::vector<AptSource>> ParseDeb822Sources(std::string_view text, const std::string& file) {
  std::vector<AptSource> out;
  std::vector<std::string> errors;
  Stanza cur;
  auto flush = [&] {
    if (!cur.fields.empty()) {
      auto s = FromStanza(cur, file + ":" + std::to_string(cur.line), &errors);
      if (s) out.push_back(std::move(*s));
    }
    cur = Stanza{};
  };
  int lineno = 0;
  for (const auto& raw : Split(text, '\n')) {
    ++lineno;
    std::string_view line = raw;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (Trim(line).empty()) {
      flush();
    } else if (line[0] == '#') {
      continue;
    } else if (line[0] == ' ' || line[0] == '\t') {
      if (cur.fields.empty())
        errors.push_back(file + ":" + std::to_string(lineno) +
                         ": continuation line outside a field");
      else
        cur.fields.back().second += "\n" + std::string(Trim(line));
    } else if (size_t colon = line.find(':'); colon == std::string_view::npos) {
      errors.push_back(file + ":" + std::to_string(lineno) + ": expected 'Field: value'");
    } else {
      if (cur.fields.empty()) cur.line = lineno;
      cur.fields.emplace_back(Lower(Trim(line.substr(0, colon))),
                              std::string(Trim(line.substr(colon + 1))));
    }
  }
  flush();
  if (!errors.empty()) return Error{Join(errors, "\n")};
  return out;
}

namespace {

// One line without its comment; nullopt (and an error) when it is malformed.
std::optional<AptSource> ParseOneLine(std::string_view line, const std::string& origin,
                                      std::vector<std::string>* errors) {
  AptSource s;
  s.origin = origin;
  auto words = Words(line.substr(0, line.find_first_of(" \t")));
  std::string type = words.empty() ? "" : words[0];
  if (type != "deb" && type != "deb-src") {
    errors->push_back(origin + ": unknown type '" + type + "' (allowed: deb, deb-src)");
    return std::nullopt;
  }
  s.types = {type};
  std::string_view rest = Trim(line.substr(type.size()));
  if (StartsWith(rest, "[")) {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) {
      errors->push_back(origin + ": '[' without ']'");
      return std::nullopt;
    }
    for (const auto& opt : Words(rest.substr(1, close - 1)))
      if (StartsWith(opt, "signed-by=")) s.signed_by = opt.substr(10);
    rest = rest.substr(close + 1);
  }
  auto args = Words(rest);
  if (args.size() < 2) {
    errors->push_back(origin + ": expected '" + type + " [OPTIONS] URI SUITE [COMPONENT...]'");
    return std::nullopt;
  }
  s.uris = Uris(args[0]);
  s.suites = {args[1]};
  s.components.assign(args.begin() + 2, args.end());
  return s;
}

}  // namespace

Result<std::vector<AptSource>> ParseOneLineSources(std::string_view text, const std::string& file) {
  std::vector<AptSource> out;
  std::vector<std::string> errors;
  int lineno = 0;
  for (const auto& raw : Split(text, '\n')) {
    ++lineno;
    std::string_view line = Trim(std::string_view(raw).substr(0, raw.find('#')));
    if (line.empty()) continue;
    auto s = ParseOneLine(line, file + ":" + std::to_string(lineno), &errors);
    if (s) out.push_back(std::move(*s));
  }
  if (!errors.empty()) return Error{Join(errors, "\n")};
  return out;
}

namespace {

Status AppendFile(const fs::path& path, std::vector<AptSource>* out) {
  std::ifstream in(path);
  if (!in) return ErrnoError("open " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  bool deb822 = path.extension() == ".sources";
  auto parsed = deb822 ? ParseDeb822Sources(ss.str(), path.string())
                       : ParseOneLineSources(ss.str(), path.string());
  if (!parsed) return parsed.take_error();
  out->insert(out->end(), parsed->begin(), parsed->end());
  return {};
}

// apt's rule for file names in sources.list.d: letters, digits, '_', '-' and '.' only.
bool AptReads(const fs::path& p) {
  std::string name = p.filename().string();
  if (p.extension() != ".list" && p.extension() != ".sources") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

}  // namespace

Result<std::vector<AptSource>> ReadAptSources(const std::string& etc_apt) {
  std::vector<AptSource> out;
  std::error_code ec;
  fs::path list = fs::path(etc_apt) / "sources.list";
  if (fs::exists(list, ec))
    if (auto st = AppendFile(list, &out); !st) return st.take_error();
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(fs::path(etc_apt) / "sources.list.d", ec))
    if (AptReads(e.path()) && e.is_regular_file(ec)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files)
    if (auto st = AppendFile(f, &out); !st) return st.take_error();
  return out;
}

namespace {

bool Fetchable(const std::string& uri) {
  return StartsWith(uri, "http://") || StartsWith(uri, "https://") || StartsWith(uri, "file:/");
}

// The first usable URI of the first enabled deb source with a suite that `match` accepts.
template <typename Match>
std::string FindUri(const std::vector<AptSource>& sources, Match match) {
  for (const auto& s : sources) {
    bool deb = std::find(s.types.begin(), s.types.end(), "deb") != s.types.end();
    if (!s.enabled || !deb || std::none_of(s.suites.begin(), s.suites.end(), match)) continue;
    for (const auto& uri : s.uris)
      if (Fetchable(uri)) return uri;
  }
  return "";
}

}  // namespace

Result<std::string> PickMirror(const std::vector<AptSource>& sources, const std::string& suite,
                               const std::string& where) {
  std::string uri = FindUri(sources, [&](const std::string& s) { return s == suite; });
  if (uri.empty())
    uri = FindUri(sources, [&](const std::string& s) {
      std::string_view sv = s;
      bool security = sv.size() >= 9 && sv.substr(sv.size() - 9) == "-security";
      return StartsWith(s, suite + "-") && !security;
    });
  if (uri.empty())
    return Error{"no enabled deb source with an http, https or file URI for suite '" + suite +
                 "' in " + where};
  return uri;
}

Result<std::string> AutoMirror(const std::string& suite, const std::string& etc_apt) {
  auto sources = ReadAptSources(etc_apt);
  if (!sources) return Wrap("read the host's apt sources", sources.error());
  return PickMirror(*sources, suite,
                    etc_apt + "/sources.list or " + etc_apt + "/sources.list.d/*.{list,sources}");
}

}  // namespace imager::repo
