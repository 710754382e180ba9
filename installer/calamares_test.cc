// SPDX-License-Identifier: GPL-3.0-or-later
#include "installer/calamares.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "base/fd.h"
#include "base/fs.h"

namespace imager::installer {
namespace {

namespace fs = std::filesystem;
using profiles::InstallerType;
using profiles::Profile;

class CalamaresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir(fs::temp_directory_path().string(), "imager-calamares-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = *d;
    p_.name = "Box.OS";
    p_.description = "A box";
    p_.distribution.release = "bookworm";
    p_.distribution.arch = "amd64";
    p_.installer.type = InstallerType::kCalamares;
    p_.installer.offline_packages = {"grub-pc", "grub-efi-amd64"};
  }
  void TearDown() override { ASSERT_TRUE(RemoveTree(dir_)); }

  // path -> file of a successful generation.
  std::map<std::string, GeneratedFile> Files(const CalamaresPaths& paths) {
    auto r = CalamaresFiles(p_, paths);
    EXPECT_TRUE(r) << r.error();
    std::map<std::string, GeneratedFile> out;
    if (r)
      for (const auto& f : *r) out[f.path] = f;
    return out;
  }

  std::string dir_;
  Profile p_;
};

CalamaresPaths Offline() {
  CalamaresPaths paths;
  paths.offline_suite = "bookworm";
  return paths;
}

TEST_F(CalamaresTest, DefaultSequenceWrapsPackagesInTheOfflineHelpers) {
  auto files = Files(Offline());
  const std::string& s = files["/etc/calamares/settings.conf"].content;
  EXPECT_NE(s.find("  - show:\n      - welcome\n      - locale\n      - keyboard\n      - "
                   "partition\n      - users\n      - summary\n  - exec:\n      - partition\n"
                   "      - mount\n      - unpackfs\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("      - bootloader\n      - shellprocess@imager-efi-removable\n"
                   "      - shellprocess@imager-offline-setup\n      - "
                   "packages\n      - shellprocess@imager-offline-cleanup\n      - umount\n  - "
                   "show:\n      - finished\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("  - id: imager-offline-setup\n    module: shellprocess\n    config: "
                   "shellprocess-imager-offline-setup.conf\n"),
            std::string::npos);
  EXPECT_NE(s.find("branding: box_os\n"), std::string::npos);
  EXPECT_NE(files["/etc/calamares/modules/shellprocess-imager-offline-setup.conf"].content.find(
                "dontChroot: true\ntimeout: 900\nscript:\n"
                "  - \"/usr/lib/imager/offline-repo setup @@ROOT@@\"\n"),
            std::string::npos);
  // The boot loaders conflict: the helper installs the firmware's, packages the rest.
  EXPECT_NE(files["/etc/calamares/modules/packages.conf"].content.find(
                "backend: apt\n"
                "skip_if_no_internet: false\nupdate_db: false\nupdate_system: false\n"
                "operations: []\n"),
            std::string::npos);
  const GeneratedFile& helper = files["/usr/lib/imager/offline-repo"];
  EXPECT_EQ(helper.mode, 0755u);
  EXPECT_NE(helper.content.find("medium='/run/imager/medium'\n"), std::string::npos);
  EXPECT_NE(helper.content.find("mount --bind \"$medium\" \"$mnt\""), std::string::npos);
  // Released medium (load into RAM): found again among the ISO 9660 filesystems.
  EXPECT_NE(helper.content.find("blkid -t TYPE=iso9660 -o device"), std::string::npos);
  EXPECT_NE(helper.content.find("echo 'deb [lang=none] file:/media/imager-offline bookworm main'"),
            std::string::npos);
  EXPECT_EQ(helper.content.find("trusted"), std::string::npos);
  EXPECT_NE(helper.content.find("if [ -d /sys/firmware/efi ]; then loader='grub-efi-amd64'; "
                                "else loader='grub-pc'; fi"),
            std::string::npos)
      << helper.content;
  p_.installer.offline_packages = {"grub-pc", "vim"};
  files = Files(Offline());
  EXPECT_NE(files["/etc/calamares/modules/packages.conf"].content.find(
                "operations:\n  - try_install:\n      - \"vim\"\n"),
            std::string::npos);
  EXPECT_NE(files["/usr/lib/imager/offline-repo"].content.find("loader=''; else loader='grub-pc'"),
            std::string::npos);
}

TEST_F(CalamaresTest, NoOfflineRepositoryLeavesOutPackagesAndItsHelpers) {
  auto files = Files(CalamaresPaths{});
  const std::string& s = files["/etc/calamares/settings.conf"].content;
  EXPECT_EQ(s.find("packages"), std::string::npos) << s;
  EXPECT_EQ(s.find("offline"), std::string::npos);
  EXPECT_EQ(files.count("/etc/calamares/modules/packages.conf"), 0u);
  EXPECT_EQ(files.count("/usr/lib/imager/offline-repo"), 0u);
  EXPECT_NE(
      s.find("      - bootloader\n      - shellprocess@imager-efi-removable\n      - umount\n"),
      std::string::npos);
}

TEST_F(CalamaresTest, ConsolesCarryOverBeforeTheBootLoader) {
  auto files = Files(CalamaresPaths{});
  const std::string& s = files["/etc/calamares/settings.conf"].content;
  EXPECT_NE(s.find("instances:\n  - id: imager-console\n    module: shellprocess\n    config: "
                   "shellprocess-imager-console.conf\n"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("      - shellprocess@imager-console\n      - bootloader\n"), std::string::npos);
  EXPECT_NE(files["/etc/calamares/modules/shellprocess-imager-console.conf"].content.find(
                "  - \"/usr/lib/imager/carry-console @@ROOT@@\"\n"),
            std::string::npos);
  const GeneratedFile& helper = files["/usr/lib/imager/carry-console"];
  ASSERT_EQ(helper.mode, 0755u);
  // The helper, run by sh on a fake root with this machine's /proc/cmdline.
  ASSERT_TRUE(WriteFile(dir_ + "/carry-console", helper.content));
  ASSERT_EQ(std::system(("sh " + dir_ + "/carry-console " + dir_ + "/root >/dev/null").c_str()), 0);
  auto cmdline = ReadFile("/proc/cmdline");
  ASSERT_TRUE(cmdline);
  auto cfg = ReadFile(dir_ + "/root/etc/default/grub.d/imager-console.cfg");
  if (cmdline->find("console=") == std::string::npos) {
    EXPECT_FALSE(cfg);  // nothing to carry
  } else {
    ASSERT_TRUE(cfg) << cfg.error();
    EXPECT_NE(cfg->find("GRUB_CMDLINE_LINUX=\"$GRUB_CMDLINE_LINUX console="), std::string::npos)
        << *cfg;
  }
  // No boot loader in the sequence: nothing to configure.
  p_.installer.calamares.exec = {"partition", "unpackfs"};
  files = Files(CalamaresPaths{});
  EXPECT_EQ(files.count("/usr/lib/imager/carry-console"), 0u);
  EXPECT_EQ(files["/etc/calamares/settings.conf"].content.find("instances"), std::string::npos);
}

// Shim and GRUB at the removable path, where Secure Boot firmware with fresh variables starts:
// grub-install again after the bootloader module, whose own fallback copies GRUB alone.
TEST_F(CalamaresTest, TheRemovablePathGetsShimAfterTheBootLoader) {
  auto files = Files(CalamaresPaths{});
  const std::string& s = files["/etc/calamares/settings.conf"].content;
  EXPECT_NE(s.find("      - bootloader\n      - shellprocess@imager-efi-removable\n"),
            std::string::npos)
      << s;
  EXPECT_NE(
      files["/etc/calamares/modules/bootloader.conf"].content.find("installEFIFallback: false\n"),
      std::string::npos);
  const GeneratedFile& helper = files["/usr/lib/imager/efi-removable"];
  ASSERT_EQ(helper.mode, 0755u);
  EXPECT_NE(helper.content.find("chroot \"$root\" grub-install --target=x86_64-efi "
                                "--efi-directory=/boot/efi --bootloader-id='box_os' "
                                "--force-extra-removable --no-nvram\n"),
            std::string::npos)
      << helper.content;
  EXPECT_NE(helper.content.find("cp \"$entry/grub.cfg\" \"$root/boot/efi/EFI/BOOT/grub.cfg\""),
            std::string::npos);
  ASSERT_TRUE(WriteFile(dir_ + "/efi-removable", helper.content));
  EXPECT_EQ(std::system(("sh -n " + dir_ + "/efi-removable").c_str()), 0);
  // An architecture GRUB's EFI platform is not known for: no step.
  p_.distribution.arch = "riscv64";
  EXPECT_EQ(Files(CalamaresPaths{}).count("/usr/lib/imager/efi-removable"), 0u);
}

TEST_F(CalamaresTest, ProfileSequenceOverridesTheDefault) {
  p_.installer.calamares.show = {"welcome", "partition"};
  p_.installer.calamares.exec = {"partition", "unpackfs", "packages"};
  auto seq = SequenceFor(p_, true);
  EXPECT_EQ(seq.show, (std::vector<std::string>{"welcome", "partition"}));
  EXPECT_EQ(seq.exec,
            (std::vector<std::string>{"partition", "unpackfs", "shellprocess@imager-offline-setup",
                                      "packages", "shellprocess@imager-offline-cleanup"}));
  EXPECT_EQ(SequenceFor(p_, false).exec,
            (std::vector<std::string>{"partition", "unpackfs", "packages"}));
}

// The target image carries its initramfs: by default the installer does not regenerate it, and
// its configuration is written only for a sequence that runs it.
TEST_F(CalamaresTest, TheInitramfsModuleRunsOnlyWhenTheProfileListsIt) {
  auto seq = SequenceFor(p_, true);
  EXPECT_EQ(std::count(seq.exec.begin(), seq.exec.end(), "initramfs"), 0);
  EXPECT_EQ(Files(Offline()).count("/etc/calamares/modules/initramfs.conf"), 0u);
  p_.installer.calamares.exec = {"partition", "unpackfs", "initramfs", "bootloader"};
  auto files = Files(Offline());
  ASSERT_EQ(files.count("/etc/calamares/modules/initramfs.conf"), 1u);
  EXPECT_NE(files["/etc/calamares/modules/initramfs.conf"].content.find("kernel: \"all\""),
            std::string::npos);
}

TEST_F(CalamaresTest, ModulesFollowTheProfileAndThePaths) {
  p_.installer.calamares.filesystem = "btrfs";
  p_.installer.calamares.user_groups = {"sudo", "video"};
  p_.rootfs.timezone = "Europe/Berlin";
  CalamaresPaths paths = Offline();
  paths.target_image = "/media/x/live/target.squashfs";
  auto files = Files(paths);
  EXPECT_EQ(files["/etc/calamares/modules/unpackfs.conf"].content.substr(
                files["/etc/calamares/modules/unpackfs.conf"].content.find("unpack:")),
            "unpack:\n  - source: \"/media/x/live/target.squashfs\"\n    sourcefs: \"squashfs\"\n"
            "    destination: \"\"\n");
  const std::string& part = files["/etc/calamares/modules/partition.conf"].content;
  EXPECT_NE(part.find("defaultFileSystemType: \"btrfs\"\n"), std::string::npos);
  EXPECT_NE(part.find("efiSystemPartition: \"/boot/efi\"\n"), std::string::npos);
  const std::string& users = files["/etc/calamares/modules/users.conf"].content;
  EXPECT_NE(users.find("defaultGroups: [\"sudo\", \"video\"]\n"), std::string::npos);
  EXPECT_NE(users.find("allowWeakPasswords: true\n"), std::string::npos);
  EXPECT_NE(files["/etc/calamares/modules/locale.conf"].content.find(
                "region: \"Europe\"\nzone: \"Berlin\"\n"),
            std::string::npos);
  const std::string& welcome = files["/etc/calamares/modules/welcome.conf"].content;
  EXPECT_NE(welcome.find("  required: [storage, ram]\n"), std::string::npos);
  EXPECT_EQ(welcome.find("geoip"), std::string::npos);
  EXPECT_NE(
      files["/etc/calamares/modules/bootloader.conf"].content.find("efiBootLoader: \"grub\"\n"),
      std::string::npos);
  EXPECT_NE(files["/etc/calamares/modules/displaymanager.conf"].content.find(
                "displaymanagers: [lightdm, gdm, sddm, lxdm, slim, greetd]\n"),
            std::string::npos);
}

TEST_F(CalamaresTest, BrandingDefaultsToTheProfileAndDrawsALogo) {
  auto files = Files(CalamaresPaths{});
  const std::string desc = files["/etc/calamares/branding/box_os/branding.desc"].content;
  EXPECT_NE(desc.find("componentName: box_os\n"), std::string::npos) << desc;
  EXPECT_NE(desc.find("  productName: \"Box.OS\"\n"), std::string::npos);
  EXPECT_NE(desc.find("  version: \"bookworm\"\n"), std::string::npos);
  EXPECT_NE(desc.find("  productLogo: \"logo.svg\"\n  productIcon: \"logo.svg\"\n"),
            std::string::npos);
  EXPECT_NE(desc.find("slideshow: [\"logo.svg\"]\n"), std::string::npos);
  const std::string& logo = files["/etc/calamares/branding/box_os/logo.svg"].content;
  EXPECT_EQ(logo.rfind("<svg ", 0), 0u);
  EXPECT_NE(logo.find(">B</text>"), std::string::npos);
}

TEST_F(CalamaresTest, BrandingCopiesTheProfilesFilesAndQuotesItsStrings) {
  ASSERT_TRUE(WriteFile(dir_ + "/Logo.PNG", std::string("\x89PNG\r\n\x1a\n\0x", 10)));
  ASSERT_TRUE(WriteFile(dir_ + "/show.qml", "import QtQuick 2.0\n"));
  p_.installer.branding = {"Box \"Pro\"", "2.0", dir_ + "/Logo.PNG", dir_ + "/show.qml"};
  auto files = Files(CalamaresPaths{});
  const std::string dir = "/etc/calamares/branding/box_os/";
  EXPECT_EQ(files[dir + "logo.png"].content, std::string("\x89PNG\r\n\x1a\n\0x", 10));
  EXPECT_EQ(files[dir + "show.qml"].content, "import QtQuick 2.0\n");
  EXPECT_EQ(files.count(dir + "logo.svg"), 0u);
  const std::string& desc = files[dir + "branding.desc"].content;
  EXPECT_NE(desc.find("  productName: \"Box \\\"Pro\\\"\"\n"), std::string::npos) << desc;
  EXPECT_NE(desc.find("  versionedName: \"Box \\\"Pro\\\" 2.0\"\n"), std::string::npos);
  EXPECT_NE(desc.find("slideshow: \"show.qml\"\nslideshowAPI: 2\n"), std::string::npos);

  p_.installer.branding.logo = dir_ + "/gone.png";
  auto r = CalamaresFiles(p_, CalamaresPaths{});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("installer.branding.logo"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("gone.png"), std::string::npos) << r.error();
}

TEST_F(CalamaresTest, LiveSessionStartsCalamaresUnlessAutostartIsOff) {
  auto files = Files(CalamaresPaths{});
  const std::string unit = "/etc/systemd/system/imager-calamares.service";
  EXPECT_NE(files[unit].content.find("ExecStart=/usr/bin/xinit /usr/lib/imager/calamares-session "
                                     "-- :0 vt7 -nolisten tcp -keeptty -s 0 -dpms\n"),
            std::string::npos);
  const auto& wants = files["/etc/systemd/system/graphical.target.wants/imager-calamares.service"];
  EXPECT_TRUE(wants.symlink);
  EXPECT_EQ(wants.content, "../imager-calamares.service");
  EXPECT_TRUE(files["/etc/systemd/system/default.target"].symlink);
  EXPECT_EQ(files["/usr/lib/imager/calamares-session"].mode, 0755u);
  EXPECT_NE(files["/usr/lib/imager/calamares-session"].content.find(
                "export DEBIAN_FRONTEND=noninteractive\n"),
            std::string::npos);
  p_.installer.calamares.autostart = false;
  auto off = Files(CalamaresPaths{});
  EXPECT_EQ(off.count("/etc/systemd/system/graphical.target.wants/imager-calamares.service"), 0u);
  EXPECT_EQ(off.count(unit), 1u);
}

TEST_F(CalamaresTest, SortedAndDeterministic) {
  auto a = CalamaresFiles(p_, Offline());
  auto b = CalamaresFiles(p_, Offline());
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->size(), b->size());
  for (size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ((*a)[i].path, (*b)[i].path);
    EXPECT_EQ((*a)[i].content, (*b)[i].content);
    if (i > 0) {
      EXPECT_LT((*a)[i - 1].path, (*a)[i].path);
    }
  }
}

TEST_F(CalamaresTest, OnlyForCalamaresProfiles) {
  p_.installer.type = InstallerType::kNone;
  auto r = CalamaresFiles(p_, CalamaresPaths{});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("installer.type is none"), std::string::npos) << r.error();
}

TEST_F(CalamaresTest, WriteFilesMakesTheTree) {
  auto files = CalamaresFiles(p_, Offline());
  ASSERT_TRUE(files) << files.error();
  ASSERT_TRUE(WriteFiles(*files, dir_));
  ASSERT_TRUE(WriteFiles(*files, dir_)) << "a second write replaces the files";
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/usr/lib/imager/offline-repo").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  auto link = fs::read_symlink(dir_ + "/etc/systemd/system/default.target");
  EXPECT_EQ(link.string(), "../../../lib/systemd/system/graphical.target");
  // The generated shell scripts parse.
  for (const char* script : {"/usr/lib/imager/offline-repo", "/usr/lib/imager/calamares-session",
                             "/usr/lib/imager/carry-console"})
    EXPECT_EQ(std::system(("/bin/sh -n " + dir_ + script).c_str()), 0) << script;
  auto settings = ReadFile(dir_ + "/etc/calamares/settings.conf");
  ASSERT_TRUE(settings);
  EXPECT_NE(settings->find("sequence:"), std::string::npos);
}

// Excerpts of `calamares -d` logs (3.2.61, offscreen) with this module's configuration: as
// generated, with partition.conf broken, and with a misspelt module in the sequence.
constexpr const char* kGoodLog = R"(16:32:39 [6]: void CalamaresApplication::initViewSteps()
    STARTUP: loadModules for all modules done 
16:32:39 [6]: void Calamares::ModuleManager::checkRequirements()
    Checking module requirements .. 
16:32:39 [6]: void CalamaresApplication::initViewSteps()
    STARTUP: Window now visible and ProgressTreeView populated 
    .. 8 view steps loaded. 
)";
constexpr const char* kBrokenYamlLog = R"(16:32:39 [1]: void Calamares::ModuleManager::loadModules()
    ERROR: YAML parser error  yaml-cpp: error at line 3, column 6: end of sequence flow not found 
16:32:39 [1]: void Calamares::ModuleManager::loadModules()
    ERROR: Module "partition@partition" cannot be created from descriptor "partition.conf" 
16:32:40 [1]: void CalamaresApplication::initFailed(const QStringList&)
    ERROR: STARTUP: failed modules are ("partition@partition", "bootloader@bootloader") 
)";

TEST_F(CalamaresTest, CheckLogAcceptsAStartThatReachedTheWindow) {
  EXPECT_TRUE(CheckCalamaresLog(kGoodLog));
}

TEST_F(CalamaresTest, CheckLogNamesEveryErrorOfABrokenConfiguration) {
  auto st = CheckCalamaresLog(kBrokenYamlLog);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error(),
            "calamares check: ERROR: YAML parser error  yaml-cpp: error at line 3, column 6: end "
            "of sequence flow not found; ERROR: Module \"partition@partition\" cannot be created "
            "from descriptor \"partition.conf\"; ERROR: STARTUP: failed modules are "
            "(\"partition@partition\", \"bootloader@bootloader\")");
  auto unknown = CheckCalamaresLog(std::string(kGoodLog) +
                                   "    ERROR: Module \"hwclok@hwclok\" not found in module "
                                   "search paths. \n");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().find("hwclok"), std::string::npos);
  auto fatal = CheckCalamaresLog(
      "16:37:59 [1]: void bail(const QString&, const QString&)\n"
      "    ERROR: FATAL in \"/etc/calamares/branding/x/branding.desc\" \n"
      "     Slideshow file /etc/calamares/branding/x/logo.png does not exist.\n"
      "16:38:00 [6]: next\n"
      "     not a continuation\n");
  ASSERT_FALSE(fatal);
  EXPECT_EQ(fatal.error(),
            "calamares check: ERROR: FATAL in \"/etc/calamares/branding/x/branding.desc\" "
            "Slideshow file /etc/calamares/branding/x/logo.png does not exist.");
  EXPECT_NE(fatal.error().find("logo.png does not exist"), std::string::npos);
}

TEST_F(CalamaresTest, CheckLogWantsTheMainWindow) {
  auto st = CheckCalamaresLog("    .. STARTUP: initSettings, initQmlPath, initBranding done\n");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().find("did not get as far as its main window"), std::string::npos);
}

TEST_F(CalamaresTest, CheckArgvRunsCalamaresOffscreenAndStopsIt) {
  auto argv = CalamaresCheckArgv(30);
  ASSERT_EQ(argv.size(), 3u);
  EXPECT_EQ(argv[0], "/bin/sh");
  EXPECT_NE(argv[2].find("QT_QPA_PLATFORM=offscreen /usr/bin/calamares -d"), std::string::npos);
  EXPECT_NE(argv[2].find("[ $i -lt 150 ]"), std::string::npos);
  EXPECT_NE(argv[2].find("kill $pid"), std::string::npos);
}

TEST_F(CalamaresTest, LiveToolsFollowTheSequenceAndTheFilesystem) {
  auto names = [](const std::vector<LiveTool>& tools) {
    std::vector<std::string> out;
    for (const auto& t : tools) out.push_back(t.module + ":" + t.command);
    return out;
  };
  auto tools = names(LiveTools(p_));
  for (const char* want : {"partition:sfdisk", "partition:mkfs.ext4", "partition:mkfs.fat",
                           "unpackfs:unsquashfs", "unpackfs:rsync", "fstab:blkid"})
    EXPECT_NE(std::find(tools.begin(), tools.end(), want), tools.end()) << want;
  p_.installer.calamares.filesystem = "xfs";
  tools = names(LiveTools(p_));
  EXPECT_NE(std::find(tools.begin(), tools.end(), "partition:mkfs.xfs"), tools.end());
  // A sequence without unpackfs needs no unsquashfs.
  p_.installer.calamares.exec = {"partition", "mount", "umount"};
  tools = names(LiveTools(p_));
  EXPECT_EQ(std::find(tools.begin(), tools.end(), "unpackfs:unsquashfs"), tools.end());
}

TEST_F(CalamaresTest, CheckArgvReportsAMissingLiveTool) {
  // The script with its /tmp files moved into the test's directory, run by the host's sh: there
  // is no /usr/bin/calamares here, so only the tool lines judge it.
  auto argv = CalamaresCheckArgv(1, "", {{"unpackfs", "sh"}, {"partition", "imager-no-such-mkfs"}});
  std::string script = argv[2];
  for (size_t at = 0; (at = script.find("/tmp/", at)) != std::string::npos;) {
    script.replace(at, 5, dir_ + "/");
    at += dir_.size() + 1;
  }
  std::string out_path = dir_ + "/out";
  ASSERT_TRUE(WriteFile(dir_ + "/check.sh", script));
  ASSERT_EQ(std::system(("sh " + dir_ + "/check.sh >" + out_path + " 2>&1").c_str()), 0);
  auto log = ReadFile(out_path);
  ASSERT_TRUE(log) << log.error();
  EXPECT_NE(log->find("ERROR: the live session has no imager-no-such-mkfs, which Calamares' "
                      "partition module runs"),
            std::string::npos)
      << *log;
  EXPECT_EQ(log->find("has no sh,"), std::string::npos) << *log;
  auto st = CheckCalamaresLog(*log);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().find("imager-no-such-mkfs"), std::string::npos);
}

}  // namespace
}  // namespace imager::installer
