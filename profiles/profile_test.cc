// SPDX-License-Identifier: GPL-3.0-or-later
#include "profiles/profile.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "profiles/validate.h"

namespace imager::profiles {
namespace {

TEST(ProfileTest, EnumNamesRoundTrip) {
  EXPECT_EQ(NameOf(RepoType::kRpmMd), "rpm-md");
  EXPECT_EQ(ParseEnum<RepoType>("rpm-md"), RepoType::kRpmMd);
  EXPECT_EQ(ParseEnum<Format>("squashfs"), Format::kSquashfs);
  EXPECT_EQ(ParseEnum<Variant>("MINBASE"), std::nullopt);
  EXPECT_EQ(NameOf(InstallerType::kAnaconda), "anaconda");
}

TEST(ProfileTest, DefaultVolumeIdFromName) {
  EXPECT_EQ(DefaultVolumeId("debian-live"), "DEBIAN_LIVE");
  EXPECT_EQ(DefaultVolumeId("a.b c9"), "A_B_C9");
  EXPECT_EQ(DefaultVolumeId(std::string(40, 'x')), std::string(32, 'X'));
  EXPECT_EQ(DefaultVolumeId(""), "IMAGER");
}

TEST(ProfileTest, WhereFallsBackToTheProfilesFile) {
  Profile p;
  p.source = "p.yaml";
  p.locations["boot.timeout"] = SourceLocation{"base.yaml", 7, 12};
  EXPECT_EQ(p.Where("boot.timeout").ToString(), "base.yaml:7:12");
  EXPECT_EQ(p.Where("boot.cmdline").ToString(), "p.yaml:1:1");
}

TEST(ProfileTest, JsonKeepsYamlKeyOrderAndOmitsProvenance) {
  Profile p;
  p.name = "x";
  p.repositories.push_back(Repository{
      RepoType::kDeb, "http://mirror.example/debian", "bookworm", {"main"}, "/k.asc", "", true});
  p.locations["name"] = SourceLocation{"x.yaml", 1, 7};
  auto j = ToJson(p);
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"version", "name", "description", "distribution",
                                            "repositories", "packages", "base", "rootfs",
                                            "installer", "boot", "output", "build"}));
  EXPECT_EQ(j["repositories"][0].dump(),
            R"({"type":"deb","mirror":"http://mirror.example/debian","suite":"bookworm",)"
            R"("components":["main"],"keyring":"/k.asc"})");
  EXPECT_EQ(j["base"], "none");
  EXPECT_EQ(j["rootfs"]["root_password"], nullptr);
}

TEST(ProfileTest, YamlQuotesStringsThatWouldReadAsOtherTypes) {
  Profile p;
  p.name = "x";
  p.description = "30";
  p.boot.cmdline = "true";
  std::string y = ToYaml(p);
  EXPECT_NE(y.find("description: \"30\"\n"), std::string::npos) << y;
  EXPECT_NE(y.find("cmdline: \"true\"\n"), std::string::npos) << y;
  EXPECT_NE(y.find("timeout: 30\n"), std::string::npos) << y;
  EXPECT_NE(y.find("probe: [cdrom, usb, disk]\n"), std::string::npos) << y;
}

}  // namespace
}  // namespace imager::profiles
