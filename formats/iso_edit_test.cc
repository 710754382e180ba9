// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/iso_edit.h"

#include <gtest/gtest.h>

namespace imager::formats::iso {
namespace {

TEST(IsoEditTest, VolumeDateInUtc) {
  auto [digits, t] = VolumeDate(std::string("2023111422132000") + '\0');
  EXPECT_EQ(digits, "2023111422132000");
  EXPECT_EQ(t, 1700000000);
}

TEST(IsoEditTest, VolumeDateWithOffset) {
  // 23:13:20 at UTC+01:00 (4 quarters of an hour) is 22:13:20 UTC.
  EXPECT_EQ(VolumeDate(std::string("2023111423132000") + '\x04').second, 1700000000);
}

TEST(IsoEditTest, VolumeDateUnsetOrMalformed) {
  EXPECT_EQ(VolumeDate(std::string(16, '0') + '\0').first, "");
  EXPECT_EQ(VolumeDate(std::string(16, ' ') + '\0').second, -1);
  EXPECT_EQ(VolumeDate("2023").first, "");
}

}  // namespace
}  // namespace imager::formats::iso
