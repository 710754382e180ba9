// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// ProgressSink receives a build's stage events and renders them: a live line per stage on a
/// terminal, timestamped lines in a CI log, or a JSON event stream for programs. Every sink
/// accepts calls from any thread.

#include <condition_variable>
#include <cstdint>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace imager::engine {

class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void StageStarted(const std::string& stage) = 0;
  /// `total` 0 means unknown; `unit` "bytes" is shown as KiB/MiB/GiB, anything else as a count.
  virtual void StageProgress(const std::string& stage, uint64_t done, uint64_t total,
                             const std::string& unit) = 0;
  /// Something the user should know while the stage waits, e.g. for another build's lock.
  virtual void StageNote(const std::string& stage, const std::string& note) = 0;
  virtual void StageDone(const std::string& stage, double seconds) = 0;
  virtual void StageCached(const std::string& stage, const std::string& key) = 0;
  virtual void StageFailed(const std::string& stage, double seconds,
                           const std::string& log_path) = 0;
};

/// Where sinks get the time; tests substitute fixed clocks.
struct Clock {
  std::function<double()> monotonic;  // seconds, for durations and rate limits
  std::function<std::time_t()> wall;  // for timestamps
};
Clock SystemClock();

/// Where sinks write; MakeProgress connects it to a file descriptor.
using Writer = std::function<void(const std::string&)>;

/// "3.2s", "1m05s", "2h03m".
std::string FormatDuration(double seconds);
/// "512 B", "1.5 KiB", "3.0 GiB".
std::string FormatBytes(uint64_t bytes);

/// Timestamped lines for logs: "[12:00:01] rootfs: started", "... done in 3.2s", "cached".
/// Progress is printed at most every 10 s per stage.
class PlainProgress : public ProgressSink {
 public:
  PlainProgress(Writer out, Clock clock);
  void StageStarted(const std::string& stage) override;
  void StageProgress(const std::string& stage, uint64_t done, uint64_t total,
                     const std::string& unit) override;
  void StageNote(const std::string& stage, const std::string& note) override;
  void StageDone(const std::string& stage, double seconds) override;
  void StageCached(const std::string& stage, const std::string& key) override;
  void StageFailed(const std::string& stage, double seconds, const std::string& log_path) override;

 private:
  void Line(const std::string& stage, const std::string& text);
  Writer out_;
  Clock clock_;
  std::mutex mu_;
  std::map<std::string, double> last_progress_;
};

/// One JSON object per line: {"event": "stage_start" | "stage_progress" | "stage_note" |
/// "stage_done" | "stage_cached" | "stage_failed", "stage": ..., "time": unix seconds, ...}.
/// Progress events are sent at most once a second per stage, and always when done == total.
class JsonProgress : public ProgressSink {
 public:
  JsonProgress(Writer out, Clock clock);
  void StageStarted(const std::string& stage) override;
  void StageProgress(const std::string& stage, uint64_t done, uint64_t total,
                     const std::string& unit) override;
  void StageNote(const std::string& stage, const std::string& note) override;
  void StageDone(const std::string& stage, double seconds) override;
  void StageCached(const std::string& stage, const std::string& key) override;
  void StageFailed(const std::string& stage, double seconds, const std::string& log_path) override;

 private:
  Writer out_;
  Clock clock_;
  std::mutex mu_;
  std::map<std::string, double> last_progress_;
};

/// A live line for the running stage, redrawn in place with \r (elapsed time, done/total); a
/// finished stage leaves one final line. With `ticker`, a thread redraws twice a second so the
/// elapsed time moves even when the stage reports nothing.
class TtyProgress : public ProgressSink {
 public:
  TtyProgress(Writer out, Clock clock, bool ticker);
  ~TtyProgress() override;
  void StageStarted(const std::string& stage) override;
  void StageProgress(const std::string& stage, uint64_t done, uint64_t total,
                     const std::string& unit) override;
  void StageNote(const std::string& stage, const std::string& note) override;
  void StageDone(const std::string& stage, double seconds) override;
  void StageCached(const std::string& stage, const std::string& key) override;
  void StageFailed(const std::string& stage, double seconds, const std::string& log_path) override;

 private:
  struct Live {
    double started = 0, drawn = -1;
    uint64_t done = 0, total = 0;
    std::string unit, note;
  };
  void DrawLocked();
  void FinishLocked(const std::string& stage, const std::string& text);
  void Tick();

  Writer out_;
  Clock clock_;
  std::mutex mu_;
  std::map<std::string, Live> live_;
  bool stop_ = false;
  std::condition_variable wake_;
  std::thread ticker_;
};

enum class ProgressStyle { kTty, kPlain, kJson };
/// JSON when asked for, a live display when `fd` is a terminal, plain lines otherwise.
ProgressStyle ChooseProgressStyle(bool json, int fd);
std::unique_ptr<ProgressSink> MakeProgress(ProgressStyle style, int fd);

}  // namespace imager::engine
