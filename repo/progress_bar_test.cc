// SPDX-License-Identifier: GPL-3.0-or-later
#include "repo/progress_bar.h"

#include <gtest/gtest.h>

#include "base/fd.h"

namespace imager::repo {
namespace {

constexpr int64_t kMiB = 1 << 20;

FetchProgress At(int64_t done, int64_t total, int files_done, int files_total) {
  return FetchProgress{done, total, files_done, files_total};
}

class ProgressBarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto pipe = MakePipe();
    ASSERT_TRUE(pipe) << pipe.error();
    pipe_ = std::move(*pipe);
  }

  ProgressBarOptions Options(bool tty) {
    return ProgressBarOptions{.fd = pipe_.write.get(), .tty = tty, .now = [this] { return t_; }};
  }

  // Everything written so far (the bar must be gone, or the write end still open elsewhere).
  std::string Output() {
    pipe_.write.reset();
    std::string out;
    EXPECT_TRUE(ReadAll(pipe_.read.get(), &out));
    return out;
  }

  Pipe pipe_;
  double t_ = 100;
};

TEST_F(ProgressBarTest, TerminalRedrawsOneLineAndClearsItAtTheEnd) {
  {
    ProgressBar bar(Options(true));
    t_ = 101;
    bar.Update(At(1 * kMiB, 4 * kMiB, 1, 4));
    t_ = 101.05;  // too soon to redraw
    bar.Update(At(kMiB + 1000, 4 * kMiB, 1, 4));
    t_ = 102;
    bar.Update(At(2 * kMiB, 4 * kMiB, 2, 4));
    t_ = 104;
    bar.Update(At(4 * kMiB, 4 * kMiB, 4, 4));
    t_ = 200;  // the destructor prints nothing more
  }
  EXPECT_EQ(Output(),
            "\r1.0 MiB / 4.0 MiB   25%  1.0 MiB/s  ETA 0:03  1/4 files\x1b[K"
            "\r2.0 MiB / 4.0 MiB   50%  1.0 MiB/s  ETA 0:02  2/4 files\x1b[K"
            "\r\x1b[Kfetched 4 files, 4.0 MiB in 4.0 s (1.0 MiB/s)\n");
}

TEST_F(ProgressBarTest, TerminalWithUnknownTotalShowsNoEta) {
  {
    ProgressBar bar(Options(true));
    t_ = 102;
    bar.Update(At(512 * 1024, -1, 0, 2));
  }
  EXPECT_EQ(Output(),
            "\r512.0 KiB  256.0 KiB/s  0/2 files\x1b[K"
            "\r\x1b[Kfetched 0 of 2 files, 512.0 KiB in 2.0 s (256.0 KiB/s)\n");
}

TEST_F(ProgressBarTest, PlainPrintsAtMostEveryFiveSecondsAndASummary) {
  {
    ProgressBar bar(Options(false));
    t_ = 101;
    bar.Update(At(1 * kMiB, 10 * kMiB, 1, 10));
    t_ = 104;
    bar.Update(At(2 * kMiB, 10 * kMiB, 2, 10));
    t_ = 106;
    bar.Update(At(3 * kMiB, 10 * kMiB, 3, 10));
    t_ = 109;
    bar.Update(At(4 * kMiB, 10 * kMiB, 4, 10));
    t_ = 112;
    bar.Update(At(6 * kMiB, 10 * kMiB, 6, 10));
    t_ = 120;
    bar.Update(At(10 * kMiB, 10 * kMiB, 10, 10));
  }
  EXPECT_EQ(Output(),
            "fetch: 3/10 files, 3.0 MiB of 10.0 MiB, 409.6 KiB/s\n"  // over 101..106
            "fetch: 6/10 files, 6.0 MiB of 10.0 MiB, 682.7 KiB/s\n"  // over 109..112
            "fetched 10 files, 10.0 MiB in 20.0 s (512.0 KiB/s)\n");
}

TEST_F(ProgressBarTest, ShortBatchPrintsOnlyTheSummary) {
  {
    ProgressBar bar(Options(false));
    t_ = 100.5;
    bar.Update(At(100, 300, 1, 3));
    t_ = 101;
    bar.Update(At(300, 300, 3, 3));
  }
  EXPECT_EQ(Output(), "fetched 3 files, 300 B in 1.0 s (300 B/s)\n");
}

TEST_F(ProgressBarTest, NothingReportedPrintsNothing) {
  { ProgressBar bar(Options(true)); }
  EXPECT_EQ(Output(), "");
}

TEST_F(ProgressBarTest, MadeFunctionFinishesWhenDestroyed) {
  {
    ProgressFn fn = MakeProgressBar(pipe_.write.get());
    fn(At(10, 20, 1, 2));
  }
  std::string out = Output();
  EXPECT_EQ(out.substr(0, 23), "fetched 1 of 2 files, 1") << out;  // a pipe is no terminal
}

TEST(ProgressFormatTest, SizesUseBinaryUnits) {
  EXPECT_EQ(FormatSize(0), "0 B");
  EXPECT_EQ(FormatSize(1023), "1023 B");
  EXPECT_EQ(FormatSize(1536), "1.5 KiB");
  EXPECT_EQ(FormatSize(45 * kMiB + 629146), "45.6 MiB");
  EXPECT_EQ(FormatSize(3 * 1024 * kMiB), "3.0 GiB");
  EXPECT_EQ(FormatSize(2048 * 1024 * kMiB), "2048.0 GiB");
}

}  // namespace
}  // namespace imager::repo
