// SPDX-License-Identifier: GPL-3.0-or-later
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <unistd.h>

#include <filesystem>

#include "base/fd.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "repo/testing/rpm_repo.h"
#include "stages/offline_repo.h"

namespace imager::stages {
namespace {

namespace fs = std::filesystem;
using repo::test::Q;
using repo::test::Sh;

// The rpm-md offline repository from fixture rpms (rpmbuild): the same packages give the same
// bytes whatever the cached files' times, and dnf reads it offline and installs from it.
class RpmOfflineRepoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* t : {"rpmbuild", "dnf"})
      if (Sh(std::string("command -v ") + t + " >/dev/null") != 0)
        GTEST_SKIP() << t << " is not installed";
    dir_ = *MakeTempDir("/tmp", "imager-rpm-offline-test-");
    ASSERT_TRUE(repo::test::BuildRpm(dir_ + "/top", dir_ + "/cache", "alpha", "beta"));
    ASSERT_TRUE(repo::test::BuildRpm(dir_ + "/top", dir_ + "/cache", "beta", "", "/usr/bin/beta"));
    for (const char* name : {"alpha", "beta"}) {
      std::string path = dir_ + "/cache/Packages/" + std::string(name) + "-1.0-1.noarch.rpm";
      files_.paths.push_back(path);
      files_.packages.push_back(
          {.name = name,
           .version = "1.0-1",
           .arch = "noarch",
           .url = "https://repo.example/os/Packages/" + std::string(name) + "-1.0-1.noarch.rpm",
           .sha256 = *Sha256File(path)});
    }
  }
  void TearDown() override {
    if (!dir_.empty()) (void)RemoveTree(dir_);
  }
  std::string dir_;
  PackageFiles files_;
};

TEST_F(RpmOfflineRepoTest, SameBytesTwiceAndDnfInstallsFromIt) {
  ASSERT_TRUE(WriteRpmOfflineRepo(files_, 1700000000, dir_ + "/one"));
  // Another cache copy with other times: the metadata must not notice.
  struct timespec times[2] = {{1234, 0}, {1234, 0}};
  for (const auto& p : files_.paths) ASSERT_EQ(utimensat(AT_FDCWD, p.c_str(), times, 0), 0);
  ASSERT_TRUE(WriteRpmOfflineRepo(files_, 1700000000, dir_ + "/two"));
  std::string diff;
  EXPECT_EQ(Sh("diff -r " + Q(dir_ + "/one/tree") + " " + Q(dir_ + "/two/tree"), &diff), 0) << diff;
  EXPECT_TRUE(fs::exists(dir_ + "/one/tree/Packages/alpha-1.0-1.noarch.rpm"));
  auto repomd = ReadFile(dir_ + "/one/tree/repodata/repomd.xml");
  ASSERT_TRUE(repomd) << repomd.error();
  for (const char* want :
       {"<revision>1700000000</revision>", "<data type=\"primary\">", "<data type=\"filelists\">",
        "<data type=\"other\">", "<timestamp>1700000000</timestamp>"})
    EXPECT_NE(repomd->find(want), std::string::npos) << want << "\n" << *repomd;

  // dnf, offline, from the tree alone: alpha pulls in beta. dnf refuses to run as non-root: an
  // unprivileged user runs it as root of its own user namespace, where it writes only here.
  std::string out;
  int rc = Sh(std::string(getuid() == 0 ? "" : "unshare --user --map-root-user ") +
                  "dnf -y -q --installroot " + Q(dir_ + "/root") + " --releasever 1 " +
                  "--setopt=cachedir=" + Q(dir_ + "/dnf-cache") +
                  " --setopt=reposdir=/nonexistent --disablerepo='*' --repofrompath " +
                  Q("offline,file://" + dir_ + "/one/tree") +
                  " --setopt=offline.gpgcheck=0 install --downloadonly " + "--downloaddir " +
                  Q(dir_ + "/dl") + " alpha 2>&1",
              &out);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_TRUE(fs::exists(dir_ + "/dl/beta-1.0-1.noarch.rpm")) << out;
}

TEST_F(RpmOfflineRepoTest, AFileThatIsNotTheLockedOneIsRefused) {
  files_.packages[1].sha256 = std::string(64, '0');
  auto st = WriteRpmOfflineRepo(files_, 0, dir_ + "/out");
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().find("beta-1.0-1.noarch.rpm) has sha256"), std::string::npos) << st.error();
}

}  // namespace
}  // namespace imager::stages
