// SPDX-License-Identifier: GPL-3.0-or-later
#include "booter/probe.h"

#include <fnmatch.h>

#include <algorithm>
#include <set>

#include "base/strings.h"

namespace imager::booter {
namespace {

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kAccepted:
      return "accepted";
    case Verdict::kNoMedium:
      return "no medium";
    case Verdict::kNoFilesystem:
      return "no filesystem";
    case Verdict::kNoImage:
      return "no image";
    case Verdict::kNoIdentity:
      return "no identity";
    case Verdict::kWrongIdentity:
      return "wrong identity";
  }
  return "?";
}

// An id read from a medium, shown safely on a console: printable ASCII only, bounded.
std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > 64) out += "...";
  return out;
}

std::string Line(const Attempt& a) {
  std::string s = a.device.node + " [" + ClassNames(a.device.classes) + "] via " + a.spec + ": ";
  if (!a.fstype.empty()) s += a.fstype + ": ";
  s += VerdictName(a.verdict);
  if (!a.detail.empty()) s += ": " + a.detail;
  return s;
}

// Keeps the latest attempt per device; logs it when it is new or its outcome changed.
void Record(ProbeReport* report, Attempt a, void (*log)(const std::string&)) {
  auto it = std::find_if(report->attempts.begin(), report->attempts.end(),
                         [&](const Attempt& x) { return x.device.name == a.device.name; });
  bool changed = it == report->attempts.end() || it->verdict != a.verdict ||
                 it->detail != a.detail || it->fstype != a.fstype;
  if (changed && log) log(Line(a));
  if (it == report->attempts.end()) {
    report->attempts.push_back(std::move(a));
  } else {
    *it = std::move(a);
  }
}

}  // namespace

bool Matches(const ProbeSpec& spec, const BlockDevice& dev) {
  if (spec.cls) return (dev.classes & spec.cls) != 0;
  return fnmatch(spec.pattern.c_str(), dev.node.c_str(), FNM_PATHNAME) == 0;
}

Attempt Examine(Os& os, const Config& cfg, const BlockDevice& dev, std::unique_ptr<Medium>* out) {
  Attempt a;
  a.device = dev;
  OpenError err;
  auto medium = os.OpenMedium(dev, &err);
  if (!medium) {
    a.verdict = err.no_medium ? Verdict::kNoMedium : Verdict::kNoFilesystem;
    a.detail = err.detail;
    return a;
  }
  a.fstype = medium->fstype();
  std::vector<std::string> missing;
  for (const auto& image : cfg.images)
    if (!medium->IsFile(image)) missing.push_back(image);
  if (!missing.empty()) {
    a.verdict = Verdict::kNoImage;
    a.detail = Join(missing, ", ") + " not found";
    return a;
  }
  auto id = medium->ReadSmallFile(cfg.id_file);
  if (!id) {
    a.verdict = Verdict::kNoIdentity;
    a.detail = "cannot read " + cfg.id_file + " (" + id.error() + "), this build is \"" +
               Printable(cfg.id) + "\"";
    return a;
  }
  auto got = Trim(*id);
  if (got != cfg.id) {
    a.verdict = Verdict::kWrongIdentity;
    a.detail = cfg.id_file + " holds \"" + Printable(got) + "\", this build is \"" +
               Printable(cfg.id) + "\"";
    return a;
  }
  a.verdict = Verdict::kAccepted;
  *out = std::move(medium);
  return a;
}

ProbeResult Probe(Os& os, const Config& cfg, void (*log)(const std::string&)) {
  const auto specs = cfg.probe.empty() ? DefaultProbeOrder() : cfg.probe;
  ProbeResult res;
  const uint64_t start = os.NowMs();
  const uint64_t deadline = start + uint64_t{cfg.timeout_s} * 1000;
  for (;;) {
    ++res.report.rounds;
    auto devices = os.ListBlockDevices();
    std::set<std::string> tried;  // a device matched by two entries is examined once per round
    res.report.empty_specs.clear();
    for (const auto& spec : specs) {
      bool any = false;
      for (const auto& dev : devices) {
        if (!Matches(spec, dev)) continue;
        any = true;
        if (!tried.insert(dev.name).second) continue;
        std::unique_ptr<Medium> medium;
        Attempt a = Examine(os, cfg, dev, &medium);
        a.spec = spec.ToString();
        bool accepted = a.verdict == Verdict::kAccepted;
        Record(&res.report, std::move(a), log);
        if (accepted) {
          res.medium = std::move(medium);
          res.device = dev;
          res.report.elapsed_ms = os.NowMs() - start;
          return res;
        }
      }
      if (!any) res.report.empty_specs.push_back(spec.ToString());
    }
    const uint64_t now = os.NowMs();
    if (now >= deadline) break;
    os.SleepMs(std::min<uint64_t>(cfg.poll_ms, deadline - now));
  }
  res.report.elapsed_ms = os.NowMs() - start;
  return res;
}

std::string ProbeReport::Format() const {
  std::string s = "examined " + std::to_string(attempts.size()) + " device(s) in " +
                  std::to_string(rounds) + " round(s) over " + std::to_string(elapsed_ms / 1000) +
                  "." + std::to_string(elapsed_ms % 1000 / 100) + " s\n";
  for (const auto& a : attempts) s += "  " + Line(a) + "\n";
  if (!empty_specs.empty()) s += "  no device matched: " + Join(empty_specs, ", ") + "\n";
  return s;
}

}  // namespace imager::booter
