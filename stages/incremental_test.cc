// SPDX-License-Identifier: GPL-3.0-or-later
#include "stages/incremental.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

namespace imager::stages {
namespace {

repo::LockedPackage Pkg(const std::string& name, const std::string& version) {
  return {name, version, "amd64", "http://m/" + name + ".deb", std::string(64, name[0]), 1};
}

PackageFiles Files(const std::vector<repo::LockedPackage>& packages) {
  PackageFiles f;
  f.packages = packages;
  for (const auto& p : packages) f.paths.push_back("/cache/" + p.name + "_" + p.version + ".deb");
  f.repositories = {{"http://m", "bookworm", "date", "r", std::string(64, 'b')}};
  return f;
}

repo::Lock Record(const std::vector<repo::LockedPackage>& packages,
                  const std::vector<std::string>& include) {
  repo::Lock l;
  l.request.include = include;
  l.packages = packages;
  l.repositories = {{"http://old", "bookworm", "date", "r", std::string(64, 'c')}};
  return l;
}

TEST(IncrementalTest, AddedPackagesGoAboveTheRecordedOnes) {
  auto base = Record({Pkg("zlib", "1"), Pkg("apt", "2")}, {"zlib", "apt"});
  auto now = Files({Pkg("apt", "2"), Pkg("htop", "3"), Pkg("libnl", "4"), Pkg("zlib", "1")});
  auto plan = PlanIncremental(base, now, {"zlib", "apt", "htop"});
  ASSERT_TRUE(plan) << plan.error();
  // The base as the record lists it (the packages stage's key takes that order), with the
  // paths of the lock's files; its include as written then, and its repositories.
  ASSERT_EQ(plan->base.packages.size(), 2u);
  EXPECT_EQ(plan->base.packages[0].name, "zlib");
  EXPECT_EQ(plan->base.paths[0], "/cache/zlib_1.deb");
  EXPECT_EQ(plan->base.paths[1], "/cache/apt_2.deb");
  EXPECT_EQ(plan->base_include, (std::vector<std::string>{"zlib", "apt"}));
  EXPECT_EQ(plan->base.repositories[0].url, "http://old");
  // The added in the lock's order; only the names the profile asks for are asked.
  ASSERT_EQ(plan->added.packages.size(), 2u);
  EXPECT_EQ(plan->added.packages[0].name, "htop");
  EXPECT_EQ(plan->added.paths[1], "/cache/libnl_4.deb");
  EXPECT_EQ(plan->added.repositories[0].url, "http://m");
  EXPECT_EQ(plan->asked, std::vector<std::string>{"htop"});
}

TEST(IncrementalTest, AChangedRemovedOrAlteredPackageNeedsAFullBuild) {
  auto base = Record({Pkg("zlib", "1"), Pkg("apt", "2")}, {"apt"});
  auto changed = PlanIncremental(base, Files({Pkg("zlib", "1"), Pkg("apt", "3")}), {"apt"});
  ASSERT_FALSE(changed);
  EXPECT_EQ(changed.error(), "apt changed from 2 to 3 since the last full build");
  auto removed = PlanIncremental(base, Files({Pkg("apt", "2"), Pkg("htop", "3")}), {"apt"});
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error(), "zlib 1 amd64 of the last full build is no longer in the lock");
  auto now = Files({Pkg("zlib", "1"), Pkg("apt", "2"), Pkg("htop", "3")});
  now.packages[1].sha256 = std::string(64, 'x');
  auto altered = PlanIncremental(base, now, {"apt"});
  ASSERT_FALSE(altered);
  EXPECT_NE(altered.error().find("apt 2 amd64 has another sha256"), std::string::npos);
  auto same = PlanIncremental(base, Files({Pkg("apt", "2"), Pkg("zlib", "1")}), {"apt"});
  ASSERT_FALSE(same);
  EXPECT_EQ(same.error(), "the lock adds no package to the last full build");
}

TEST(IncrementalTest, TheRecordKeepsTheIncludeListAsWritten) {
  char tmpl[] = "/tmp/incremental-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string cache = tmpl;
  std::string path = RecordPath(cache, "/p/debian-live.lock");
  EXPECT_NE(path, RecordPath(cache, "/q/debian-live.lock"));
  ASSERT_TRUE(WriteRecord(path, Files({Pkg("zlib", "1")}), {"zlib", "apt"}));
  auto back = repo::ReadLock(path);
  ASSERT_TRUE(back) << back.error();
  EXPECT_EQ(back->request.include, (std::vector<std::string>{"zlib", "apt"}));
  ASSERT_EQ(back->packages.size(), 1u);
  EXPECT_EQ(back->packages[0].sha256, std::string(64, 'z'));
  std::filesystem::remove_all(cache);
}

}  // namespace
}  // namespace imager::stages
