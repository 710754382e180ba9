// SPDX-License-Identifier: GPL-3.0-or-later
#include "inside/initramfs.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/fd.h"

namespace imager::inside {
namespace {

namespace fs = std::filesystem;

// Image trees with a kernel in Debian's layout (/boot/vmlinuz-RELEASE) or in Fedora's and
// openEuler's (/lib/modules/RELEASE/vmlinuz, /lib a symlink to usr/lib).
class MakeInitramfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("initramfs-test-" + std::to_string(getpid()));
    fs::create_directories(dir_ / "out");
    std::ofstream(dir_ / "booter") << "booter";
  }
  void TearDown() override { fs::remove_all(dir_); }
  // A module directory with one module, squashfs, that needs nothing else.
  void Modules(const fs::path& moddir) {
    fs::create_directories(moddir / "kernel/fs");
    std::ofstream(moddir / "kernel/fs/squashfs.ko") << "ko";
    std::ofstream(moddir / "modules.dep") << "kernel/fs/squashfs.ko:\n";
    std::ofstream(moddir / "modules.builtin") << "";
  }
  Result<InitramfsResult> Make() {
    InitramfsInputs in{.booter = (dir_ / "booter").string(),
                       .config = "id=x\n",
                       .modules = {"squashfs", "nvme"},
                       .source_date_epoch = 1};
    return MakeInitramfs((dir_ / "root").string(), (dir_ / "out").string(), in);
  }
  std::string Kernel() {
    auto k = ReadFile((dir_ / "out/vmlinuz").string());
    return k ? *k : k.error();
  }
  fs::path dir_;
};

TEST_F(MakeInitramfsTest, DebianLayout) {
  Modules(dir_ / "root/lib/modules/6.1.0-1-amd64");
  fs::create_directories(dir_ / "root/boot");
  std::ofstream(dir_ / "root/boot/vmlinuz-6.1.0-1-amd64") << "debian kernel";
  auto r = Make();
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->release, "6.1.0-1-amd64");
  EXPECT_EQ(r->modules, std::vector<std::string>{"kernel/fs/squashfs.ko"});
  EXPECT_EQ(r->missing, std::vector<std::string>{"nvme"});
  EXPECT_EQ(Kernel(), "debian kernel");
}

TEST_F(MakeInitramfsTest, KernelInTheModuleDirectoryUnderUsr) {
  Modules(dir_ / "root/usr/lib/modules/6.6.0-28.oe2403.x86_64");
  std::ofstream(dir_ / "root/usr/lib/modules/6.6.0-28.oe2403.x86_64/vmlinuz") << "oe kernel";
  fs::create_directory_symlink("usr/lib", dir_ / "root/lib");
  // An older release without its image is not a candidate, however it sorts.
  Modules(dir_ / "root/usr/lib/modules/7.0.0");
  auto r = Make();
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->release, "6.6.0-28.oe2403.x86_64");
  EXPECT_EQ(Kernel(), "oe kernel");
}

TEST_F(MakeInitramfsTest, NoKernelNamesBothLayouts) {
  Modules(dir_ / "root/lib/modules/6.1.0-1-amd64");
  auto r = Make();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("/boot/vmlinuz-RELEASE or /lib/modules/RELEASE/vmlinuz"),
            std::string::npos)
      << r.error();
}

}  // namespace
}  // namespace imager::inside
