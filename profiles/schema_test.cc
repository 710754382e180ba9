// SPDX-License-Identifier: GPL-3.0-or-later
#include "profiles/schema.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "base/fs.h"
#include "base/strings.h"
#include "profiles/loader.h"

namespace imager::profiles {
namespace {

namespace fs = std::filesystem;

TEST(SchemaTest, PathsAreSpelledAsTheTableSpellsThem) {
  EXPECT_EQ(SchemaPath("repositories[12].url"), "repositories[].url");
  EXPECT_EQ(SchemaPath("rootfs.users[0].password.hash"), "rootfs.users[].password.hash");
  EXPECT_EQ(SchemaPath("boot.timeout"), "boot.timeout");
  EXPECT_EQ(SchemaKeys("rootfs.services"), (std::vector<std::string>{"enable", "disable"}));
  EXPECT_TRUE(SchemaKeys("boot.timeout").empty());
  EXPECT_TRUE(SchemaKeys("nothing").empty());
}

// Each entry says everything the manual prints, and its parent comes before it.
TEST(SchemaTest, EveryFieldIsDocumentedUnderItsParent) {
  std::set<std::string> seen;
  for (const auto& f : ProfileSchema()) {
    SCOPED_TRACE(f.path);
    EXPECT_FALSE(f.type.empty());
    EXPECT_FALSE(f.fallback.empty());
    EXPECT_FALSE(f.doc.empty());
    EXPECT_TRUE(seen.insert(f.path).second) << "listed twice";
    size_t cut = f.path.find_last_of('.');
    if (cut == std::string::npos) continue;
    std::string parent = f.path.substr(0, cut);
    if (parent.ends_with("[]")) parent.resize(parent.size() - 2);
    EXPECT_TRUE(seen.count(parent)) << "its parent " << parent << " is not listed before it";
  }
}

class SchemaExampleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir(fs::temp_directory_path().string(), "imager-schema-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = fs::canonical(*d).string();
    // What the examples name, relative to the profile.
    for (const char* f : {"keys/debian.asc", "keys/rpm.asc", "files/motd", "logo.png", "show.qml",
                          "rootfs.tar.gz", "bookworm-oci/index.json"})
      Write(f, "x\n");
    Write("scripts/setup.sh", "#!/bin/sh\n");
    ASSERT_EQ(chmod((dir_ + "/scripts/setup.sh").c_str(), 0755), 0);
    Write("debian-live.yaml", Compose(""));
  }
  void TearDown() override { ASSERT_TRUE(RemoveTree(dir_)); }

  void Write(const std::string& rel, const std::string& text) {
    fs::path p = fs::path(dir_) / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  // A minimal valid profile with the top-level keys EXAMPLE sets replaced by EXAMPLE's.
  static std::string Compose(const std::string& example) {
    const std::vector<std::pair<std::string, std::string>> base = {
        {"name", "name: mini\n"},
        {"distribution", "distribution: {family: debian}\n"},
        {"repositories", "repositories:\n  - {suite: bookworm, keyring: keys/debian.asc}\n"}};
    std::set<std::string> set;
    for (const auto& line : Split(example, '\n'))
      if (!line.empty() && line[0] != ' ' && line.find(':') != std::string::npos)
        set.insert(line.substr(0, line.find(':')));
    std::string text;
    for (const auto& [key, yaml] : base)
      if (!set.count(key)) text += yaml;
    return text + example + "\n";
  }

  std::string dir_;
};

// Every example in the manual is a profile the validator takes, and the validator reads the
// field the example is for; everything it reads is in the table. A field added to the code but
// not to the table is refused as an unknown key (Checker::Map takes its keys from the table).
TEST_F(SchemaExampleTest, EveryExampleLoadsAndSetsItsField) {
  int examples = 0;
  for (const auto& f : ProfileSchema()) {
    if (f.example.empty()) {
      EXPECT_FALSE(SchemaKeys(f.path).empty() && SchemaKeys(f.path + "[]").empty())
          << f.path << ": a field without an example";
      continue;
    }
    SCOPED_TRACE(f.path + " example:\n" + f.example);
    Write("example.yaml", Compose(f.example));
    std::vector<std::string> errors;
    auto p = LoadProfile(dir_ + "/example.yaml", &errors);
    ASSERT_TRUE(p) << p.error() << "\n" << Join(errors, "\n");
    ++examples;
    std::set<std::string> read;
    for (const auto& [path, where] : p->locations) read.insert(SchemaPath(path));
    if (f.path == "extends")
      EXPECT_EQ(p->extends, dir_ + "/debian-live.yaml");
    else
      EXPECT_TRUE(read.count(f.path)) << "the validator did not read " << f.path;
    for (std::string r : read) {
      if (r.ends_with("[]")) r.resize(r.size() - 2);  // an item: its list is listed
      if (r.empty()) continue;
      bool listed = false;
      for (const auto& g : ProfileSchema()) listed = listed || g.path == r;
      EXPECT_TRUE(listed) << "the validator read " << r << ", which the table lacks";
    }
  }
  EXPECT_GT(examples, 60);
}

// What `imager profile new` writes (ToYaml, every default spelled out) uses only documented
// fields, and every field the manual documents but the serializer leaves out is a map's part or
// has no value by default.
void Walk(const nlohmann::ordered_json& j, const std::string& path, std::set<std::string>* out) {
  if (!path.empty()) out->insert(path);
  if (j.is_object())
    for (const auto& [k, v] : j.items()) Walk(v, path.empty() ? k : path + "." + k, out);
  if (j.is_array())
    for (const auto& v : j)
      if (v.is_object()) Walk(v, path + "[]", out);
}

TEST_F(SchemaExampleTest, TheSerializerWritesOnlyDocumentedFields) {
  Write("full.yaml",
        Compose("installer: {type: calamares}\npackages: {include: [linux-image-amd64]}\n"
                "rootfs:\n  users: [{name: live, password: {plain: live}}]\n"
                "  files: [{from: files/motd, to: /etc/motd}]"));
  auto p = LoadProfile(dir_ + "/full.yaml");
  ASSERT_TRUE(p) << p.error();
  std::set<std::string> written;
  Walk(ToJson(*p), "", &written);
  std::set<std::string> listed;
  for (const auto& f : ProfileSchema()) listed.insert(f.path);
  for (std::string w : written) {
    if (w.ends_with("[]")) w.resize(w.size() - 2);
    EXPECT_TRUE(listed.count(w)) << "profile new writes " << w << ", which the manual lacks";
  }
  EXPECT_GT(written.size(), 50u);
}

}  // namespace
}  // namespace imager::profiles
