// SPDX-License-Identifier: GPL-3.0-or-later
#include "stages/deb_plan.h"

#include <gtest/gtest.h>

namespace imager::stages {
namespace {

DebInfo Pkg(std::string name, bool essential = false, std::string depends = "",
            std::string pre = "", std::string provides = "") {
  formats::deb::Fields f{
      {"Package", name}, {"Depends", depends}, {"Pre-Depends", pre}, {"Provides", provides}};
  if (essential) f["Essential"] = "yes";
  return DebInfo::FromControl(f);
}

TEST(DebPlanTest, EssentialClosureFollowsDependsAndPreDepends) {
  auto plan = PlanDebInstall({Pkg("libc6"), Pkg("libz", false, "libc6"), Pkg("apt"),
                              Pkg("dpkg", true, "libz (>= 1)"), Pkg("tar", true, "", "libc6")});
  EXPECT_EQ(plan.essential, (std::vector<size_t>{0, 1, 3, 4}));
  ASSERT_EQ(plan.batches.size(), 1u);
  EXPECT_EQ(plan.batches[0], (std::vector<size_t>{2}));
}

TEST(DebPlanTest, FirstPresentAlternativeAndProvides) {
  // awk is provided by mawk; "gawk | mawk" picks mawk because gawk is not in the set.
  auto plan = PlanDebInstall({Pkg("mawk", false, "", "", "awk"), Pkg("base", true, "awk"),
                              Pkg("other", false, "gawk | mawk")});
  EXPECT_EQ(plan.essential, (std::vector<size_t>{0, 1}));
}

TEST(DebPlanTest, NewBatchWhenAPreDependencyIsInTheCurrentBatch) {
  auto plan = PlanDebInstall({Pkg("base", true), Pkg("libshared", false, "base"),
                              Pkg("tool", false, "base"), Pkg("systemd", false, "", "libshared"),
                              Pkg("sysv", false, "systemd"), Pkg("late", false, "", "base")});
  ASSERT_EQ(plan.batches.size(), 2u);
  EXPECT_EQ(plan.batches[0], (std::vector<size_t>{1, 2}));
  // Pre-Depends on an essential package (already installed) needs no new batch.
  EXPECT_EQ(plan.batches[1], (std::vector<size_t>{3, 4, 5}));
}

TEST(DebPlanTest, NothingEssential) {
  auto plan = PlanDebInstall({Pkg("a"), Pkg("b", false, "a")});
  EXPECT_TRUE(plan.essential.empty());
  EXPECT_EQ(plan.batches.size(), 1u);
}

}  // namespace
}  // namespace imager::stages
