// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/progress.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "base/fd.h"

namespace imager::engine {
namespace {

constexpr double kPlainInterval = 10.0;
constexpr double kJsonInterval = 1.0;
constexpr double kTtyInterval = 0.1;

std::string Amount(uint64_t done, uint64_t total, const std::string& unit) {
  bool bytes = unit == "bytes";
  std::string d = bytes ? FormatBytes(done) : std::to_string(done);
  if (total == 0) return bytes ? d : d + " " + unit;
  std::string t = bytes ? FormatBytes(total) : std::to_string(total);
  return bytes ? d + "/" + t : d + "/" + t + " " + unit;
}

// True when a progress update is due: the first one, a final one, or `interval` after the last.
bool Due(std::map<std::string, double>& last, const std::string& stage, double now, double interval,
         bool final_update) {
  auto it = last.find(stage);
  if (!final_update && it != last.end() && now - it->second < interval) return false;
  last[stage] = now;
  return true;
}

double Millis(double seconds) { return std::round(seconds * 1000) / 1000; }

void EmitJson(const Writer& out, std::time_t now, const std::string& event,
              const std::string& stage, nlohmann::json fields) {
  nlohmann::json j = {{"event", event}, {"stage", stage}, {"time", static_cast<int64_t>(now)}};
  j.update(fields);
  out(j.dump() + "\n");
}

}  // namespace

Clock SystemClock() {
  return {[] {
            using namespace std::chrono;
            return duration<double>(steady_clock::now().time_since_epoch()).count();
          },
          [] { return std::time(nullptr); }};
}

std::string FormatDuration(double seconds) {
  char buf[32];
  if (seconds < 60) {
    snprintf(buf, sizeof buf, "%.1fs", seconds);
  } else if (seconds < 3600) {
    auto s = static_cast<long>(seconds);
    snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  } else {
    auto m = static_cast<long>(seconds) / 60;
    snprintf(buf, sizeof buf, "%ldh%02ldm", m / 60, m % 60);
  }
  return buf;
}

std::string FormatBytes(uint64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes) / 1024;
  size_t u = 0;
  for (; v >= 1024 && u + 1 < std::size(kUnits); ++u) v /= 1024;
  char buf[32];
  snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  return buf;
}

// ---- plain ---------------------------------------------------------------------------------

PlainProgress::PlainProgress(Writer out, Clock clock)
    : out_(std::move(out)), clock_(std::move(clock)) {}

void PlainProgress::Line(const std::string& stage, const std::string& text) {
  std::time_t now = clock_.wall();
  struct tm tm;
  localtime_r(&now, &tm);
  char stamp[16];
  strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
  out_("[" + std::string(stamp) + "] " + stage + ": " + text + "\n");
}

void PlainProgress::StageStarted(const std::string& stage) {
  std::lock_guard lock(mu_);
  Line(stage, "started");
}

void PlainProgress::StageProgress(const std::string& stage, uint64_t done, uint64_t total,
                                  const std::string& unit) {
  std::lock_guard lock(mu_);
  // The first report comes kPlainInterval after the start, like every later one.
  last_progress_.try_emplace(stage, clock_.monotonic());
  if (Due(last_progress_, stage, clock_.monotonic(), kPlainInterval, false))
    Line(stage, Amount(done, total, unit));
}

void PlainProgress::StageNote(const std::string& stage, const std::string& note) {
  std::lock_guard lock(mu_);
  Line(stage, note);
}

void PlainProgress::StageDone(const std::string& stage, double seconds) {
  std::lock_guard lock(mu_);
  last_progress_.erase(stage);
  Line(stage, "done in " + FormatDuration(seconds));
}

void PlainProgress::StageCached(const std::string& stage, const std::string&) {
  std::lock_guard lock(mu_);
  Line(stage, "cached");
}

void PlainProgress::StageFailed(const std::string& stage, double seconds,
                                const std::string& log_path) {
  std::lock_guard lock(mu_);
  last_progress_.erase(stage);
  Line(stage, "FAILED after " + FormatDuration(seconds) + "; log: " + log_path);
}

// ---- JSON ----------------------------------------------------------------------------------

JsonProgress::JsonProgress(Writer out, Clock clock)
    : out_(std::move(out)), clock_(std::move(clock)) {}

void JsonProgress::StageStarted(const std::string& stage) {
  std::lock_guard lock(mu_);
  EmitJson(out_, clock_.wall(), "stage_start", stage, nlohmann::json::object());
}

void JsonProgress::StageProgress(const std::string& stage, uint64_t done, uint64_t total,
                                 const std::string& unit) {
  std::lock_guard lock(mu_);
  bool final_update = total != 0 && done >= total;
  if (!Due(last_progress_, stage, clock_.monotonic(), kJsonInterval, final_update)) return;
  EmitJson(out_, clock_.wall(), "stage_progress", stage,
           {{"done", done}, {"total", total}, {"unit", unit}});
}

void JsonProgress::StageNote(const std::string& stage, const std::string& note) {
  std::lock_guard lock(mu_);
  EmitJson(out_, clock_.wall(), "stage_note", stage, {{"note", note}});
}

void JsonProgress::StageDone(const std::string& stage, double seconds) {
  std::lock_guard lock(mu_);
  last_progress_.erase(stage);
  EmitJson(out_, clock_.wall(), "stage_done", stage, {{"seconds", Millis(seconds)}});
}

void JsonProgress::StageCached(const std::string& stage, const std::string& key) {
  std::lock_guard lock(mu_);
  EmitJson(out_, clock_.wall(), "stage_cached", stage, {{"key", key}});
}

void JsonProgress::StageFailed(const std::string& stage, double seconds,
                               const std::string& log_path) {
  std::lock_guard lock(mu_);
  last_progress_.erase(stage);
  EmitJson(out_, clock_.wall(), "stage_failed", stage,
           {{"seconds", Millis(seconds)}, {"log", log_path}});
}

// ---- TTY -----------------------------------------------------------------------------------

TtyProgress::TtyProgress(Writer out, Clock clock, bool ticker)
    : out_(std::move(out)), clock_(std::move(clock)) {
  if (ticker) ticker_ = std::thread([this] { Tick(); });
}

TtyProgress::~TtyProgress() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

void TtyProgress::Tick() {
  std::unique_lock lock(mu_);
  while (!wake_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stop_; }))
    if (!live_.empty()) DrawLocked();
}

// "\r\033[K" returns to the line's start and clears it: the live line is redrawn in place. It
// shows every running stage (stages run side by side), in name order.
void TtyProgress::DrawLocked() {
  double now = clock_.monotonic();
  std::string text = "\r\033[K";
  for (auto& [stage, live] : live_) {
    text += (text.size() > 4 ? "  |" : "") + std::string("  ") + stage + "  " +
            FormatDuration(now - live.started);
    if (!live.note.empty())
      text += "  " + live.note;
    else if (live.done || live.total)
      text += "  " + Amount(live.done, live.total, live.unit);
    live.drawn = now;
  }
  out_(text);
}

void TtyProgress::FinishLocked(const std::string& stage, const std::string& text) {
  bool was_live = live_.erase(stage) > 0;
  out_(std::string(was_live ? "\r\033[K" : "") + "  " + stage + "  " + text + "\n");
  if (!live_.empty()) DrawLocked();  // the others, on the line below the finished one
}

void TtyProgress::StageStarted(const std::string& stage) {
  std::lock_guard lock(mu_);
  Live& live = live_[stage];
  live.started = clock_.monotonic();
  DrawLocked();
}

void TtyProgress::StageProgress(const std::string& stage, uint64_t done, uint64_t total,
                                const std::string& unit) {
  std::lock_guard lock(mu_);
  Live& live = live_[stage];
  live.done = done;
  live.total = total;
  live.unit = unit;
  live.note.clear();
  if (clock_.monotonic() - live.drawn >= kTtyInterval) DrawLocked();
}

void TtyProgress::StageNote(const std::string& stage, const std::string& note) {
  std::lock_guard lock(mu_);
  Live& live = live_[stage];
  live.note = note;
  DrawLocked();
}

void TtyProgress::StageDone(const std::string& stage, double seconds) {
  std::lock_guard lock(mu_);
  FinishLocked(stage, "done in " + FormatDuration(seconds));
}

void TtyProgress::StageCached(const std::string& stage, const std::string&) {
  std::lock_guard lock(mu_);
  FinishLocked(stage, "cached");
}

void TtyProgress::StageFailed(const std::string& stage, double seconds,
                              const std::string& log_path) {
  std::lock_guard lock(mu_);
  FinishLocked(stage, "FAILED after " + FormatDuration(seconds) + " (log: " + log_path + ")");
}

// ---- choice --------------------------------------------------------------------------------

ProgressStyle ChooseProgressStyle(bool json, int fd) {
  if (json) return ProgressStyle::kJson;
  const char* term = getenv("TERM");
  bool dumb = term && std::string(term) == "dumb";
  return isatty(fd) && !dumb ? ProgressStyle::kTty : ProgressStyle::kPlain;
}

std::unique_ptr<ProgressSink> MakeProgress(ProgressStyle style, int fd) {
  Writer out = [fd](const std::string& s) { WriteAll(fd, s); };
  switch (style) {
    case ProgressStyle::kTty:
      return std::make_unique<TtyProgress>(out, SystemClock(), true);
    case ProgressStyle::kJson:
      return std::make_unique<JsonProgress>(out, SystemClock());
    case ProgressStyle::kPlain:
      break;
  }
  return std::make_unique<PlainProgress>(out, SystemClock());
}

}  // namespace imager::engine
