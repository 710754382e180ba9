// SPDX-License-Identifier: GPL-3.0-or-later
#include "repo/lockfile.h"

#include <gtest/gtest.h>

#include "installer/installer.h"

#include <algorithm>

#include "base/fd.h"
#include "base/fs.h"

namespace imager::repo {
namespace {

Lock Sample() {
  Lock l;
  l.request = {.family = "debian",
               .arch = "amd64",
               .variant = "minbase",
               .include = {"linux-image-amd64", "systemd-sysv"},
               .exclude = {},
               .recommends = false,
               .repositories = {{"deb", "bookworm", {"main"}}}};
  l.repositories = {{"http://mirror.invalid/debian", "bookworm", "Sat, 10 Jun 2023 08:37:11 UTC",
                     "http://mirror.invalid/debian/dists/bookworm/InRelease",
                     std::string(64, 'a')}};
  l.packages = {{"libc6", "2.36-9", "amd64", "http://mirror.invalid/debian/pool/l/libc6.deb",
                 std::string(64, 'b'), 2800000},
                {"dash", "0.5.12-2", "amd64", "http://mirror.invalid/debian/pool/d/dash.deb",
                 std::string(64, 'c'), 90000}};
  return l;
}

constexpr const char* kSampleJson = R"({
  "lockfile-version": 1,
  "packages": [
    {
      "architecture": "amd64",
      "name": "libc6",
      "sha256": "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
      "size": 2800000,
      "url": "http://mirror.invalid/debian/pool/l/libc6.deb",
      "version": "2.36-9"
    },
    {
      "architecture": "amd64",
      "name": "dash",
      "sha256": "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
      "size": 90000,
      "url": "http://mirror.invalid/debian/pool/d/dash.deb",
      "version": "0.5.12-2"
    }
  ],
  "repositories": [
    {
      "date": "Sat, 10 Jun 2023 08:37:11 UTC",
      "release": "http://mirror.invalid/debian/dists/bookworm/InRelease",
      "sha256": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "suite": "bookworm",
      "url": "http://mirror.invalid/debian"
    }
  ],
  "request": {
    "arch": "amd64",
    "exclude": [],
    "family": "debian",
    "include": [
      "linux-image-amd64",
      "systemd-sysv"
    ],
    "recommends": false,
    "repositories": [
      {
        "components": [
          "main"
        ],
        "suite": "bookworm",
        "type": "deb"
      }
    ],
    "variant": "minbase"
  }
}
)";

TEST(LockfileTest, StableSortedJsonWithInstallOrder) {
  EXPECT_EQ(LockToJson(Sample()), kSampleJson);
}

TEST(LockfileTest, RoundTripGivesTheSameBytes) {
  std::string dir = *MakeTempDir("/tmp", "imager-lock-test-");
  std::string path = dir + "/p.lock";
  ASSERT_TRUE(WriteLock(path, Sample()));
  auto first = ReadFile(path);
  auto lock = ReadLock(path);
  ASSERT_TRUE(lock) << lock.error();
  EXPECT_EQ(lock->packages.size(), 2u);
  EXPECT_EQ(lock->packages[1].name, "dash");
  EXPECT_EQ(lock->TotalSize(), 2890000);
  EXPECT_EQ(lock->request, Sample().request);
  ASSERT_TRUE(WriteLock(path, *lock));
  EXPECT_EQ(*ReadFile(path), *first);
  (void)RemoveTree(dir);
}

TEST(LockfileTest, MalformedAndNewerFilesAreRefused) {
  auto bad = ParseLock("[1]", "x.lock");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), "x.lock: not a JSON object");
  auto missing = ParseLock(R"({"lockfile-version": 1})", "x.lock");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("x.lock: malformed lock file"), std::string::npos);
  auto newer = ParseLock(R"({"lockfile-version": 2})", "x.lock");
  ASSERT_FALSE(newer);
  EXPECT_NE(newer.error().find("lockfile-version 2 is not supported"), std::string::npos);
}

TEST(LockfileTest, MatchesListsEveryDifference) {
  Lock l = Sample();
  EXPECT_TRUE(Matches(l, l.request));
  LockRequest now = l.request;
  now.include = {"linux-image-amd64", "openssh-server"};
  now.variant = "important";
  now.recommends = true;
  now.repositories[0].components = {"main", "contrib"};
  auto m = Matches(l, now);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(),
            "the lock file no longer matches the profile (run 'imager resolve' to refresh it):\n"
            "  packages.variant: lock has minbase, profile has important\n"
            "  packages.include: the profile adds [openssh-server], drops [systemd-sysv]\n"
            "  packages.recommends: lock has false, profile has true\n"
            "  repositories: lock has [deb bookworm main], profile has [deb bookworm main "
            "contrib]");
}

TEST(LockfileTest, RequestOfAProfileIsSortedAndKeepsAuto) {
  profiles::Profile p;
  p.name = "demo";
  p.source = "/some/dir/demo.yaml";
  p.distribution = {profiles::Family::kDebian, "bookworm", "amd64"};
  profiles::Repository r;
  r.mirror = "auto";
  r.suite = "bookworm";
  r.components = {"main"};
  p.repositories = {r};
  p.packages.variant = profiles::Variant::kNone;
  p.packages.include = {"b", "a", "b"};
  LockRequest req = RequestOf(p);
  EXPECT_EQ(req.include, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(req.variant, "none");
  EXPECT_EQ(req.family, "debian");
  EXPECT_EQ(req.repositories[0].type, "deb");
  EXPECT_EQ(LockPlaceFor(p, {}).path, "/some/dir/demo.lock");
  // An ISO (the default output) needs the boot tools; a tarball needs none.
  EXPECT_EQ(req.tools, (std::vector<std::string>{"dosfstools", "grub-efi-amd64-signed", "isolinux",
                                                 "mtools", "shim-signed", "syslinux-common"}));
  p.boot.uefi = false;
  EXPECT_EQ(RequestOf(p).tools, (std::vector<std::string>{"isolinux", "syslinux-common"}));
  p.output.formats = {profiles::Format::kTar};
  EXPECT_TRUE(RequestOf(p).tools.empty());
}

bool Writable(const std::string&) { return true; }
bool ReadOnly(const std::string&) { return false; }

TEST(LockfileTest, LockPlaceIsBesideTheFileByItsStem) {
  profiles::Profile p;
  p.name = "t1";  // two profiles of one name in one directory must not share a lock
  p.source = "/d/p1.yaml";
  EXPECT_EQ(LockPlaceFor(p, {.writable = Writable}).path, "/d/p1.lock");
  EXPECT_EQ(LockPlaceFor(p, {.out_dir = "/o", .writable = Writable}).note, "");
  p.source = "p1.yaml";  // relative, in the working directory
  EXPECT_EQ(LockPlaceFor(p, {.writable = Writable}).path, "p1.lock");
}

TEST(LockfileTest, LockPlaceGivenOrInTheOutputDirectoryWhenReadOnly) {
  profiles::Profile p;
  p.name = "live";
  p.source = "/usr/share/imager/profiles/debian-live.yaml";
  LockPlace ro = LockPlaceFor(p, {.out_dir = "/home/u/out/live", .writable = ReadOnly});
  EXPECT_EQ(ro.path, "/home/u/out/live/debian-live.lock");
  EXPECT_EQ(ro.note,
            "/usr/share/imager/profiles (the profile's directory) is not writable: the lock file "
            "is /home/u/out/live/debian-live.lock");
  LockPlace given =
      LockPlaceFor(p, {.explicit_path = "/tmp/x.lock", .out_dir = "/o", .writable = ReadOnly});
  EXPECT_EQ(given.path, "/tmp/x.lock");
  EXPECT_EQ(given.note, "");
}

TEST(LockfileTest, ToolsRoundTripAndMustMatch) {
  Lock l = Sample();
  EXPECT_EQ(LockToJson(l).find("tools"), std::string::npos);  // absent when there are none
  l.request.tools = {"isolinux", "syslinux-common"};
  l.tools = {{"isolinux", "3:6.04~git20190206.bf6db5b4+dfsg1-3", "all",
              "http://mirror.invalid/debian/pool/i/isolinux.deb", std::string(64, 'd'), 50000}};
  auto back = ParseLock(LockToJson(l), "t.lock");
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->request.tools, l.request.tools);
  ASSERT_EQ(back->tools.size(), 1u);
  EXPECT_EQ(back->tools[0].name, "isolinux");
  EXPECT_EQ(back->TotalSize(), 2940000);
  EXPECT_EQ(LockToJson(*back), LockToJson(l));
  // A lock made for a tarball does not answer a request for an ISO.
  auto m = Matches(Sample(), l.request);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().find("tools (for output.formats and boot): the profile adds [isolinux, "
                           "syslinux-common]"),
            std::string::npos)
      << m.error();
}

TEST(LockfileTest, InstallerAndOfflineSections) {
  profiles::Profile p;
  p.name = "inst";
  p.source = "/d/inst.yaml";
  p.distribution = {profiles::Family::kDebian, "bookworm", "amd64"};
  p.output.formats = {profiles::Format::kTar};
  p.packages.include = {"linux-image-amd64", "grub2-common"};
  LockRequest plain = RequestOf(p);
  EXPECT_TRUE(plain.installer.empty());
  EXPECT_TRUE(plain.offline.empty());
  p.installer.type = profiles::InstallerType::kCalamares;
  p.installer.packages = {"vim"};
  p.installer.offline_packages = {"grub-pc", "grub-efi-amd64", "grub-pc"};
  LockRequest req = RequestOf(p);
  // The installer's target packages join include, sorted and unique.
  EXPECT_EQ(req.include,
            (std::vector<std::string>{"efibootmgr", "grub-efi-amd64-bin", "grub-efi-amd64-signed",
                                      "grub-pc-bin", "grub2-common", "initramfs-tools",
                                      "linux-image-amd64", "locales", "shim-signed"}));
  EXPECT_EQ(req.installer, installer::LivePackages(p));
  EXPECT_NE(std::find(req.installer.begin(), req.installer.end(), "vim"), req.installer.end());
  EXPECT_EQ(req.offline, (std::vector<std::string>{"grub-efi-amd64", "grub-pc"}));

  Lock l = Sample();
  const std::string before = LockToJson(l);
  EXPECT_EQ(before.find("installer"), std::string::npos);  // absent when empty: old locks stay
  EXPECT_EQ(before.find("offline"), std::string::npos);
  l.request.installer = {"calamares"};
  l.request.offline = {"grub-pc"};
  l.installer = {{"calamares", "3.2.61-1", "amd64", "http://mirror.invalid/debian/pool/c/c.deb",
                  std::string(64, 'e'), 1000}};
  l.offline = {{"grub-pc", "2.06-13", "amd64", "http://mirror.invalid/debian/pool/g/g.deb",
                std::string(64, 'f'), 200}};
  auto back = ParseLock(LockToJson(l), "t.lock");
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->request.installer, l.request.installer);
  EXPECT_EQ(back->request.offline, l.request.offline);
  ASSERT_EQ(back->installer.size(), 1u);
  ASSERT_EQ(back->offline.size(), 1u);
  EXPECT_EQ(back->offline[0].name, "grub-pc");
  EXPECT_EQ(back->TotalSize(), 2890000 + 1000 + 200);
  EXPECT_EQ(LockToJson(*back), LockToJson(l));
  auto m = Matches(Sample(), l.request);
  ASSERT_FALSE(m);
  EXPECT_NE(m.error().find("installer (for installer.type and installer.packages): the profile "
                           "adds [calamares]"),
            std::string::npos)
      << m.error();
  EXPECT_NE(m.error().find("installer.offline_packages: the profile adds [grub-pc]"),
            std::string::npos)
      << m.error();
  EXPECT_TRUE(Matches(l, l.request));
}

}  // namespace
}  // namespace imager::repo
