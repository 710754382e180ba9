// SPDX-License-Identifier: GPL-3.0-or-later
#include "inside/rpm_install.h"

#include <gtest/gtest.h>

#include <fcntl.h>

#include <cctype>
#include <filesystem>

#include "base/fd.h"
#include "base/fs.h"
#include "base/strings.h"
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

// Signature checks of package files against a repository's keyring (gpgcheck), with throwaway
// keys: one the repository signs with, another one.
class RpmSignatureTest : public RpmInstallTest {
 protected:
  static void SetUpTestSuite() {
    RpmInstallTest::SetUpTestSuite();
    if (dir_.empty() || Sh("command -v rpmsign && command -v gpg") != 0) return;
    fs::create_directories(dir_ + "/repo-key");
    fs::create_directories(dir_ + "/other-key");
    repo_key_ = new repo::test::GpgKey(dir_ + "/repo-key", "Fixture Repo <repo@example.invalid>");
    other_key_ = new repo::test::GpgKey(dir_ + "/other-key", "Other <other@example.invalid>");
    signed_ = repo_key_->ok() && other_key_->ok();
  }
  static void TearDownTestSuite() {
    delete repo_key_;
    delete other_key_;
    repo_key_ = other_key_ = nullptr;
    RpmInstallTest::TearDownTestSuite();
  }
  void SetUp() override {
    RpmInstallTest::SetUp();
    if (IsSkipped()) return;
    if (!repo_key_) GTEST_SKIP() << "rpmsign or gpg is not installed";
    ASSERT_TRUE(signed_) << "making the keys failed";
  }
  // A copy of NAME's rpm, signed by KEY unless it is null.
  std::string Copy(const std::string& name, const repo::test::GpgKey* key) {
    std::string path = root_ + "-" + name + ".rpm";
    fs::copy_file(Rpm(name), path, fs::copy_options::overwrite_existing);
    if (!key) return path;
    int rc =
        Sh("rpmsign --define " + Q("__gpg " + Which("gpg")) + " --define " +
           Q("_gpg_path " + key->home()) + " --define " + Q("_gpg_name " + key->fingerprint()) +
           " --addsign " + Q(path) + " >/dev/null 2>&1");
    EXPECT_EQ(rc, 0) << "rpmsign " << path;
    return path;
  }
  static std::string Which(const std::string& tool) {
    std::string out;
    Sh("command -v " + tool, &out);
    return std::string(Trim(out));
  }
  static std::string Lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

  static inline repo::test::GpgKey* repo_key_ = nullptr;
  static inline repo::test::GpgKey* other_key_ = nullptr;
  static inline bool signed_ = false;
};

TEST_F(RpmSignatureTest, SignedByTheRepositoryKeyPasses) {
  std::string rpm = Copy("libfoo", repo_key_);
  EXPECT_TRUE(RpmVerifySignatures({{rpm, "libfoo-1.0-1.noarch.rpm", repo_key_->gpg()}}));
  // An ASCII-armored keyring holding the other key too.
  ASSERT_TRUE(
      WriteFile(root_ + "/both.asc", *ReadFile(other_key_->asc()) + *ReadFile(repo_key_->asc())));
  auto st = RpmVerifySignatures({{rpm, "libfoo-1.0-1.noarch.rpm", root_ + "/both.asc"}});
  EXPECT_TRUE(st) << st.error();
}

TEST_F(RpmSignatureTest, UnsignedIsRefused) {
  auto st = RpmVerifySignatures({{Copy("app", nullptr), "app-1.0-1.noarch.rpm", repo_key_->gpg()}});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().find("package app-1.0-1.noarch.rpm"), std::string::npos) << st.error();
  EXPECT_NE(st.error().find("it is not signed"), std::string::npos) << st.error();
  EXPECT_NE(st.error().find(repo_key_->fingerprint()), std::string::npos) << st.error();
}

TEST_F(RpmSignatureTest, OtherKeyIsRefused) {
  auto st =
      RpmVerifySignatures({{Copy("app", other_key_), "app-1.0-1.noarch.rpm", repo_key_->gpg()}});
  ASSERT_FALSE(st);
  std::string id = Lower(other_key_->fingerprint().substr(32));
  EXPECT_NE(st.error().find("signed with key ID " + id + ", which is not in the keyring"),
            std::string::npos)
      << st.error();
  EXPECT_NE(st.error().find(repo_key_->fingerprint()), std::string::npos) << st.error();
}

TEST_F(RpmSignatureTest, AlteredAfterSigningIsRefused) {
  std::string rpm = Copy("libfoo", repo_key_);
  auto bytes = *ReadFile(rpm);
  bytes[bytes.size() - 8] ^= 0x5a;  // inside the compressed payload
  ASSERT_TRUE(WriteFile(rpm, bytes));
  auto st = RpmVerifySignatures({{rpm, "libfoo-1.0-1.noarch.rpm", repo_key_->gpg()}});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().find("altered after it was signed"), std::string::npos) << st.error();
  EXPECT_NE(st.error().find("Payload SHA256 digest: BAD"), std::string::npos) << st.error();
}

TEST_F(RpmSignatureTest, NotAPackageIsSaidSo) {
  ASSERT_TRUE(WriteFile(root_ + "/junk.rpm", "this is not an rpm\n"));
  auto st = RpmVerifySignatures({{root_ + "/junk.rpm", "junk.rpm", repo_key_->gpg()}});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().find("package junk.rpm (" + root_ +
                            "/junk.rpm) is refused: rpm cannot "
                            "read it as a package"),
            std::string::npos)
      << st.error();
}

TEST_F(RpmSignatureTest, NotAKeyringIsAnError) {
  ASSERT_TRUE(WriteFile(root_ + "/junk.gpg", "not a key"));
  auto st = RpmVerifySignatures({{Copy("libfoo", repo_key_), "libfoo.rpm", root_ + "/junk.gpg"}});
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().find("keyring " + root_ + "/junk.gpg"), std::string::npos) << st.error();
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
