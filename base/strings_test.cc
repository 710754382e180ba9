// SPDX-License-Identifier: GPL-3.0-or-later
#include "base/strings.h"

#include <gtest/gtest.h>

namespace imager {

TEST(StringsTest, SplitKeepsEmptyFields) {
  EXPECT_EQ(Split("a::b", ':'), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(Split("", ':'), (std::vector<std::string>{""}));
}

TEST(StringsTest, ClosestMatchSuggestsTypos) {
  std::vector<std::string> verbs{"run", "check", "build", "profile"};
  EXPECT_EQ(ClosestMatch("chekc", verbs), "check");
  EXPECT_EQ(ClosestMatch("biuld", verbs), "build");
  EXPECT_EQ(ClosestMatch("xyzzyplugh", verbs), "");
}

TEST(StringsTest, ShellQuoteOnlyWhenNeeded) {
  EXPECT_EQ(ShellQuote("/bin/sh"), "/bin/sh");
  EXPECT_EQ(ShellQuote("a b"), "'a b'");
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
}

}  // namespace imager
