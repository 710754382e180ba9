// SPDX-License-Identifier: GPL-3.0-or-later
#include "booter/config.h"

#include <algorithm>
#include <charconv>

#include "base/strings.h"
#include "booter/os.h"

namespace imager::booter {
namespace {

bool ParseBool(std::string_view v, bool* out) {
  if (v == "1" || v == "yes" || v == "true" || v == "on") {
    *out = true;
  } else if (v == "0" || v == "no" || v == "false" || v == "off") {
    *out = false;
  } else {
    return false;
  }
  return true;
}

bool ParseUnsigned(std::string_view v, unsigned* out) {
  unsigned n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || end != v.data() + v.size()) return false;
  *out = n;
  return true;
}

bool ParseOnFailure(std::string_view v, OnFailure* out) {
  if (v == "halt") {
    *out = OnFailure::kHalt;
  } else if (v == "poweroff") {
    *out = OnFailure::kPowerOff;
  } else if (v == "reboot") {
    *out = OnFailure::kReboot;
  } else {
    return false;
  }
  return true;
}

std::vector<std::string> SplitList(std::string_view v) {
  std::vector<std::string> out;
  for (const auto& part : Split(v, ',')) {
    auto t = Trim(part);
    if (!t.empty()) out.emplace_back(t);
  }
  return out;
}

// Sets one key shared by the file and the command line. `repeat` says the key appeared before
// in the same source (list keys then append instead of replacing). Returns "" or a problem.
std::string SetKey(Config* cfg, const std::string& key, std::string_view v, bool repeat) {
  if (key == "probe") {
    auto specs = ParseProbeList(v);
    if (!specs) return specs.error();
    cfg->probe = std::move(*specs);
  } else if (key == "timeout") {
    if (!ParseUnsigned(v, &cfg->timeout_s))
      return "timeout: not a number of seconds: " + std::string(v);
  } else if (key == "poll_ms") {
    if (!ParseUnsigned(v, &cfg->poll_ms) || cfg->poll_ms == 0)
      return "poll_ms: not a positive number: " + std::string(v);
  } else if (key == "image") {
    if (!repeat) cfg->images.clear();
    for (auto& p : SplitList(v)) {
      if (p[0] != '/') return "image: not an absolute path: " + p;
      cfg->images.push_back(p);
    }
  } else if (key == "id") {
    cfg->id = std::string(Trim(v));
  } else if (key == "id_file") {
    if (v.empty() || v[0] != '/') return "id_file: not an absolute path: " + std::string(v);
    cfg->id_file = std::string(v);
  } else if (key == "toram") {
    if (!ParseBool(v, &cfg->toram)) return "toram: expected yes or no, got " + std::string(v);
  } else if (key == "shell") {
    if (!ParseBool(v, &cfg->shell)) return "shell: expected yes or no, got " + std::string(v);
  } else if (key == "quiet") {
    if (!ParseBool(v, &cfg->quiet)) return "quiet: expected yes or no, got " + std::string(v);
  } else if (key == "module") {
    if (!repeat) cfg->modules.clear();
    for (auto& m : SplitList(v)) cfg->modules.push_back(m);
  } else if (key == "init") {
    if (v.empty() || v[0] != '/') return "init: not an absolute path: " + std::string(v);
    cfg->init = std::string(v);
  } else if (key == "on_failure") {
    if (!ParseOnFailure(v, &cfg->on_failure))
      return "on_failure: expected halt, poweroff or reboot, got " + std::string(v);
  } else {
    return "unknown key '" + key + "'";
  }
  return "";
}

const std::vector<std::string>& Keys() {
  static const std::vector<std::string> keys = {"probe", "timeout", "poll_ms", "image",
                                                "id",    "id_file", "toram",   "shell",
                                                "quiet", "module",  "init",    "on_failure"};
  return keys;
}

std::string WithSuggestion(std::string problem, const std::string& key) {
  if (problem.rfind("unknown key", 0) != 0) return problem;
  auto near = ClosestMatch(key, Keys());
  if (!near.empty()) problem += " (did you mean '" + near + "'?)";
  return problem;
}

}  // namespace

std::string ProbeSpec::ToString() const { return cls ? ClassNames(cls) : pattern; }

std::vector<ProbeSpec> DefaultProbeOrder() {
  return {{kCdrom, ""}, {kUsb, ""}, {kVirtio, ""}, {kNvme, ""}, {kDisk, ""}};
}

Result<std::vector<ProbeSpec>> ParseProbeList(std::string_view list) {
  std::vector<ProbeSpec> out;
  for (auto& word : SplitList(list)) {
    if (unsigned c = ClassFromName(word)) {
      out.push_back({c, ""});
    } else if (StartsWith(word, "/dev/")) {
      out.push_back({0, word});
    } else {
      std::string msg = "probe: '" + word + "' is neither a device class (" +
                        Join(AllClassNames(), ", ") + ") nor a /dev/ path";
      auto near = ClosestMatch(word, AllClassNames());
      if (!near.empty()) msg += " (did you mean '" + near + "'?)";
      return Error{msg};
    }
  }
  if (out.empty()) return Error{"probe: empty list"};
  return out;
}

Result<Config> ParseConfig(std::string_view text) {
  Config cfg;
  std::vector<std::string> problems;
  std::vector<std::string> seen;
  int lineno = 0;
  for (const auto& raw : Split(text, '\n')) {
    ++lineno;
    auto line = Trim(raw);
    if (line.empty() || line[0] == '#') continue;
    auto eq = line.find('=');
    if (eq == std::string_view::npos) {
      problems.push_back(std::to_string(lineno) + ": expected key=value, got '" +
                         std::string(line) + "'");
      continue;
    }
    std::string key(Trim(line.substr(0, eq)));
    bool repeat = std::find(seen.begin(), seen.end(), key) != seen.end();
    auto problem = SetKey(&cfg, key, Trim(line.substr(eq + 1)), repeat);
    if (!problem.empty())
      problems.push_back(std::to_string(lineno) + ": " + WithSuggestion(problem, key));
    seen.push_back(key);
  }
  if (!problems.empty()) return Error{"config: " + Join(problems, "; ")};
  return cfg;
}

std::vector<std::string> SplitCmdline(std::string_view cmdline) {
  std::vector<std::string> words;
  std::string cur;
  bool quoted = false, any = false;
  for (char c : cmdline) {
    if (c == '"') {
      quoted = !quoted;
      any = true;
    } else if (!quoted && (c == ' ' || c == '\t' || c == '\n')) {
      if (any) words.push_back(std::move(cur));
      cur.clear();
      any = false;
    } else {
      cur += c;
      any = true;
    }
  }
  if (any) words.push_back(std::move(cur));
  return words;
}

std::vector<std::string> ApplyCmdline(std::string_view cmdline, Config* cfg) {
  std::vector<std::string> warnings;
  std::vector<std::string> seen;
  for (const auto& word : SplitCmdline(cmdline)) {
    if (!StartsWith(word, "imager.")) continue;
    auto eq = word.find('=');
    std::string key = word.substr(7, eq == std::string::npos ? std::string::npos : eq - 7);
    // A bare flag means "yes": imager.toram, imager.shell.
    std::string value = eq == std::string::npos ? "yes" : word.substr(eq + 1);
    bool repeat = std::find(seen.begin(), seen.end(), key) != seen.end();
    auto problem = SetKey(cfg, key, value, repeat);
    if (!problem.empty())
      warnings.push_back("ignoring " + word + ": " + WithSuggestion(problem, key));
    seen.push_back(key);
  }
  return warnings;
}

std::vector<std::string> CheckConfig(const Config& cfg) {
  std::vector<std::string> problems;
  if (cfg.id.empty())
    problems.push_back("no identity (id=): the booter would accept any medium with the image");
  if (cfg.images.empty()) problems.push_back("no image path (image=)");
  return problems;
}

}  // namespace imager::booter
