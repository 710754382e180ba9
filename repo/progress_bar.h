// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// ProgressBar shows a download batch's FetchProgress: on a terminal, one line redrawn in place
/// with \r (bytes done/total, rate, ETA, files done/total) and erased at the end; elsewhere, a
/// plain line at most every 5 seconds. Both end with one summary line, e.g. "fetched 123 files,
/// 45.6 MiB in 7.8 s (5.8 MiB/s)". Not thread-safe: the fetcher calls it from one thread.

#include <unistd.h>

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "repo/fetch.h"

namespace imager::repo {

struct ProgressBarOptions {
  int fd = STDERR_FILENO;       // not owned
  std::optional<bool> tty;      // default: isatty(fd)
  std::function<double()> now;  // monotonic seconds; default: the steady clock
};

class ProgressBar {
 public:
  explicit ProgressBar(ProgressBarOptions options = {});
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  void Update(const FetchProgress& p);
  /// Erases the live line and prints the summary, once; Update calls it when every file is
  /// done, the destructor when some never were.
  void Finish();

 private:
  void Draw(double now);
  void Plain(double now);
  double Rate(double now) const;

  ProgressBarOptions options_;
  bool tty_;
  double start_;
  double last_draw_ = -1;
  double last_plain_;
  std::deque<std::pair<double, int64_t>> samples_;  // (time, bytes) of the last seconds
  bool started_ = false;
  bool finished_ = false;
  FetchProgress last_;
};

/// A ProgressFn that owns a ProgressBar writing to `fd`; the bar finishes when every file is
/// done or when the last copy of the function is destroyed.
ProgressFn MakeProgressBar(int fd = STDERR_FILENO);

/// "512 B", "1.5 KiB", "45.6 MiB", "3.0 GiB".
std::string FormatSize(int64_t bytes);

}  // namespace imager::repo
