// SPDX-License-Identifier: GPL-3.0-or-later
#include "repo/progress_bar.h"

#include <chrono>
#include <cstdio>

#include "base/fd.h"

namespace imager::repo {
namespace {

constexpr double kRedrawInterval = 0.1;
constexpr double kPlainInterval = 5.0;
constexpr double kRateWindow = 3.0;

double SteadyNow() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::string Format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// "0:06", "12:34", "1:02:03".
std::string FormatEta(double seconds) {
  auto s = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  else
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  return buf;
}

std::string Files(const FetchProgress& p) {
  return std::to_string(p.files_done) + "/" + std::to_string(p.files_total) + " files";
}

}  // namespace

std::string FormatSize(int64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes) / 1024;
  for (const char* unit : {"KiB", "MiB", "GiB"}) {
    if (v < 1024 || std::string(unit) == "GiB") return Format("%.1f ", v) + unit;
    v /= 1024;
  }
  return {};
}

ProgressBar::ProgressBar(ProgressBarOptions options) : options_(std::move(options)) {
  if (!options_.now) options_.now = SteadyNow;
  tty_ = options_.tty.value_or(::isatty(options_.fd) == 1);
  start_ = last_plain_ = options_.now();
  samples_.emplace_back(start_, 0);
}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(const FetchProgress& p) {
  if (finished_) return;
  double now = options_.now();
  started_ = true;
  last_ = p;
  samples_.emplace_back(now, p.bytes_done);
  while (samples_.size() > 2 && now - samples_[1].first >= kRateWindow) samples_.pop_front();
  if (p.files_total > 0 && p.files_done == p.files_total) return Finish();
  if (tty_)
    Draw(now);
  else
    Plain(now);
}

double ProgressBar::Rate(double now) const {
  if (samples_.empty() || now - samples_.front().first <= 0) return 0;
  return static_cast<double>(last_.bytes_done - samples_.front().second) /
         (now - samples_.front().first);
}

void ProgressBar::Draw(double now) {
  if (last_draw_ >= 0 && now - last_draw_ < kRedrawInterval) return;
  last_draw_ = now;
  const FetchProgress& p = last_;
  double rate = Rate(now);
  std::string line = "\r" + FormatSize(p.bytes_done);
  if (p.bytes_total >= 0) {
    line += " / " + FormatSize(p.bytes_total);
    if (p.bytes_total > 0)
      line += Format("  %3.0f%%", 100.0 * static_cast<double>(p.bytes_done) /
                                      static_cast<double>(p.bytes_total));
  }
  line += "  " + FormatSize(static_cast<int64_t>(rate)) + "/s";
  if (p.bytes_total >= 0 && rate > 0)
    line += "  ETA " + FormatEta(static_cast<double>(p.bytes_total - p.bytes_done) / rate);
  line += "  " + Files(p) + "\x1b[K";
  WriteAll(options_.fd, line);
}

void ProgressBar::Plain(double now) {
  if (now - last_plain_ < kPlainInterval) return;
  last_plain_ = now;
  const FetchProgress& p = last_;
  std::string line = "fetch: " + Files(p) + ", " + FormatSize(p.bytes_done);
  if (p.bytes_total >= 0) line += " of " + FormatSize(p.bytes_total);
  line += ", " + FormatSize(static_cast<int64_t>(Rate(now))) + "/s\n";
  WriteAll(options_.fd, line);
}

void ProgressBar::Finish() {
  if (finished_ || !started_) return;
  finished_ = true;
  double elapsed = options_.now() - start_;
  const FetchProgress& p = last_;
  std::string files = p.files_done == p.files_total
                          ? std::to_string(p.files_done)
                          : std::to_string(p.files_done) + " of " + std::to_string(p.files_total);
  std::string line = tty_ ? "\r\x1b[K" : "";
  line += "fetched " + files + (p.files_total == 1 ? " file, " : " files, ") +
          FormatSize(p.bytes_done) + Format(" in %.1f s", elapsed);
  if (elapsed > 0)
    line += " (" + FormatSize(static_cast<int64_t>(static_cast<double>(p.bytes_done) / elapsed)) +
            "/s)";
  WriteAll(options_.fd, line + "\n");
}

ProgressFn MakeProgressBar(int fd) {
  auto bar = std::make_shared<ProgressBar>(ProgressBarOptions{.fd = fd});
  return [bar](const FetchProgress& p) { bar->Update(p); };
}

}  // namespace imager::repo
