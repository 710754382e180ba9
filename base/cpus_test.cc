// SPDX-License-Identifier: GPL-3.0-or-later
#include "base/cpus.h"

#include <gtest/gtest.h>

#include <thread>

namespace imager {
namespace {

TEST(CpusTest, CgroupV2CpuMax) {
  EXPECT_EQ(CpuMaxQuota("max 100000\n"), std::nullopt);
  EXPECT_EQ(CpuMaxQuota("200000 100000\n"), 2u);
  EXPECT_EQ(CpuMaxQuota("150000 100000"), 2u);  // 1.5 CPUs: two workers
  EXPECT_EQ(CpuMaxQuota("10000 100000"), 1u);   // a tenth: still one
  EXPECT_EQ(CpuMaxQuota(""), std::nullopt);
  EXPECT_EQ(CpuMaxQuota("lots 100000"), std::nullopt);
  EXPECT_EQ(CpuMaxQuota("100000 0"), std::nullopt);
}

TEST(CpusTest, CgroupV1CfsQuota) {
  EXPECT_EQ(CfsQuota("-1\n", "100000\n"), std::nullopt);
  EXPECT_EQ(CfsQuota("400000\n", "100000\n"), 4u);
  EXPECT_EQ(CfsQuota("50000", "100000"), 1u);
  EXPECT_EQ(CfsQuota("x", "100000"), std::nullopt);
}

TEST(CpusTest, UsableCpusIsAtLeastOneAndAtMostTheMachines) {
  unsigned n = UsableCpus();
  EXPECT_GE(n, 1u);
  EXPECT_LE(n, std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace
}  // namespace imager
