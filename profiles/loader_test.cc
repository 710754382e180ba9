// SPDX-License-Identifier: GPL-3.0-or-later
#include "profiles/loader.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "base/fs.h"

namespace imager::profiles {
namespace {

namespace fs = std::filesystem;

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir(fs::temp_directory_path().string(), "imager-loader-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = fs::canonical(*d).string();
    Write("k.asc", "key\n");
  }
  void TearDown() override { ASSERT_TRUE(RemoveTree(dir_)); }

  // Writes DIR/REL (creating directories) and returns its path.
  std::string Write(const std::string& rel, const std::string& text) {
    fs::path p = fs::path(dir_) / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
  // The error of loading REL, expected to fail.
  std::string LoadError(const std::string& rel) {
    auto p = LoadProfile(dir_ + "/" + rel);
    EXPECT_FALSE(p) << "loaded although it should not";
    return p ? "" : p.error();
  }

  std::string dir_;
};

constexpr const char* kMinimal = R"(name: mini
distribution: {family: debian}
repositories:
  - suite: bookworm
    keyring: k.asc
)";

TEST_F(LoaderTest, MinimalProfileGetsEveryDefault) {
  auto p = LoadProfile(Write("mini.yaml", kMinimal));
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->name, "mini");
  EXPECT_EQ(p->distribution.release, "bookworm");
  EXPECT_EQ(p->distribution.arch, "amd64");
  ASSERT_EQ(p->repositories.size(), 1u);
  const Repository& r = p->repositories[0];
  EXPECT_EQ(r.type, RepoType::kDeb);
  EXPECT_EQ(r.mirror, "auto");
  EXPECT_EQ(r.components, std::vector<std::string>{"main"});
  EXPECT_EQ(r.keyring, dir_ + "/k.asc");
  EXPECT_EQ(p->packages.variant, Variant::kMinbase);
  EXPECT_FALSE(p->packages.recommends);
  EXPECT_EQ(p->base.kind, BaseKind::kNone);
  EXPECT_EQ(p->rootfs.hostname, "imager");
  EXPECT_EQ(p->rootfs.root_password.kind, Password::Kind::kNone);
  EXPECT_EQ(p->rootfs.locale, "C.UTF-8");
  EXPECT_EQ(p->rootfs.timezone, "Etc/UTC");
  EXPECT_EQ(p->installer.type, InstallerType::kNone);
  EXPECT_EQ(p->boot.probe, (std::vector<std::string>{"cdrom", "usb", "disk"}));
  EXPECT_EQ(p->boot.timeout, 30);
  EXPECT_TRUE(p->boot.bios && p->boot.uefi && !p->boot.toram);
  EXPECT_EQ(p->output.formats, std::vector<Format>{Format::kIso});
  EXPECT_EQ(p->output.volume_id, "MINI");
  EXPECT_EQ(p->output.checksum, Checksum::kSha256);
  EXPECT_TRUE(p->warnings.empty());
  EXPECT_EQ(p->chain, std::vector<std::string>{dir_ + "/mini.yaml"});
  EXPECT_EQ(p->Where("repositories[0].suite").ToString(), dir_ + "/mini.yaml:4:12");
  EXPECT_EQ(p->Where("repositories[0].keyring").ToString(), dir_ + "/mini.yaml:5:14");
  EXPECT_EQ(p->Where("boot.timeout").ToString(), dir_ + "/mini.yaml:1:1");
}

TEST_F(LoaderTest, PathsBecomeAbsoluteWhenTheProfileIsGivenRelatively) {
  Write("mini.yaml", kMinimal);
  fs::path cwd = fs::current_path();
  fs::current_path(dir_);
  auto here = LoadProfile("mini.yaml");
  auto up = LoadProfile("../" + fs::path(dir_).filename().string() + "/mini.yaml");
  fs::current_path(cwd);
  ASSERT_TRUE(here) << here.error();
  EXPECT_EQ(here->source, "mini.yaml");
  EXPECT_EQ(here->repositories[0].keyring, dir_ + "/k.asc");
  ASSERT_TRUE(up) << up.error();
  EXPECT_EQ(up->repositories[0].keyring, dir_ + "/k.asc");
}

TEST_F(LoaderTest, FullProfileReadsEveryKey) {
  Write("overlay/etc/motd", "hi\n");
  Write("scripts/customize.sh", "#!/bin/sh\n");
  chmod((dir_ + "/scripts/customize.sh").c_str(), 0755);
  Write("base.tar", "");
  Write("logo.png", "");
  auto p = LoadProfile(Write("full.yaml", R"(version: 1
name: full
description: Everything
distribution: {family: debian, release: bookworm, arch: arm64}
repositories:
  - {type: deb, mirror: "http://mirror.example/debian/", suite: bookworm,
     components: [main, contrib], keyring: k.asc}
packages: {variant: important, include: [a, linux-image-arm64], exclude: [c], recommends: true}
base: {tar: base.tar}
rootfs:
  hostname: box.example
  root_password: {hash: "$6$salt$hash"}
  users: [{name: live, groups: [sudo, audio], password: {plain: live}, uid: 1000, shell: /bin/sh}]
  files: [{from: overlay/, to: /}]
  run: [scripts/customize.sh]
  services: {enable: [ssh], disable: [cron]}
  locale: de_DE.UTF-8
  timezone: Europe/Berlin
installer: {type: calamares, offline_packages: [grub-efi], branding: {product_name: Box, logo: logo.png}}
boot: {cmdline: "quiet splash", probe: [virtio, /dev/vd*], timeout: 0, toram: true, bios: false, uefi: true, serial: "ttyS0,115200"}
output: {formats: [iso, squashfs], volume_id: BOX_1, checksum: none}
)"));
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->distribution.arch, "arm64");
  EXPECT_EQ(p->repositories[0].mirror, "http://mirror.example/debian/");
  EXPECT_EQ(p->repositories[0].components, (std::vector<std::string>{"main", "contrib"}));
  EXPECT_EQ(p->packages.variant, Variant::kImportant);
  EXPECT_EQ(p->packages.exclude, std::vector<std::string>{"c"});
  EXPECT_TRUE(p->packages.recommends);
  EXPECT_EQ(p->base.kind, BaseKind::kTar);
  EXPECT_EQ(p->base.path, dir_ + "/base.tar");
  EXPECT_EQ(p->rootfs.hostname, "box.example");
  EXPECT_EQ(p->rootfs.root_password.kind, Password::Kind::kHash);
  EXPECT_EQ(p->rootfs.root_password.value, "$6$salt$hash");
  ASSERT_EQ(p->rootfs.users.size(), 1u);
  EXPECT_EQ(p->rootfs.users[0].groups, (std::vector<std::string>{"sudo", "audio"}));
  EXPECT_EQ(p->rootfs.users[0].password.value, "live");
  EXPECT_EQ(p->rootfs.users[0].uid, 1000u);
  EXPECT_EQ(p->rootfs.users[0].shell, "/bin/sh");
  ASSERT_EQ(p->rootfs.files.size(), 1u);
  EXPECT_EQ(p->rootfs.files[0].from, dir_ + "/overlay/");
  EXPECT_EQ(p->rootfs.files[0].to, "/");
  EXPECT_EQ(p->rootfs.run, std::vector<std::string>{dir_ + "/scripts/customize.sh"});
  EXPECT_EQ(p->rootfs.services.disable, std::vector<std::string>{"cron"});
  EXPECT_EQ(p->rootfs.timezone, "Europe/Berlin");
  EXPECT_EQ(p->installer.type, InstallerType::kCalamares);
  EXPECT_EQ(p->installer.offline_packages, std::vector<std::string>{"grub-efi"});
  EXPECT_EQ(p->installer.branding.logo, dir_ + "/logo.png");
  EXPECT_EQ(p->boot.probe, (std::vector<std::string>{"virtio", "/dev/vd*"}));
  EXPECT_EQ(p->boot.timeout, 0);
  EXPECT_TRUE(p->boot.toram);
  EXPECT_FALSE(p->boot.bios);
  EXPECT_EQ(p->boot.serial, "ttyS0,115200");
  EXPECT_EQ(p->output.formats, (std::vector<Format>{Format::kIso, Format::kSquashfs}));
  EXPECT_EQ(p->output.volume_id, "BOX_1");
  EXPECT_EQ(p->output.checksum, Checksum::kNone);
  EXPECT_EQ(p->Where("rootfs.users[0].uid").ToString(), dir_ + "/full.yaml:13:77");
}

TEST_F(LoaderTest, ShippedDefaultProfileLoads) {
  std::string path = (fs::path(__FILE__).parent_path() / "debian-live.yaml").string();
  auto p = LoadProfile(path);
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->name, "debian-live");
  EXPECT_EQ(p->repositories[0].mirror, "auto");
  // __FILE__ may be relative (ccache's base_dir); the loader makes the path absolute.
  EXPECT_EQ(
      p->repositories[0].keyring,
      fs::weakly_canonical(fs::absolute(fs::path(path).parent_path() / "keys/debian-bookworm.asc"))
          .string());
  EXPECT_EQ(p->packages.include, (std::vector<std::string>{"linux-image-amd64", "systemd-sysv"}));
  EXPECT_EQ(p->output.volume_id, "DEBIAN_LIVE");
  EXPECT_TRUE(p->warnings.empty());
}

TEST_F(LoaderTest, ReportsEveryProblemTogetherInFileOrder) {
  Write("bad.yaml", R"(name: bad
distribution: {family: debain}
repositories:
  - type: deb
    mirror: ftp.example
    keyring: missing.asc
packages:
  include: linux-image-amd64
  recommends: yes
rootfs:
  hostnmae: box
boot: {timeout: soon, probe: [cdrom, usbb]}
output: {formats: [iso, iso], volume_id: debian-live}
color: blue
)");
  std::string f = dir_ + "/bad.yaml";
  EXPECT_EQ(
      LoadError("bad.yaml"),
      f + ":2:24: distribution.family: unknown value 'debain'; did you mean 'debian'? " +
          "(allowed: debian, rpm)\n" + f +
          ":4:5: repositories[0].suite: missing (required unless " +
          "distribution.release is set)\n" + f +
          ":5:13: repositories[0].mirror: 'ftp.example' is neither auto nor a URL " +
          "(allowed: auto, http://..., https://..., file:/...)\n" + f +
          ":6:14: repositories[0].keyring: '" + dir_ + "/missing.asc' does not exist " +
          "(paths are relative to the profile's file)\n" + f +
          ":8:12: packages.include: expected a list, got a scalar 'linux-image-amd64'\n" + f +
          ":9:15: packages.recommends: expected true or false, got a scalar 'yes'\n" + f +
          ":11:3: rootfs.hostnmae: unknown key; did you mean 'hostname'?\n" + f +
          ":12:17: boot.timeout: expected an integer from 0 to 3600, got a scalar " + "'soon'\n" +
          f + ":12:38: boot.probe[1]: unknown value 'usbb'; did you mean 'usb'? (allowed: " +
          "cdrom, usb, disk, virtio, nvme, /dev/PATH)\n" + f +
          ":13:25: output.formats[1]: duplicate format 'iso'\n" + f +
          ":13:42: output.volume_id: 'debian-live' is not a volume id (allowed: 1 to " +
          "32 of A-Z, 0-9 and _)\n" + f +
          ":14:1: color: unknown key (allowed: version, name, description, extends, " +
          "distribution, repositories, packages, base, rootfs, installer, boot, output, build)");
}

TEST_F(LoaderTest, MissingRequiredKeys) {
  Write("empty-map.yaml", "# nothing yet\n{}\n");
  std::string f = dir_ + "/empty-map.yaml";
  EXPECT_EQ(
      LoadError("empty-map.yaml"),
      f + ":2:1: name: missing (required)\n" + f +
          ":2:1: distribution.family: missing (allowed: debian, rpm)\n" + f +
          ":2:1: repositories: missing (at least one is required unless a base: is set and no "
          "packages are included)");
  Write("empty.yaml", "");
  EXPECT_EQ(LoadError("empty.yaml"),
            dir_ + "/empty.yaml:1:1: profile: expected a map of settings, got null");
}

TEST_F(LoaderTest, WrongTypesNameWhatWasExpected) {
  Write("types.yaml", R"(name: [a]
distribution: debian
repositories: {suite: bookworm}
boot: {toram: "true", timeout: 99999}
rootfs: {users: [{name: live, groups: sudo}]}
)");
  std::string f = dir_ + "/types.yaml";
  EXPECT_EQ(LoadError("types.yaml"),
            f + ":1:7: name: expected a string, got a list\n" + f +
                ":2:15: distribution: expected a map, got a scalar 'debian'\n" + f +
                ":3:15: repositories: expected a list, got a map\n" + f +
                ":4:15: boot.toram: expected true or false, got a scalar 'true'\n" + f +
                ":4:32: boot.timeout: expected an integer from 0 to 3600, got a scalar " +
                "'99999'\n" + f +
                ":5:39: rootfs.users[0].groups: expected a list, got a scalar 'sudo'");
}

TEST_F(LoaderTest, PlainRootPasswordIsAWarningNotAnError) {
  Write("pw.yaml", std::string(kMinimal) + "rootfs:\n  root_password: {plain: secret}\n");
  auto p = LoadProfile(dir_ + "/pw.yaml");
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->rootfs.root_password.kind, Password::Kind::kPlain);
  EXPECT_EQ(p->warnings, std::vector<std::string>{
                             dir_ + "/pw.yaml:7:26: rootfs.root_password.plain: a " +
                             "plain-text password is kept in the profile and the build " +
                             "cache; prefer {hash: ...} (make one with: openssl passwd -6)"});
}

TEST_F(LoaderTest, BasePasswordsInstallerAndBootRules) {
  Write("base.tar", "");
  Write("rules.yaml", std::string(kMinimal) + R"(base: {tar: base.tar, oci: img}
rootfs:
  root_password: {hash: secret}
  users: [{name: a, password: {hash: "$y$x", plain: b}}, {name: a}]
  files: [{from: nothing/, to: etc}]
installer: {type: none, offline_packages: [x]}
boot: {bios: false, uefi: false, serial: com1}
)");
  std::string f = dir_ + "/rules.yaml";
  EXPECT_EQ(LoadError("rules.yaml"),
            f + ":6:7: base: give tar or oci, not both\n" + f +
                ":8:25: rootfs.root_password.hash: not a crypt(3) hash (allowed: $6$..., " +
                "$y$...; make one with: openssl passwd -6)\n" + f +
                ":9:31: rootfs.users[0].password: give hash or plain, not both\n" + f +
                ":9:65: rootfs.users[1].name: duplicate user 'a'\n" + f +
                ":10:18: rootfs.files[0].from: '" + dir_ + "/nothing/' does not exist " +
                "(paths are relative to the profile's file)\n" + f +
                ":10:32: rootfs.files[0].to: 'etc' is not an absolute path in the image\n" + f +
                ":11:25: installer.offline_packages: only for installer.type calamares or " +
                "anaconda\n" + f +
                ":12:27: boot: bios and uefi are both false: the iso could not boot\n" + f +
                ":12:42: boot.serial: 'com1' is not a serial console (allowed: " +
                "ttyNAME[,BAUD], e.g. ttyS0,115200)");
  Write("oci.yaml", std::string(kMinimal) + "base: {oci: .}\n");
  auto p = LoadProfile(dir_ + "/oci.yaml");
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->base.kind, BaseKind::kOci);
  EXPECT_EQ(p->base.path, dir_);
  EXPECT_EQ(p->base.tag, "");
  Write("ocitag.yaml", std::string(kMinimal) + "base: {oci: '.:v1'}\n");
  auto t = LoadProfile(dir_ + "/ocitag.yaml");
  ASSERT_TRUE(t) << t.error();
  EXPECT_EQ(t->base.path, dir_);
  EXPECT_EQ(t->base.tag, "v1");
  Write("none.yaml", std::string(kMinimal) + "base: nothing\n");
  EXPECT_EQ(LoadError("none.yaml"), dir_ + "/none.yaml:6:7: base: unknown value 'nothing' " +
                                        "(allowed: none, {tar: PATH}, {oci: PATH[:TAG]})");
}
TEST_F(LoaderTest, CalamaresInstallerChecks) {
  Write("logo.png", "");
  Write("notes.txt", "");
  const std::string head = std::string(kMinimal) + "packages: {include: [systemd-sysv]}\n";
  Write("cal.yaml", head + R"(installer:
  type: calamares
  branding: {logo: nologo.png, slideshow: notes.txt}
  calamares:
    filesystem: ext3
    show: [welcome, unpackfs, partiton]
    exec: [partition, services, shellprocess@x]
)");
  std::string f = dir_ + "/cal.yaml";
  EXPECT_EQ(
      LoadError("cal.yaml"),
      f + ":8:9: installer.type: an installer installs the image's kernel, but " +
          "packages.include has none (add e.g. linux-image-amd64)\n" + f +
          ":9:20: installer.branding.logo: '" + dir_ + "/nologo.png' does not exist (paths are " +
          "relative to the profile's file)\n" + f + ":9:43: installer.branding.slideshow: '" +
          dir_ + "/notes.txt' is neither a QML " +
          "slideshow nor an image (allowed: .qml, .png, .svg, .jpg)\n" + f +
          ":11:17: installer.calamares.filesystem: unknown value 'ext3'; did you mean 'ext4'? " +
          "(allowed: ext4, xfs, btrfs)\n" + f +
          ":12:21: installer.calamares.show[1]: 'unpackfs' is a job module, not a page; list it " +
          "in calamares.exec\n" + f +
          ":12:31: installer.calamares.show[2]: unknown Calamares module 'partiton'; did you " +
          "mean 'partition'? (allowed: the modules of Debian's calamares 3.2.61: bootloader, " +
          "contextualprocess, displaymanager, dracut, dracutlukscfg, dummycpp, dummyprocess, " +
          "dummypython, finished, finishedq, fsresizer, fstab, grubcfg, hostinfo, hwclock, " +
          "initcpio, initcpiocfg, initramfs, initramfscfg, interactiveterminal, keyboard, " +
          "keyboardq, license, locale, localecfg, localeq, luksbootkeyfile, " +
          "luksopenswaphookcfg, machineid, mkinitfs, mount, netinstall, networkcfg, notesqml, " +
          "oemid, openrcdmcryptcfg, packagechooser, packagechooserq, packages, partition, " +
          "plasmalnf, plymouthcfg, preservefiles, rawfs, removeuser, services-openrc, " +
          "services-systemd, shellprocess, summary, summaryq, tracking, umount, unpackfs, " +
          "users, usersq, webview, welcome, welcomeq, zfs)\n" + f +
          ":13:23: installer.calamares.exec[1]: unknown Calamares module 'services'; did you " +
          "mean 'services-systemd'? (allowed: the modules of Debian's calamares 3.2.61: " +
          "bootloader, contextualprocess, displaymanager, dracut, dracutlukscfg, dummycpp, " +
          "dummyprocess, dummypython, finished, finishedq, fsresizer, fstab, grubcfg, hostinfo, " +
          "hwclock, initcpio, initcpiocfg, initramfs, initramfscfg, interactiveterminal, " +
          "keyboard, keyboardq, license, locale, localecfg, localeq, luksbootkeyfile, " +
          "luksopenswaphookcfg, machineid, mkinitfs, mount, netinstall, networkcfg, notesqml, " +
          "oemid, openrcdmcryptcfg, packagechooser, packagechooserq, packages, partition, " +
          "plasmalnf, plymouthcfg, preservefiles, rawfs, removeuser, services-openrc, " +
          "services-systemd, shellprocess, summary, summaryq, tracking, umount, unpackfs, " +
          "users, usersq, webview, welcome, welcomeq, zfs)\n" + f +
          ":13:33: installer.calamares.exec[2]: unknown Calamares module 'shellprocess@x'; did " +
          "you mean 'shellprocess'? (allowed: the modules of Debian's calamares 3.2.61: " +
          "bootloader, contextualprocess, displaymanager, dracut, dracutlukscfg, dummycpp, " +
          "dummyprocess, dummypython, finished, finishedq, fsresizer, fstab, grubcfg, hostinfo, " +
          "hwclock, initcpio, initcpiocfg, initramfs, initramfscfg, interactiveterminal, " +
          "keyboard, keyboardq, license, locale, localecfg, localeq, luksbootkeyfile, " +
          "luksopenswaphookcfg, machineid, mkinitfs, mount, netinstall, networkcfg, notesqml, " +
          "oemid, openrcdmcryptcfg, packagechooser, packagechooserq, packages, partition, " +
          "plasmalnf, plymouthcfg, preservefiles, rawfs, removeuser, services-openrc, " +
          "services-systemd, shellprocess, summary, summaryq, tracking, umount, unpackfs, " +
          "users, usersq, webview, welcome, welcomeq, zfs)");

  Write("ana.yaml", std::string(kMinimal) +
                        "packages: {include: [linux-image-amd64]}\ninstaller: {type: anaconda}\n");
  EXPECT_EQ(LoadError("ana.yaml"),
            dir_ + "/ana.yaml:7:19: installer.type: anaconda installs rpm distributions; a " +
                "debian profile's installer is calamares (allowed: none, calamares)");

  Write("ok.yaml", std::string(kMinimal) + R"(packages: {include: [linux-image-amd64]}
installer:
  type: calamares
  branding: {logo: logo.png}
  calamares: {filesystem: btrfs, show: [welcome, partition], exec: [partition, unpackfs]}
)");
  auto p = LoadProfile(dir_ + "/ok.yaml");
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->installer.calamares.filesystem, "btrfs");
  EXPECT_EQ(p->installer.calamares.exec, (std::vector<std::string>{"partition", "unpackfs"}));
  EXPECT_EQ(p->installer.branding.logo, dir_ + "/logo.png");
  // A base image may carry the kernel: no package check then.
  Write("base.tar", "");
  Write("based.yaml",
        std::string(kMinimal) + "base: {tar: base.tar}\ninstaller: {type: calamares}\n");
  EXPECT_TRUE(LoadProfile(dir_ + "/based.yaml"));
}

TEST_F(LoaderTest, VolumeIdAtMost32OfUpperDigitsUnderscore) {
  Write("vol.yaml", std::string(kMinimal) + "output: {volume_id: " + std::string(33, 'A') + "}\n");
  EXPECT_EQ(LoadError("vol.yaml"), dir_ + "/vol.yaml:6:21: output.volume_id: '" +
                                       std::string(33, 'A') +
                                       "' is not a volume id (allowed: 1 to 32 of A-Z, 0-9 and _)");
  Write("vol32.yaml",
        std::string(kMinimal) + "output: {volume_id: " + std::string(32, 'A') + "}\n");
  EXPECT_TRUE(LoadProfile(dir_ + "/vol32.yaml"));
}

TEST_F(LoaderTest, OciOutputLayersAndCompression) {
  auto d = LoadProfile(Write("d.yaml", kMinimal));
  ASSERT_TRUE(d) << d.error();
  EXPECT_EQ(d->output.oci.layers, OciLayers::kSquashed);
  EXPECT_EQ(d->output.oci.compression, LayerCompression::kGzip);
  auto p = LoadProfile(Write("p.yaml", std::string(kMinimal) +
                                           "output: {formats: [oci], oci: {layers: pipeline, "
                                           "compression: zstd}}\n"));
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->output.oci.layers, OciLayers::kPipeline);
  EXPECT_EQ(p->output.oci.compression, LayerCompression::kZstd);
  EXPECT_EQ(ToJson(*p)["output"]["oci"].dump(), R"({"layers":"pipeline","compression":"zstd"})");
  Write("bad.yaml", std::string(kMinimal) + "output: {oci: {layers: flat, level: 3}}\n");
  std::string err = LoadError("bad.yaml");
  EXPECT_NE(err.find("output.oci.layers: unknown value 'flat'"), std::string::npos) << err;
  EXPECT_NE(err.find("allowed: squashed, pipeline"), std::string::npos) << err;
  EXPECT_NE(err.find("output.oci.level"), std::string::npos) << err;
}

TEST_F(LoaderTest, DiskOutputSize) {
  auto d = LoadProfile(Write("d.yaml", kMinimal));
  ASSERT_TRUE(d) << d.error();
  EXPECT_EQ(d->output.disk.size, 0u);
  auto p = LoadProfile(Write(
      "p.yaml", std::string(kMinimal) + "output: {formats: [raw, qcow2], disk: {size: 4G}}\n"));
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->output.disk.size, uint64_t{4} << 30);
  EXPECT_EQ(p->output.formats, (std::vector<Format>{Format::kRaw, Format::kQcow2}));
  EXPECT_EQ(ToJson(*p)["output"]["disk"].dump(), R"({"size":4294967296})");
  auto m = LoadProfile(Write("m.yaml", std::string(kMinimal) + "output: {disk: {size: 100M}}\n"));
  ASSERT_TRUE(m) << m.error();
  EXPECT_EQ(m->output.disk.size, uint64_t{100} << 20);
  for (const char* bad : {"63M", "4X", "G", "-1G", "99999999999T"}) {
    Write("bad.yaml", std::string(kMinimal) + "output: {disk: {size: " + bad + "}}\n");
    std::string err = LoadError("bad.yaml");
    EXPECT_NE(err.find("output.disk.size: '" + std::string(bad) + "' is not a disk size"),
              std::string::npos)
        << bad << ": " << err;
  }
}

TEST_F(LoaderTest, BootSigningKeyAndCertificate) {
  Write("keys/db.key", "key\n");
  Write("keys/db.crt", "cert\n");
  auto p =
      LoadProfile(Write("p.yaml", std::string(kMinimal) +
                                      "boot: {signing: {key: keys/db.key, cert: keys/db.crt}}\n"));
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->boot.signing_key, dir_ + "/keys/db.key");
  EXPECT_EQ(p->boot.signing_cert, dir_ + "/keys/db.crt");
  EXPECT_EQ(ToJson(*p)["boot"]["signing"]["cert"], dir_ + "/keys/db.crt");
  auto again = LoadProfile(Write("sub/shown.yaml", ToYaml(*p)));
  ASSERT_TRUE(again) << again.error();
  EXPECT_EQ(again->boot.signing_key, p->boot.signing_key);
  // Without a signing block nothing is shown.
  auto plain = LoadProfile(Write("plain.yaml", kMinimal));
  ASSERT_TRUE(plain) << plain.error();
  EXPECT_FALSE(ToJson(*plain)["boot"].contains("signing"));

  Write("half.yaml", std::string(kMinimal) + "boot: {signing: {key: keys/db.key}}\n");
  std::string err = LoadError("half.yaml");
  EXPECT_NE(err.find("boot.signing.cert"), std::string::npos) << err;
  Write("gone.yaml",
        std::string(kMinimal) + "boot: {signing: {key: nope.key, cert: keys/db.crt}}\n");
  err = LoadError("gone.yaml");
  EXPECT_NE(err.find("boot.signing.key"), std::string::npos) << err;
  EXPECT_NE(err.find("nope.key"), std::string::npos) << err;
  Write("bios.yaml", std::string(kMinimal) +
                         "boot: {uefi: false, signing: {key: keys/db.key, cert: keys/db.crt}}\n");
  err = LoadError("bios.yaml");
  EXPECT_NE(err.find("boot.signing: signs EFI binaries, but boot.uefi is false"), std::string::npos)
      << err;
}

TEST_F(LoaderTest, BuildStageTimeout) {
  auto d = LoadProfile(Write("d.yaml", kMinimal));
  ASSERT_TRUE(d) << d.error();
  EXPECT_EQ(d->build.stage_timeout, 7200);
  auto p = LoadProfile(Write("p.yaml", std::string(kMinimal) + "build: {stage_timeout: 600}\n"));
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->build.stage_timeout, 600);
  EXPECT_EQ(ToJson(*p)["build"].dump(), R"({"stage_timeout":600,"memory_limit_mib":0})");
  Write("bad.yaml",
        std::string(kMinimal) + "build: {stage_timeout: 0, jobs: 2, memory_limit_mib: -1}\n");
  std::string err = LoadError("bad.yaml");
  EXPECT_NE(err.find("build.stage_timeout: expected an integer from 1 to 604800"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("build.jobs: unknown key"), std::string::npos) << err;
  EXPECT_NE(err.find("build.memory_limit_mib: expected an integer from 0 to 16777216"),
            std::string::npos)
      << err;
}

TEST_F(LoaderTest, MirrorAutoOnlyForDebRepositories) {
  Write("rpm.yaml", R"(name: fed
distribution: {family: rpm, release: "40"}
repositories:
  - {type: rpm-md, mirror: auto, gpgcheck: false}
  - {type: deb, baseurl: "http://mirror.example/fedora", gpgcheck: false}
packages: {variant: minbase}
)");
  std::string f = dir_ + "/rpm.yaml";
  EXPECT_EQ(LoadError("rpm.yaml"),
            f + ":4:5: repositories[0].url: missing (the repository's URL; baseurl is " +
                "accepted too)\n" + f +
                ":4:28: repositories[0].mirror: auto is only for deb repositories (allowed for " +
                "rpm-md: url or baseurl)\n" + f +
                ":5:12: repositories[1].type: 'deb' does not fit distribution.family rpm " +
                "(allowed: rpm-md)\n" + f +
                ":6:12: packages.variant: only for the debian family (rpm profiles list " +
                "packages in include)");
}

TEST_F(LoaderTest, RpmProfileWithBaseurl) {
  Write("rpm.yaml", R"(name: fed
distribution: {family: rpm, release: "40"}
repositories: [{baseurl: "https://mirror.example/fedora/40/x86_64/os", keyring: k.asc}]
packages: {include: [kernel]}
)");
  auto p = LoadProfile(dir_ + "/rpm.yaml");
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->distribution.arch, "x86_64");
  EXPECT_EQ(p->distribution.release, "40");
  EXPECT_EQ(p->repositories[0].type, RepoType::kRpmMd);
  EXPECT_EQ(p->repositories[0].url, "https://mirror.example/fedora/40/x86_64/os");
  EXPECT_TRUE(p->repositories[0].gpgcheck);
  EXPECT_EQ(p->packages.variant, Variant::kNone);
}

// dnf's variables expand in rpm-md URLs; repo_gpgcheck follows gpgcheck unless given; a key
// file of the host (an absolute path) that this host lacks is a warning, not an error.
TEST_F(LoaderTest, RpmRepositoryVariablesAndSignatureSettings) {
  Write("oe.yaml", R"(name: oe
distribution: {family: rpm, release: 24.03-LTS}
repositories:
  - {url: "https://repo.example/openEuler-$releasever/OS/$basearch/", keyring: /nonexistent/KEY,
     repo_gpgcheck: false}
  - {url: "https://repo.example/${releasever}/${basearch}", gpgcheck: false}
  - {url: "https://repo.example/signed-metadata-only", gpgcheck: false, repo_gpgcheck: true,
     keyring: /nonexistent/KEY}
packages: {include: [kernel]}
)");
  auto p = LoadProfile(dir_ + "/oe.yaml");
  ASSERT_TRUE(p) << p.error();
  const auto& warnings = p->warnings;
  ASSERT_EQ(p->repositories.size(), 3u);
  EXPECT_EQ(p->repositories[0].url, "https://repo.example/openEuler-24.03-LTS/OS/x86_64/");
  EXPECT_EQ(p->repositories[1].url, "https://repo.example/24.03-LTS/x86_64");
  EXPECT_TRUE(p->repositories[0].gpgcheck);
  EXPECT_FALSE(p->repositories[0].ChecksRepoMd());
  EXPECT_FALSE(p->repositories[1].ChecksRepoMd());
  EXPECT_FALSE(p->repositories[2].gpgcheck);
  EXPECT_TRUE(p->repositories[2].ChecksRepoMd());
  EXPECT_EQ(p->repositories[0].keyring, "/nonexistent/KEY");
  ASSERT_EQ(warnings.size(), 1u);  // the same key file, named twice, warned of once
  EXPECT_NE(warnings[0].find("'/nonexistent/KEY' is not on this host"), std::string::npos)
      << warnings[0];
  // A relative key path is part of the profile: missing, it is an error.
  Write("rel.yaml", R"(name: rel
distribution: {family: rpm}
repositories: [{url: "https://repo.example/os", keyring: keys/missing.asc}]
packages: {include: [kernel]}
)");
  EXPECT_NE(LoadError("rel.yaml").find("keys/missing.asc' does not exist"), std::string::npos)
      << LoadError("rel.yaml");
}

TEST_F(LoaderTest, YamlSyntaxAndDuplicateKeys) {
  Write("syntax.yaml", "name: x\n  bad: [\n");
  EXPECT_EQ(LoadError("syntax.yaml"), dir_ + "/syntax.yaml:2:6: invalid YAML: illegal map value");
  Write("dup.yaml", "name: x\nboot: {timeout: 1}\nname: y\n");
  EXPECT_EQ(LoadError("dup.yaml"), dir_ + "/dup.yaml:3:1: duplicate key 'name' (first at 1:1)");
}

TEST_F(LoaderTest, ExtendsMergesMapsAndOverridesScalarsAndLists) {
  Write("common/keys/base.asc", "key\n");
  Write("common/base.yaml", R"(name: base
description: The base
distribution: {family: debian, release: bookworm}
repositories: [{keyring: keys/base.asc}]
packages: {include: [a, b], recommends: true}
boot: {cmdline: quiet, timeout: 5}
)");
  auto p = LoadProfile(Write("child.yaml", R"(name: child
extends: common/base.yaml
packages: {include: [c]}
boot: {timeout: 10}
)"));
  ASSERT_TRUE(p) << p.error();
  EXPECT_EQ(p->name, "child");
  EXPECT_EQ(p->description, "The base");
  EXPECT_EQ(p->extends, dir_ + "/common/base.yaml");
  EXPECT_EQ(p->chain, (std::vector<std::string>{dir_ + "/child.yaml", dir_ + "/common/base.yaml"}));
  EXPECT_EQ(p->repositories[0].keyring, dir_ + "/common/keys/base.asc");
  EXPECT_EQ(p->packages.include, std::vector<std::string>{"c"});
  EXPECT_TRUE(p->packages.recommends);
  EXPECT_EQ(p->boot.cmdline, "quiet");
  EXPECT_EQ(p->boot.timeout, 10);
  EXPECT_EQ(p->Where("boot.timeout").ToString(), dir_ + "/child.yaml:4:17");
  EXPECT_EQ(p->Where("boot.cmdline").ToString(), dir_ + "/common/base.yaml:6:17");
}

TEST_F(LoaderTest, ExtendsErrorsPointIntoTheFileThatHasThem) {
  Write("base.yaml", "name: base\ndistribution: {family: debian}\nboot: {tmeout: 5}\n");
  Write("child.yaml", "extends: base.yaml\nrepositories: [{suite: s, keyring: nope.asc}]\n");
  EXPECT_EQ(LoadError("child.yaml"),
            dir_ + "/child.yaml:2:36: repositories[0].keyring: '" + dir_ +
                "/nope.asc' does not exist (paths are relative to the profile's file)\n" + dir_ +
                "/base.yaml:3:8: boot.tmeout: unknown key; did you mean 'timeout'?");
}

TEST_F(LoaderTest, ExtendsCycleNamesTheChain) {
  Write("a.yaml", "name: a\nextends: b.yaml\n");
  Write("b.yaml", "name: b\nextends: ./a.yaml\n");
  EXPECT_EQ(LoadError("a.yaml"), dir_ + "/b.yaml:2:10: extends: cycle " + dir_ + "/a.yaml -> " +
                                     dir_ + "/b.yaml -> " + dir_ + "/a.yaml");
  Write("self.yaml", "extends: self.yaml\n");
  EXPECT_EQ(LoadError("self.yaml"), dir_ + "/self.yaml:1:10: extends: cycle " + dir_ +
                                        "/self.yaml -> " + dir_ + "/self.yaml");
  Write("lost.yaml", "extends: nowhere.yaml\n");
  EXPECT_EQ(LoadError("lost.yaml"), dir_ + "/lost.yaml:1:10: extends: '" + dir_ +
                                        "/nowhere.yaml' is not a file (paths are relative to " +
                                        "the profile's file)");
}

TEST_F(LoaderTest, ShownYamlLoadsBackToTheSameProfile) {
  Write("overlay/x", "");
  auto p = LoadProfile(Write("p.yaml", std::string(kMinimal) +
                                           "description: \"42\"\nrootfs: {files: [{from: overlay/, "
                                           "to: /}]}\nboot: {cmdline: \"true\", probe: "
                                           "[\"/dev/vd*\", \"/dev/[sh]d?\"], serial: ttyS1}\n"
                                           "output: {formats: [tar, oci]}\n"));
  ASSERT_TRUE(p) << p.error();
  std::string shown = ToYaml(*p);
  auto again = LoadProfile(Write("sub/shown.yaml", shown));
  ASSERT_TRUE(again) << again.error() << "\n" << shown;
  EXPECT_EQ(ToJson(*again), ToJson(*p));
  EXPECT_EQ(again->description, "42");
  EXPECT_EQ(again->boot.cmdline, "true");
  EXPECT_EQ(again->boot.probe, (std::vector<std::string>{"/dev/vd*", "/dev/[sh]d?"}));
}

TEST_F(LoaderTest, ResolveAutoMirrorsFromTheHostsAptSources) {
  Write("apt/sources.list.d/main.sources",
        "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\n"
        "Components: main\n");
  auto p = LoadProfile(Write("mini.yaml", kMinimal));
  ASSERT_TRUE(p) << p.error();
  ASSERT_TRUE(ResolveAutoMirrors(&*p, dir_ + "/apt"));
  EXPECT_EQ(p->repositories[0].mirror, "http://mirror.example/debian");

  auto q = LoadProfile(Write("trixie.yaml", R"(name: t
distribution: {family: debian}
repositories: [{suite: trixie, keyring: k.asc, mirror: auto}]
)"));
  ASSERT_TRUE(q) << q.error();
  auto st = ResolveAutoMirrors(&*q, dir_ + "/apt");
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error(), dir_ + "/trixie.yaml:3:56: repositories[0].mirror: auto: no enabled deb " +
                            "source with an http, https or file URI for suite 'trixie' in " + dir_ +
                            "/apt/sources.list or " + dir_ +
                            "/apt/sources.list.d/*.{list,sources}; set repositories[0].mirror " +
                            "to a URL");
}

TEST_F(LoaderTest, ScriptsMustBeExecutableAndFilesStayInTheImage) {
  Write("run.sh", "#!/bin/sh\n");
  Write("f", "x");
  Write("p.yaml", R"(name: p
distribution: {family: debian}
base: {tar: f}
rootfs:
  files: [{from: f, to: /etc/../../x}]
  run: [run.sh]
)");
  auto p = LoadProfile(dir_ + "/p.yaml");
  ASSERT_FALSE(p);
  EXPECT_NE(p.error().find("p.yaml:5:25: rootfs.files[0].to: '/etc/../../x': '..' is not allowed"),
            std::string::npos)
      << p.error();
  EXPECT_NE(p.error().find("p.yaml:6:9: rootfs.run[0]: '" + dir_ +
                           "/run.sh' is not an executable file (chmod +x it"),
            std::string::npos)
      << p.error();
}

}  // namespace
}  // namespace imager::profiles
