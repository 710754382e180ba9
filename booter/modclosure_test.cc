// SPDX-License-Identifier: GPL-3.0-or-later
#include "booter/modclosure.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace imager::booter {
namespace {

// A slice of a real Debian 6.1 modules.dep, with one compressed name.
constexpr char kDep[] =
    "kernel/fs/isofs/isofs.ko: kernel/drivers/cdrom/cdrom.ko\n"
    "kernel/fs/squashfs/squashfs.ko:\n"
    "kernel/drivers/cdrom/cdrom.ko:\n"
    "kernel/drivers/scsi/sr_mod.ko: kernel/drivers/scsi/scsi_mod.ko "
    "kernel/drivers/scsi/scsi_common.ko kernel/drivers/cdrom/cdrom.ko\n"
    "kernel/drivers/scsi/scsi_mod.ko: kernel/drivers/scsi/scsi_common.ko\n"
    "kernel/drivers/scsi/scsi_common.ko:\n"
    "kernel/drivers/usb/storage/usb-storage.ko.xz: kernel/drivers/scsi/scsi_mod.ko "
    "kernel/drivers/scsi/scsi_common.ko kernel/drivers/usb/core/usbcore.ko.xz "
    "kernel/drivers/usb/common/usb-common.ko.xz\n"
    "kernel/drivers/usb/core/usbcore.ko.xz: kernel/drivers/usb/common/usb-common.ko.xz\n"
    "kernel/drivers/usb/common/usb-common.ko.xz:\n";
constexpr char kBuiltin[] = "kernel/fs/overlayfs/overlay.ko\nkernel/drivers/block/loop.ko\n";

size_t Pos(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) - v.begin();
}

TEST(ModClosureTest, NamesNormalised) {
  EXPECT_EQ(ModuleName("kernel/drivers/usb/storage/usb-storage.ko.xz"), "usb_storage");
  EXPECT_EQ(ModuleName("usb-storage"), "usb_storage");
  EXPECT_EQ(ModuleName("sr_mod.ko.zst"), "sr_mod");
}

TEST(ModClosureTest, DependenciesFirstBuiltinsSkippedNamesKept) {
  auto index = ParseModuleIndex(kDep, kBuiltin);
  ASSERT_TRUE(index) << index.error();
  auto c =
      ComputeClosure(*index, {"isofs", "squashfs", "overlay", "loop", "sr_mod", "usb_storage"});
  ASSERT_TRUE(c) << c.error();
  const auto& p = c->paths;
  EXPECT_EQ(p, (std::vector<std::string>{
                   "kernel/drivers/cdrom/cdrom.ko",
                   "kernel/fs/isofs/isofs.ko",
                   "kernel/fs/squashfs/squashfs.ko",
                   "kernel/drivers/scsi/scsi_common.ko",
                   "kernel/drivers/scsi/scsi_mod.ko",
                   "kernel/drivers/scsi/sr_mod.ko",
                   "kernel/drivers/usb/common/usb-common.ko.xz",
                   "kernel/drivers/usb/core/usbcore.ko.xz",
                   "kernel/drivers/usb/storage/usb-storage.ko.xz",
               }));
  EXPECT_EQ(c->builtin, (std::vector<std::string>{"overlay", "loop"}));
  // Every module comes after all of its dependencies.
  for (const auto& [path, deps] : index->deps_by_path) {
    if (Pos(p, path) == p.size()) continue;
    for (const auto& d : deps) EXPECT_LT(Pos(p, d), Pos(p, path)) << d << " before " << path;
  }
}

TEST(ModClosureTest, UnknownModulesListedTogether) {
  auto index = ParseModuleIndex(kDep, kBuiltin);
  ASSERT_TRUE(index);
  auto c = ComputeClosure(*index, {"isofs", "floppy", "zram"});
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("neither a module nor built in: floppy, zram"), std::string::npos)
      << c.error();
}

TEST(ModClosureTest, CycleAndDanglingDependencyReported) {
  auto index = ParseModuleIndex("a.ko: b.ko\nb.ko: a.ko\nc.ko: d.ko\n", "");
  ASSERT_TRUE(index);
  auto c = ComputeClosure(*index, {"a"});
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("cycle"), std::string::npos) << c.error();
  c = ComputeClosure(*index, {"c"});
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().find("d.ko is a dependency but has no modules.dep line"), std::string::npos);
}

TEST(ModClosureTest, MalformedLine) {
  auto index = ParseModuleIndex("kernel/a.ko\n", "");
  ASSERT_FALSE(index);
  EXPECT_NE(index.error().find("modules.dep:1"), std::string::npos);
}

}  // namespace
}  // namespace imager::booter
