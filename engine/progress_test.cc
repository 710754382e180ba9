// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/progress.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <vector>

namespace imager::engine {
namespace {

// A hand-driven clock and a writer that keeps every chunk.
class ProgressTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tz = getenv("TZ");
    saved_tz_ = tz ? tz : "";
    had_tz_ = tz != nullptr;
    setenv("TZ", "UTC", 1);
    tzset();
  }
  void TearDown() override {
    if (had_tz_)
      setenv("TZ", saved_tz_.c_str(), 1);
    else
      unsetenv("TZ");
    tzset();
  }
  Clock FakeClock() {
    return {[this] { return now_; }, [this] { return static_cast<std::time_t>(wall_ + now_); }};
  }
  Writer Collect() {
    return [this](const std::string& s) { out_.push_back(s); };
  }

  double now_ = 100;
  std::time_t wall_ = 43200 - 100;  // 12:00:00 UTC at now_ == 100
  std::vector<std::string> out_;
  std::string saved_tz_;
  bool had_tz_ = false;
};

TEST_F(ProgressTest, FormatsDurationsAndSizes) {
  EXPECT_EQ(FormatDuration(3.24), "3.2s");
  EXPECT_EQ(FormatDuration(65), "1m05s");
  EXPECT_EQ(FormatDuration(7380), "2h03m");
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(1536), "1.5 KiB");
  EXPECT_EQ(FormatBytes(3ull << 30), "3.0 GiB");
}

TEST_F(ProgressTest, PlainLinesAreTimestamped) {
  PlainProgress p(Collect(), FakeClock());
  p.StageCached("resolve", "abc");
  p.StageStarted("rootfs");
  now_ += 1;
  p.StageProgress("rootfs", 1, 10, "packages");  // too soon after the start: not shown
  now_ += 10;
  p.StageProgress("rootfs", 5, 10, "packages");
  p.StageProgress("rootfs", 6, 10, "packages");  // too soon after the last
  now_ += 0.5;
  p.StageDone("rootfs", 11.5);
  p.StageStarted("iso");
  p.StageFailed("iso", 0.25, "/b/logs/iso.log");
  EXPECT_EQ(out_, (std::vector<std::string>{
                      "[12:00:00] resolve: cached\n",
                      "[12:00:00] rootfs: started\n",
                      "[12:00:11] rootfs: 5/10 packages\n",
                      "[12:00:11] rootfs: done in 11.5s\n",
                      "[12:00:11] iso: started\n",
                      "[12:00:11] iso: FAILED after 0.2s; log: /b/logs/iso.log\n",
                  }));
}

TEST_F(ProgressTest, JsonIsOneEventPerLineWithRateLimitedProgress) {
  JsonProgress p(Collect(), FakeClock());
  p.StageStarted("fetch");
  p.StageProgress("fetch", 10, 100, "bytes");
  now_ += 0.2;
  p.StageProgress("fetch", 20, 100, "bytes");   // dropped: under a second since the last
  p.StageProgress("fetch", 100, 100, "bytes");  // final: always sent
  now_ += 1.2345;
  p.StageDone("fetch", 1.2345);
  p.StageCached("rootfs", "k1");
  p.StageNote("iso", "waiting");
  p.StageFailed("iso", 2, "/l/iso.log");
  EXPECT_EQ(
      out_,
      (std::vector<std::string>{
          R"({"event":"stage_start","stage":"fetch","time":43200})"
          "\n",
          R"({"done":10,"event":"stage_progress","stage":"fetch","time":43200,"total":100,"unit":"bytes"})"
          "\n",
          R"({"done":100,"event":"stage_progress","stage":"fetch","time":43200,"total":100,"unit":"bytes"})"
          "\n",
          R"({"event":"stage_done","seconds":1.235,"stage":"fetch","time":43201})"
          "\n",
          R"({"event":"stage_cached","key":"k1","stage":"rootfs","time":43201})"
          "\n",
          R"({"event":"stage_note","note":"waiting","stage":"iso","time":43201})"
          "\n",
          R"({"event":"stage_failed","log":"/l/iso.log","seconds":2.0,"stage":"iso","time":43201})"
          "\n",
      }));
}

TEST_F(ProgressTest, TtyRedrawsOneLineInPlaceAndLeavesAFinalLine) {
  TtyProgress p(Collect(), FakeClock(), false);
  p.StageCached("resolve", "k");
  p.StageStarted("rootfs");
  now_ += 2;
  p.StageProgress("rootfs", 3, 0, "packages");
  now_ += 0.05;
  p.StageProgress("rootfs", 4, 0, "packages");  // within 0.1 s of the last redraw: skipped
  now_ += 1;
  p.StageProgress("rootfs", 2048, 4096, "bytes");
  p.StageDone("rootfs", 3.05);
  EXPECT_EQ(out_, (std::vector<std::string>{
                      "  resolve  cached\n",
                      "\r\033[K  rootfs  0.0s",
                      "\r\033[K  rootfs  2.0s  3 packages",
                      "\r\033[K  rootfs  3.0s  2.0 KiB/4.0 KiB",
                      "\r\033[K  rootfs  done in 3.0s\n",
                  }));
}

TEST_F(ProgressTest, TtyShowsEveryRunningStageOnTheLiveLine) {
  TtyProgress p(Collect(), FakeClock(), false);
  p.StageStarted("tools");
  now_ += 1;
  p.StageStarted("packages");
  now_ += 1;
  p.StageProgress("packages", 5, 10, "packages");
  p.StageDone("tools", 2);
  EXPECT_EQ(out_, (std::vector<std::string>{
                      "\r\033[K  tools  0.0s",
                      "\r\033[K  packages  0.0s  |  tools  1.0s",
                      "\r\033[K  packages  1.0s  5/10 packages  |  tools  2.0s",
                      "\r\033[K  tools  done in 2.0s\n",
                      "\r\033[K  packages  1.0s  5/10 packages",
                  }));
}

TEST_F(ProgressTest, TtyTickerRedrawsWithoutEvents) {
  size_t draws = 0;
  {
    TtyProgress p([&](const std::string&) { ++draws; }, SystemClock(), true);
    p.StageStarted("rootfs");
    usleep(1200 * 1000);
    p.StageDone("rootfs", 1.2);
  }
  // Start and done, plus a tick every 0.5 s: two on an idle machine, at least one under load.
  EXPECT_GE(draws, 3u);
  EXPECT_LE(draws, 4u);
}

TEST_F(ProgressTest, StyleFollowsTheFlagAndTheTerminal) {
  EXPECT_EQ(ChooseProgressStyle(true, 1), ProgressStyle::kJson);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  EXPECT_EQ(ChooseProgressStyle(false, fds[1]), ProgressStyle::kPlain);
  close(fds[0]);
  close(fds[1]);
}

}  // namespace
}  // namespace imager::engine
