// SPDX-License-Identifier: GPL-3.0-or-later
#include "inside/rpm_install.h"

#include <gtest/gtest.h>

#include <fcntl.h>

#include <filesystem>

#include "base/fd.h"
#include "base/fs.h"
#include "repo/testing/deb_repo.h"

namespace imager::inside {
namespace {

namespace fs = std::filesystem;
using repo::test::Q;
using repo::test::Sh;

// The failures here are all found before rpm writes anything or chroots, so they run as any
// user; installs that run scriptlets are tested in the sandbox (tests/rootless/rpm_install.sh).
class RpmInstallTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (Sh("command -v rpmbuild") != 0) return;
    dir_ = *MakeTempDir("/tmp", "imager-rpm-install-test-");
    ready_ = Build("app", "Requires: libfoo\n") && Build("libfoo", "") &&
             Build("rival", "Conflicts: libfoo\n");
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) (void)RemoveTree(dir_);
  }
  void SetUp() override {
    if (dir_.empty()) GTEST_SKIP() << "rpmbuild is not installed";
    ASSERT_TRUE(ready_) << "building the fixture rpms failed";
    root_ = dir_ + "/root-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(root_);
    log_ = dir_ + "/log";
    log_fd_ = UniqueFd(open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  }

  // A noarch rpm NAME-1.0-1 with the extra spec lines `deps` and one file /usr/share/NAME.
  static bool Build(const std::string& name, const std::string& deps) {
    std::string top = dir_ + "/top";
    std::string spec = top + "/" + name + ".spec";
    fs::create_directories(top);
    std::string text = "Name: " + name + "\nVersion: 1.0\nRelease: 1\nSummary: fixture\n" +
                       "License: GPL-3.0-or-later\nBuildArch: noarch\n" + deps +
                       "%description\nfixture\n%install\nmkdir -p %{buildroot}/usr/share\n" +
                       "echo " + name + " > %{buildroot}/usr/share/" + name + "\n%files\n" +
                       "/usr/share/" + name + "\n";
    if (!WriteFile(spec, text)) return false;
    return Sh("rpmbuild -bb --quiet --define " + Q("_topdir " + top) + " " + Q(spec) +
              " >/dev/null 2>&1") == 0;
  }
  static std::string Rpm(const std::string& name) {
    return dir_ + "/top/RPMS/noarch/" + name + "-1.0-1.noarch.rpm";
  }
  RpmInstallOptions Options(std::vector<std::string> packages) {
    return {.root = root_, .packages = std::move(packages), .log_fd = log_fd_.get()};
  }
  bool RootIsEmpty() { return fs::is_empty(root_) || !fs::exists(root_ + "/usr/share"); }

  static inline std::string dir_;
  static inline bool ready_ = false;
  std::string root_, log_;
  UniqueFd log_fd_;
};

TEST_F(RpmInstallTest, UnresolvedDependencyNamesBothPackages) {
  auto r = RpmInstall(Options({Rpm("app")}));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("cannot be installed together"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("libfoo is needed by app-1.0-1.noarch"), std::string::npos) << r.error();
  EXPECT_TRUE(RootIsEmpty());
}

TEST_F(RpmInstallTest, ConflictNamesBothPackages) {
  auto r = RpmInstall(Options({Rpm("libfoo"), Rpm("rival")}));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("libfoo conflicts with rival-1.0-1.noarch"), std::string::npos)
      << r.error();
  EXPECT_TRUE(RootIsEmpty());
}

TEST_F(RpmInstallTest, MissingFileIsNamed) {
  auto r = RpmInstall(Options({Rpm("libfoo"), dir_ + "/nope.rpm"}));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("open " + dir_ + "/nope.rpm"), std::string::npos) << r.error();
}

TEST_F(RpmInstallTest, NotAnRpmIsNamed) {
  ASSERT_TRUE(WriteFile(dir_ + "/junk.rpm", "this is not an rpm\n"));
  auto r = RpmInstall(Options({dir_ + "/junk.rpm"}));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("read " + dir_ + "/junk.rpm: not a valid rpm"), std::string::npos)
      << r.error();
}

TEST_F(RpmInstallTest, RelativeRootIsRefused) {
  auto o = Options({Rpm("libfoo")});
  o.root = "relative/root";
  auto r = RpmInstall(o);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("root must be absolute"), std::string::npos) << r.error();
}

TEST(RpmIdFileTest, ParsesNamesAndIds) {
  auto ids = ParseIdFile(
      "root:x:0:0:root:/root:/bin/sh\n# comment\nbad line\n"
      "svc:x:990:990::/:/bin/false\nneg:x:-1:\nwheel:x:10:root\n");
  std::vector<std::pair<std::string, unsigned>> want{{"root", 0}, {"svc", 990}, {"wheel", 10}};
  EXPECT_EQ(ids, want);
}

}  // namespace
}  // namespace imager::inside
