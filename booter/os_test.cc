// SPDX-License-Identifier: GPL-3.0-or-later
#include "booter/os.h"

#include <gtest/gtest.h>

namespace imager::booter {
namespace {

std::string Image(size_t off, std::string_view magic) {
  std::string img(36 * 1024, '\0');
  img.replace(off, magic.size(), magic);
  return img;
}

TEST(OsTest, SniffsFilesystems) {
  EXPECT_EQ(SniffFilesystem(Image(32769, "CD001")), "iso9660");
  EXPECT_EQ(SniffFilesystem(Image(1080, "\x53\xef")), "ext4");
  EXPECT_EQ(SniffFilesystem(Image(0, "hsqs")), "squashfs");
  auto fat = Image(510, "\x55\xaa");
  EXPECT_EQ(SniffFilesystem(fat), "");  // an MBR alone is not a filesystem
  fat.replace(82, 5, "FAT32");
  EXPECT_EQ(SniffFilesystem(fat), "vfat");
  // An isohybrid image has an MBR at 0 and the ISO volume descriptor: it is an ISO.
  auto hybrid = Image(32769, "CD001");
  hybrid.replace(510, 2, "\x55\xaa");
  EXPECT_EQ(SniffFilesystem(hybrid), "iso9660");
  EXPECT_EQ(SniffFilesystem(std::string(100, '\0')), "");  // short read
}

TEST(OsTest, ClassNamesRoundTrip) {
  EXPECT_EQ(ClassNames(kUsb | kDisk | kRemovable), "usb,disk,removable");
  for (const auto& n : AllClassNames()) EXPECT_EQ(ClassNames(ClassFromName(n)), n);
  EXPECT_EQ(ClassFromName("floppy"), 0u);
}

}  // namespace
}  // namespace imager::booter
