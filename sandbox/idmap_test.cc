// SPDX-License-Identifier: GPL-3.0-or-later
#include "sandbox/idmap.h"

#include <gtest/gtest.h>

namespace imager::sandbox {

TEST(IdMapTest, ParseSubidMatchesNameOrUid) {
  SubidParse p =
      ParseSubid("alice:100000:65536\nbob:200000:65536\n1000:300000:10\n", "alice", 1000);
  ASSERT_EQ(p.ranges.size(), 2u);
  EXPECT_EQ(p.ranges[0].start, 100000u);
  EXPECT_EQ(p.ranges[1].start, 300000u);
  EXPECT_TRUE(p.warnings.empty());
}

TEST(IdMapTest, ParseSubidReportsMalformedLinesWithNumbers) {
  SubidParse p = ParseSubid(
      "# comment\n\nalice:100000\nalice:x:65536\nalice:100000:0\nalice:4294967295:2\n"
      "alice:500000:1000\n",
      "alice", 1000);
  ASSERT_EQ(p.ranges.size(), 1u);
  EXPECT_EQ(p.ranges[0].start, 500000u);
  ASSERT_EQ(p.warnings.size(), 4u);
  EXPECT_EQ(p.warnings[0].substr(0, 3), "3: ");
  EXPECT_NE(p.warnings[1].find("must be numbers"), std::string::npos);
  EXPECT_NE(p.warnings[2].find("empty or overflowing"), std::string::npos);
  EXPECT_EQ(p.warnings[3].substr(0, 3), "6: ");
}

TEST(IdMapTest, RangeModeMapsRootToCallerAndOneUpToRange) {
  IdMap m = ComputeIdMap(1000, 1001, {{100000, 65536}}, {{200000, 65536}});
  EXPECT_EQ(m.mode, IdMode::kRange);
  EXPECT_EQ(m.uid, (std::vector<IdExtent>{{0, 1000, 1}, {1, 100000, 65535}}));
  EXPECT_EQ(m.gid, (std::vector<IdExtent>{{0, 1001, 1}, {1, 200000, 65535}}));
  EXPECT_EQ(m.max_inside(), 65535u);
  EXPECT_EQ(MapFileText(m.uid), "0 1000 1\n1 100000 65535\n");
  EXPECT_EQ(NewIdMapArgs(42, m.uid),
            (std::vector<std::string>{"42", "0", "1000", "1", "1", "100000", "65535"}));
}

TEST(IdMapTest, SplitRangesAreJoinedAndBothMapsCoverTheSameIds) {
  IdMap m = ComputeIdMap(1000, 1000, {{100000, 10}, {500000, 100000}}, {{200000, 50}});
  EXPECT_EQ(m.uid, (std::vector<IdExtent>{{0, 1000, 1}, {1, 100000, 10}, {11, 500000, 40}}));
  EXPECT_EQ(m.gid, (std::vector<IdExtent>{{0, 1000, 1}, {1, 200000, 50}}));
  EXPECT_EQ(m.max_inside(), 50u);
}

TEST(IdMapTest, NoRangeMeansSingleMode) {
  IdMap m = ComputeIdMap(1000, 1000, {}, {{200000, 65536}});
  EXPECT_EQ(m.mode, IdMode::kSingle);
  EXPECT_EQ(m.uid, (std::vector<IdExtent>{{0, 1000, 1}}));
  EXPECT_EQ(m.max_inside(), 0u);
}

}  // namespace imager::sandbox
