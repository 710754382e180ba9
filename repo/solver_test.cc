// SPDX-License-Identifier: GPL-3.0-or-later
#include "repo/solver.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "base/fd.h"
#include "base/fs.h"
#include "repo/rpmmd.h"
#include "repo/testing/deb_repo.h"

namespace imager::repo {
namespace {

using profiles::Variant;
using Strings = std::vector<std::string>;

// A small archive: an essential core, a required apt, an important editor, alternatives,
// a virtual package, a versioned dependency that cannot be met, a conflict.
constexpr const char* kPackages = R"(Package: base-files
Version: 12.4
Architecture: amd64
Essential: yes
Priority: required
Filename: pool/main/b/base-files/base-files_12.4_amd64.deb
Size: 70000
SHA256: 1111111111111111111111111111111111111111111111111111111111111111

Package: libc6
Version: 2.36-9
Architecture: amd64
Priority: optional
Multi-Arch: same
Filename: pool/main/g/glibc/libc6_2.36-9_amd64.deb
Size: 2800000
SHA256: 2222222222222222222222222222222222222222222222222222222222222222

Package: dash
Version: 0.5.12-2
Architecture: amd64
Essential: yes
Priority: required
Pre-Depends: libc6 (>= 2.34)
Filename: pool/main/d/dash/dash_0.5.12-2_amd64.deb
Size: 90000
SHA256: 3333333333333333333333333333333333333333333333333333333333333333

Package: apt
Version: 2.6.1
Architecture: amd64
Priority: required
Depends: libc6 (>= 2.34), base-files
Filename: pool/main/a/apt/apt_2.6.1_amd64.deb
Size: 1400000
SHA256: 4444444444444444444444444444444444444444444444444444444444444444

Package: editor
Version: 9.0
Architecture: amd64
Priority: important
Depends: libc6
Filename: pool/main/e/editor/editor_9.0_amd64.deb
Size: 1000
SHA256: 5555555555555555555555555555555555555555555555555555555555555555

Package: tool
Version: 1.0
Architecture: all
Priority: optional
Depends: zeta | alpha
Filename: pool/main/t/tool/tool_1.0_all.deb
Size: 100
SHA256: 6666666666666666666666666666666666666666666666666666666666666666

Package: zeta
Version: 1.0
Architecture: all
Priority: optional
Filename: pool/main/z/zeta/zeta_1.0_all.deb
Size: 100
SHA256: 7777777777777777777777777777777777777777777777777777777777777777

Package: alpha
Version: 1.0
Architecture: all
Priority: optional
Filename: pool/main/a/alpha/alpha_1.0_all.deb
Size: 100
SHA256: 8888888888888888888888888888888888888888888888888888888888888888

Package: broken
Version: 1.0
Architecture: all
Priority: optional
Depends: libc6 (>= 3)
Filename: pool/main/b/broken/broken_1.0_all.deb
Size: 100
SHA256: 9999999999999999999999999999999999999999999999999999999999999999

Package: mailer
Version: 1.0
Architecture: all
Priority: optional
Depends: mail-transport-agent
Filename: pool/main/m/mailer/mailer_1.0_all.deb
Size: 100
SHA256: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa

Package: mta
Version: 1.0
Architecture: all
Priority: optional
Provides: mail-transport-agent
Filename: pool/main/m/mta/mta_1.0_all.deb
Size: 100
SHA256: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb

Package: rival
Version: 1.0
Architecture: all
Priority: optional
Conflicts: editor
Filename: pool/main/r/rival/rival_1.0_all.deb
Size: 100
SHA256: cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc

Package: foreign
Version: 1.0
Architecture: i386
Priority: required
Filename: pool/main/f/foreign/foreign_1.0_i386.deb
Size: 100
SHA256: dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd
)";

class SolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDir("/tmp", "imager-solver-test-");
    ASSERT_TRUE(WriteFile(dir_ + "/Packages", kPackages));
    ASSERT_TRUE(pool_.AddDebianPackages(dir_ + "/Packages", "http://mirror.invalid/debian/"));
  }
  void TearDown() override { (void)RemoveTree(dir_); }

  Strings Solve(const SolveRequest& r) {
    auto s = pool_.Solve(r);
    EXPECT_TRUE(s) << s.error();
    Strings names;
    if (s)
      for (const auto& p : s->packages) names.push_back(p.name);
    return names;
  }
  static Strings Sorted(Strings v) {
    std::sort(v.begin(), v.end());
    return v;
  }

  std::string dir_;
  Pool pool_{profiles::Family::kDebian, "amd64"};
};

TEST_F(SolverTest, VariantSetsFollowMmdebstrap) {
  EXPECT_EQ(pool_.VariantNames(Variant::kNone), Strings{});
  EXPECT_EQ(pool_.VariantNames(Variant::kEssential), (Strings{"base-files", "dash"}));
  EXPECT_EQ(pool_.VariantNames(Variant::kMinbase), (Strings{"apt", "base-files", "dash"}));
  EXPECT_EQ(pool_.VariantNames(Variant::kRequired), pool_.VariantNames(Variant::kMinbase));
  EXPECT_EQ(pool_.VariantNames(Variant::kImportant),
            (Strings{"apt", "base-files", "dash", "editor"}));
}

TEST_F(SolverTest, MinbaseInInstallOrderWithLocations) {
  auto s = pool_.Solve({.variant = Variant::kMinbase});
  ASSERT_TRUE(s) << s.error();
  Strings names;
  for (const auto& p : s->packages) names.push_back(p.name);
  EXPECT_EQ(Sorted(names), (Strings{"apt", "base-files", "dash", "libc6"}));
  auto pos = [&](const std::string& n) { return std::find(names.begin(), names.end(), n); };
  EXPECT_LT(pos("libc6"), pos("dash"));  // Pre-Depends first
  EXPECT_LT(pos("libc6"), pos("apt"));
  EXPECT_LT(pos("base-files"), pos("apt"));
  const SolvedPackage& libc = *std::find_if(s->packages.begin(), s->packages.end(),
                                            [](const auto& p) { return p.name == "libc6"; });
  EXPECT_EQ(libc.version, "2.36-9");
  EXPECT_EQ(libc.arch, "amd64");
  EXPECT_EQ(libc.url, "http://mirror.invalid/debian/pool/main/g/glibc/libc6_2.36-9_amd64.deb");
  EXPECT_EQ(libc.sha256, std::string(64, '2'));
  EXPECT_EQ(libc.size, 2800000);
  // The same input gives the same answer.
  auto again = pool_.Solve({.variant = Variant::kMinbase});
  ASSERT_TRUE(again);
  Strings names2;
  for (const auto& p : again->packages) names2.push_back(p.name);
  EXPECT_EQ(names, names2);
}

TEST_F(SolverTest, EssentialAndImportant) {
  EXPECT_EQ(Sorted(Solve({.variant = Variant::kEssential})),
            (Strings{"base-files", "dash", "libc6"}));
  EXPECT_EQ(Sorted(Solve({.variant = Variant::kImportant})),
            (Strings{"apt", "base-files", "dash", "editor", "libc6"}));
}

TEST_F(SolverTest, ExcludeDropsAVariantMember) {
  EXPECT_EQ(Sorted(Solve({.variant = Variant::kMinbase, .exclude = {"apt"}})),
            (Strings{"base-files", "dash", "libc6"}));
}

TEST_F(SolverTest, ExcludingANeededPackageExplainsAndOffersFixes) {
  auto s = pool_.Solve({.variant = Variant::kMinbase, .exclude = {"libc6"}});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().find("libc6 is excluded (packages.exclude)"), std::string::npos) << s.error();
  EXPECT_NE(s.error().find("depends on libc6 (>= 2.34)"), std::string::npos) << s.error();
  EXPECT_NE(s.error().find("remove 'libc6' from packages.exclude"), std::string::npos) << s.error();
}

TEST_F(SolverTest, FirstAlternativeUnlessAnotherIsNamed) {
  EXPECT_EQ(Sorted(Solve({.include = {"tool"}})), (Strings{"tool", "zeta"}));
  EXPECT_EQ(Sorted(Solve({.include = {"tool", "alpha"}})), (Strings{"alpha", "tool"}));
  EXPECT_EQ(Sorted(Solve({.include = {"tool"}, .exclude = {"zeta"}})), (Strings{"alpha", "tool"}));
}

TEST_F(SolverTest, VirtualPackages) {
  EXPECT_EQ(Sorted(Solve({.include = {"mailer"}})), (Strings{"mailer", "mta"}));
  EXPECT_EQ(Sorted(Solve({.include = {"mail-transport-agent"}})), (Strings{"mta"}));
}

TEST_F(SolverTest, UnsatisfiableNamesBothPackages) {
  auto s = pool_.Solve({.include = {"broken"}});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().find("package broken 1.0 depends on libc6 (>= 3), but only libc6 2.36-9 is "
                           "available"),
            std::string::npos)
      << s.error();
  EXPECT_NE(s.error().find("remove 'broken' from packages.include"), std::string::npos)
      << s.error();
}

TEST_F(SolverTest, ConflictNamesBothPackages) {
  auto s = pool_.Solve({.include = {"editor", "rival"}});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().find("package rival 1.0 conflicts with editor, which editor 9.0 satisfies"),
            std::string::npos)
      << s.error();
}

TEST_F(SolverTest, UnknownNamesAreSuggestedAndAllReported) {
  auto s = pool_.Solve({.include = {"edtor", "nosuchthing"}});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().find("unknown package 'edtor' (packages.include); did you mean editor?"),
            std::string::npos)
      << s.error();
  EXPECT_NE(s.error().find("unknown package 'nosuchthing'"), std::string::npos) << s.error();
}

TEST_F(SolverTest, IncludedAndExcludedIsAnError) {
  auto s = pool_.Solve({.include = {"tool"}, .exclude = {"tool"}});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().find("'tool' is both in packages.include and packages.exclude"),
            std::string::npos);
}

TEST_F(SolverTest, ExcludingAnUnknownNameWarns) {
  auto s = pool_.Solve({.include = {"tool"}, .exclude = {"nosuch"}});
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(s->warnings, Strings{"packages.exclude: no package is named 'nosuch'"});
}

TEST_F(SolverTest, OtherArchitecturesAreIgnored) {
  auto s = pool_.Solve({.include = {"foreign"}});
  ASSERT_FALSE(s);
  EXPECT_EQ(pool_.VariantNames(Variant::kMinbase), (Strings{"apt", "base-files", "dash"}));
}

TEST_F(SolverTest, RecommendsOnlyWhenAsked) {
  ASSERT_TRUE(WriteFile(dir_ + "/Packages2",
                        "Package: rec\nVersion: 1\nArchitecture: all\nRecommends: zeta\n"
                        "Filename: pool/rec_1_all.deb\nSize: 1\nSHA256: " +
                            std::string(64, 'e') + "\n"));
  ASSERT_TRUE(pool_.AddDebianPackages(dir_ + "/Packages2", "http://other.invalid/x"));
  EXPECT_EQ(Sorted(Solve({.include = {"rec"}})), (Strings{"rec"}));
  EXPECT_EQ(Sorted(Solve({.include = {"rec"}, .recommends = true})), (Strings{"rec", "zeta"}));
  auto s = pool_.Solve({.include = {"rec"}});
  ASSERT_TRUE(s);
  EXPECT_EQ(s->packages[0].url, "http://other.invalid/x/pool/rec_1_all.deb");
}

TEST_F(SolverTest, CompressedIndexes) {
  if (test::Sh("command -v xz") != 0) GTEST_SKIP() << "xz is not installed";
  Pool pool(profiles::Family::kDebian, "amd64");
  ASSERT_EQ(test::Sh("xz -k " + test::Q(dir_ + "/Packages")), 0);
  ASSERT_TRUE(pool.AddDebianPackages(dir_ + "/Packages.xz", "http://m.invalid"));
  EXPECT_EQ(pool.Names().size(), 13u);
  auto missing = pool.AddDebianPackages(dir_ + "/nope.xz", "http://m.invalid");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("nope.xz"), std::string::npos);
}

// An rpm-md primary index: name, "E:V-R", arch, and <rpm:...> dependency entries.
struct RpmEntry {
  std::string name, evr = "0:1.0-1", arch = "noarch", deps;
};

std::string Entry(const std::string& kind, const std::string& name, const std::string& flags = "",
                  const std::string& ver = "") {
  std::string e = "<rpm:entry name=\"" + name + "\"";
  if (!flags.empty()) e += " flags=\"" + flags + "\" epoch=\"0\" ver=\"" + ver + "\"";
  return "<rpm:" + kind + ">" + e + "/></rpm:" + kind + ">";
}

std::string Primary(const std::vector<RpmEntry>& pkgs) {
  std::string x =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<metadata "
      "xmlns=\"http://linux.duke.edu/metadata/common\" "
      "xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\" packages=\"" +
      std::to_string(pkgs.size()) + "\">\n";
  int n = 0;
  for (const auto& p : pkgs) {
    size_t colon = p.evr.find(':'), dash = p.evr.find('-');
    std::string file = p.name + "-" + p.evr.substr(colon + 1) + "." + p.arch + ".rpm";
    x += "<package type=\"rpm\"><name>" + p.name + "</name><arch>" + p.arch +
         "</arch><version epoch=\"" + p.evr.substr(0, colon) + "\" ver=\"" +
         p.evr.substr(colon + 1, dash - colon - 1) + "\" rel=\"" + p.evr.substr(dash + 1) +
         "\"/><checksum type=\"sha256\" pkgid=\"YES\">" + std::string(63, 'a') +
         static_cast<char>('0' + n++ % 10) + "</checksum><location href=\"Packages/" + file +
         "\"/><format>" + p.deps + "</format></package>\n";
  }
  return x + "</metadata>\n";
}

// The rpm family solves as dnf does; the fixture of tests/rootless/rpm_resolve_vs_dnf.sh checks
// the same against dnf itself.
class SolverDnfTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *MakeTempDir("/tmp", "imager-solver-dnf-test-");
    std::vector<RpmEntry> pkgs = {
        {"old"},
        {"new", "0:2.0-1", "noarch",
         Entry("provides", "old", "EQ", "2.0") + Entry("obsoletes", "old", "LT", "2.0")},
        {"multi", "0:1.0-1", "x86_64"},
        {"multi", "0:1.0-1", "i686"},
        {"multiuser", "0:1.0-1", "noarch", Entry("requires", "multi")},
        {"either", "0:1.0-1", "noarch", Entry("requires", "(zeta or alpha)")},
        {"zeta"},
        {"alpha"},
        {"rival", "0:1.0-1", "noarch", Entry("conflicts", "old")},
        {"broken", "0:1.0-1", "noarch", Entry("requires", "missing")},
    };
    ASSERT_TRUE(WriteFile(dir_ + "/primary.xml", Primary(pkgs)));
    RpmMdMetadata md;
    md.url = "http://r.invalid/os";
    md.primary.path = dir_ + "/primary.xml";
    auto st = AddRpmMd(pool_, md);
    ASSERT_TRUE(st) << st.error();
  }
  void TearDown() override { (void)RemoveTree(dir_); }

  Strings Solve(const Strings& include) {
    auto s = pool_.Solve({.include = include});
    EXPECT_TRUE(s) << s.error();
    Strings out;
    if (s)
      for (const auto& p : s->packages) out.push_back(p.name + "-" + p.version + "." + p.arch);
    std::sort(out.begin(), out.end());
    return out;
  }

  std::string dir_;
  Pool pool_{profiles::Family::kRpm, "x86_64"};
};

TEST_F(SolverDnfTest, ANameGivesThePackageThatObsoletesIt) {
  EXPECT_EQ(Solve({"old"}), (Strings{"new-2.0-1.noarch"}));
  EXPECT_EQ(Solve({"old-1.0"}), (Strings{"old-1.0-1.noarch"}));  // a version: exactly that
}

TEST_F(SolverDnfTest, MultilibOnlyWhenAsked) {
  EXPECT_EQ(Solve({"multiuser"}), (Strings{"multi-1.0-1.x86_64", "multiuser-1.0-1.noarch"}));
  EXPECT_EQ(Solve({"multi"}), (Strings{"multi-1.0-1.x86_64"}));
  EXPECT_EQ(Solve({"multi.i686"}), (Strings{"multi-1.0-1.i686"}));
  EXPECT_EQ(Solve({"multi.i686", "multi.x86_64"}),
            (Strings{"multi-1.0-1.i686", "multi-1.0-1.x86_64"}));
}

TEST_F(SolverDnfTest, OrIsLibsolvsChoiceNotTheFirst) {
  // apt would take zeta, the first alternative; dnf (libsolv) takes alpha.
  EXPECT_EQ(Solve({"either"}), (Strings{"alpha-1.0-1.noarch", "either-1.0-1.noarch"}));
}

TEST_F(SolverDnfTest, ErrorsInDnfsWords) {
  auto s = pool_.Solve({.include = {"nothere"}});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().find("No match for argument: nothere (packages.include)"), std::string::npos)
      << s.error();
  s = pool_.Solve({.include = {"broken"}});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().find(" Problem: conflicting requests"), std::string::npos) << s.error();
  EXPECT_NE(s.error().find("\n  - nothing provides missing needed by broken-1.0-1.noarch"),
            std::string::npos)
      << s.error();
  s = pool_.Solve({.include = {"old-1.0", "rival"}});
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().find("package rival-1.0-1.noarch conflicts with old provided by "
                           "old-1.0-1.noarch"),
            std::string::npos)
      << s.error();
  EXPECT_NE(s.error().find("fix 1: remove"), std::string::npos) << s.error();
}

}  // namespace
}  // namespace imager::repo
