// SPDX-License-Identifier: GPL-3.0-or-later
#include "families/family.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "installer/installer.h"
#include "profiles/profile.h"

namespace imager::families {
namespace {

TEST(FamiliesTest, EveryFamilyHasOneRowNamedAsInProfiles) {
  for (const auto& [id, name] : profiles::EnumNames<profiles::Family>()) {
    EXPECT_EQ(std::string(Of(id).name), name);
    EXPECT_EQ(
        std::count_if(All().begin(), All().end(), [&](const Family& f) { return f.id == id; }), 1)
        << name;
    EXPECT_NE(Of(id).packages_stage, nullptr) << name;
  }
}

TEST(FamiliesTest, ToolsOnlyForOutputsThatBootAndFamiliesThatHaveThem) {
  profiles::Profile p;
  p.distribution.arch = "amd64";
  p.output.formats = {profiles::Format::kTar};
  EXPECT_TRUE(ToolPackages(p).empty());
  p.output.formats = {profiles::Format::kIso};
  EXPECT_EQ(ToolPackages(p),
            (std::vector<std::string>{"dosfstools", "grub-efi-amd64-signed", "isolinux", "mtools",
                                      "shim-signed", "syslinux-common"}));
  p.boot.signing_key = "/k/db.key";
  auto signing = ToolPackages(p);
  EXPECT_NE(std::find(signing.begin(), signing.end(), "sbsigntool"), signing.end());
  p.boot.signing_key.clear();
  // The boot loaders by the files they install, whatever the vendor names its packages
  // (openEuler's shim, Fedora's shim-x64); the ESP's tools by name.
  p.distribution.family = profiles::Family::kRpm;
  p.distribution.arch = "x86_64";
  EXPECT_EQ(ToolPackages(p),
            (std::vector<std::string>{"/boot/efi/EFI/*/grubx64.efi", "/boot/efi/EFI/*/shimx64.efi",
                                      "/usr/share/syslinux/isolinux.bin", "dosfstools", "mtools"}));
  p.boot.signing_key = "/k/db.key";  // boot.signing: sbsign, by its path
  auto rpm_signing = ToolPackages(p);
  EXPECT_NE(std::find(rpm_signing.begin(), rpm_signing.end(), "/usr/bin/sbsign"),
            rpm_signing.end());
  p.boot.signing_key.clear();
  p.boot.bios = false;
  p.distribution.arch = "aarch64";
  EXPECT_EQ(ToolPackages(p),
            (std::vector<std::string>{"/boot/efi/EFI/*/grubaa64.efi",
                                      "/boot/efi/EFI/*/shimaa64.efi", "dosfstools", "mtools"}));
}

TEST(FamiliesTest, InstallerPackagesForCalamaresOnDebian) {
  profiles::Profile p;
  EXPECT_TRUE(installer::LivePackages(p).empty());
  EXPECT_TRUE(InstalledSystemPackages(p).empty());
  p.installer.type = profiles::InstallerType::kCalamares;
  p.distribution.arch = "amd64";
  p.installer.packages = {"vim", "calamares"};
  auto live = installer::LivePackages(p);
  EXPECT_TRUE(std::is_sorted(live.begin(), live.end()));
  for (const char* want : {"calamares", "dbus", "polkitd", "xinit", "vim", "locales"})
    EXPECT_EQ(std::count(live.begin(), live.end(), want), 1) << want;
  EXPECT_EQ(std::count(live.begin(), live.end(), "qml-module-qtquick2"), 0);
  p.installer.branding.slideshow = "/x/show.qml";
  live = installer::LivePackages(p);
  EXPECT_EQ(std::count(live.begin(), live.end(), "qml-module-qtquick2"), 1);
  EXPECT_EQ(InstalledSystemPackages(p),
            (std::vector<std::string>{"efibootmgr", "grub-efi-amd64-bin", "grub-efi-amd64-signed",
                                      "grub-pc-bin", "grub2-common", "initramfs-tools", "locales",
                                      "shim-signed"}));
  // unpackfs' unsquashfs, and the mkfs of the profile's root filesystem.
  EXPECT_EQ(std::count(live.begin(), live.end(), "squashfs-tools"), 1);
  EXPECT_EQ(std::count(live.begin(), live.end(), "xfsprogs"), 0);
  p.installer.calamares.filesystem = "xfs";
  live = installer::LivePackages(p);
  EXPECT_EQ(std::count(live.begin(), live.end(), "xfsprogs"), 1);
}

}  // namespace
}  // namespace imager::families
