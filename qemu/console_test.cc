// SPDX-License-Identifier: GPL-3.0-or-later
#include "qemu/console.h"

#include <gtest/gtest.h>

namespace imager::qemu {
namespace {

TEST(ConsoleWatcherTest, MatchesALineSplitAcrossChunks) {
  std::regex re("Welcome to [A-Z]+");
  ConsoleWatcher w(&re);
  EXPECT_FALSE(w.Feed("boot...\r\nWelc"));
  EXPECT_FALSE(w.Feed("ome to "));
  EXPECT_TRUE(w.Feed("DEBIAN!\r\n"));
  EXPECT_EQ(w.matched_line(), "Welcome to DEBIAN!");
}

TEST(ConsoleWatcherTest, StripsEscapeSequencesLikeOvmfsOutput) {
  std::regex re("^Shell> $");
  ConsoleWatcher w(&re);
  EXPECT_FALSE(w.Feed("\x1b[2J\x1b[01;01H\x1b[=3hBdsDxe: loading Boot0002\r\n"));
  EXPECT_TRUE(w.Feed("\x1b[08;01H\x1b[1m\x1b[33m\x1b[40mShell> \x1b[0m\x1b[37m\x1b[40m"));
  auto tail = w.Tail();
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail[0], "BdsDxe: loading Boot0002");
  EXPECT_EQ(tail[1], "Shell> ");
}

TEST(ConsoleWatcherTest, MatchesAnUnfinishedPromptLine) {
  std::regex re("login: $");
  ConsoleWatcher w(&re);
  EXPECT_TRUE(w.Feed("Debian GNU/Linux 12 live ttyS0\n\nlive login: "));
  EXPECT_EQ(w.matched_line(), "live login: ");
}

TEST(ConsoleWatcherTest, KeepsTheLastLines) {
  ConsoleWatcher w(nullptr, 3);
  for (int i = 0; i < 10; ++i) EXPECT_FALSE(w.Feed("line " + std::to_string(i) + "\n"));
  w.Feed("\x1b]0;title\aunfinished");
  EXPECT_EQ(w.Tail(), (std::vector<std::string>{"line 8", "line 9", "unfinished"}));
  EXPECT_FALSE(w.matched());
}

TEST(ConsoleWatcherTest, NoMatchStaysFalse) {
  std::regex re("never");
  ConsoleWatcher w(&re);
  EXPECT_FALSE(w.Feed("SeaBIOS (version 1.16.2-debian-1.16.2-1)\nBooting from DVD/CD...\n"));
  EXPECT_FALSE(w.matched());
}

}  // namespace
}  // namespace imager::qemu
