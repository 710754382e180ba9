// SPDX-License-Identifier: GPL-3.0-or-later
#include "repo/apt_sources.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/fs.h"

namespace imager::repo {
namespace {

namespace fs = std::filesystem;
using Strings = std::vector<std::string>;

constexpr const char* kDeb822 = R"(# the main archive
Types: deb deb-src
# a comment inside a stanza
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/example.gpg

Types: deb
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main

Enabled: no
Types: deb
URIs: http://old.example/debian
Suites: bookworm

types: deb
uris: https://inline.example/debian
suites: trixie
components: main
signed-by:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 abc
 -----END PGP PUBLIC KEY BLOCK-----
)";

TEST(AptSourcesTest, Deb822StanzasWithCommentsDisabledAndInlineKeys) {
  auto s = ParseDeb822Sources(kDeb822, "d.sources");
  ASSERT_TRUE(s) << s.error();
  ASSERT_EQ(s->size(), 4u);
  const AptSource& main = (*s)[0];
  EXPECT_EQ(main.types, (Strings{"deb", "deb-src"}));
  EXPECT_EQ(main.uris, Strings{"http://mirror.example/debian"});
  EXPECT_EQ(main.suites, (Strings{"bookworm", "bookworm-updates"}));
  EXPECT_EQ(main.components, (Strings{"main", "contrib"}));
  EXPECT_EQ(main.signed_by, "/usr/share/keyrings/example.gpg");
  EXPECT_TRUE(main.enabled);
  EXPECT_EQ(main.origin, "d.sources:2");
  EXPECT_EQ((*s)[1].suites, Strings{"bookworm-security"});
  EXPECT_EQ((*s)[1].origin, "d.sources:9");
  EXPECT_FALSE((*s)[2].enabled);
  EXPECT_EQ((*s)[3].uris, Strings{"https://inline.example/debian"});
  EXPECT_EQ((*s)[3].signed_by, "(inline key)");
}

TEST(AptSourcesTest, Deb822ErrorsNameFileAndLine) {
  auto s = ParseDeb822Sources("Types: deb\nURIs: http://a.example\n\nnot a field\nTypes: deb\n",
                              "e.sources");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(),
            "e.sources:1: stanza without Suites\n"
            "e.sources:4: expected 'Field: value'\n"
            "e.sources:5: stanza without URIs, Suites");
  auto disabled = ParseDeb822Sources("Enabled: no\nTypes: deb\n", "e.sources");
  ASSERT_TRUE(disabled) << disabled.error();
  EXPECT_FALSE((*disabled)[0].enabled);
}

TEST(AptSourcesTest, OneLineWithOptionsAndComments) {
  auto s = ParseOneLineSources(
      "# deb http://commented.example/debian bookworm main\n"
      "deb [arch=amd64 signed-by=/etc/apt/keyrings/x.gpg] http://mirror.example/debian/ bookworm "
      "main non-free-firmware # trailing\n"
      "\n"
      "deb-src http://mirror.example/debian bookworm main\n"
      "deb [trusted=yes] file:/srv/repo ./\n",
      "sources.list");
  ASSERT_TRUE(s) << s.error();
  ASSERT_EQ(s->size(), 3u);
  EXPECT_EQ((*s)[0].types, Strings{"deb"});
  EXPECT_EQ((*s)[0].uris, Strings{"http://mirror.example/debian"});
  EXPECT_EQ((*s)[0].suites, Strings{"bookworm"});
  EXPECT_EQ((*s)[0].components, (Strings{"main", "non-free-firmware"}));
  EXPECT_EQ((*s)[0].signed_by, "/etc/apt/keyrings/x.gpg");
  EXPECT_EQ((*s)[0].origin, "sources.list:2");
  EXPECT_EQ((*s)[1].types, Strings{"deb-src"});
  EXPECT_EQ((*s)[2].uris, Strings{"file:/srv/repo"});
  EXPECT_EQ((*s)[2].suites, Strings{"./"});
  EXPECT_TRUE((*s)[2].components.empty());
}

TEST(AptSourcesTest, OneLineErrors) {
  auto s = ParseOneLineSources(
      "rpm http://x.example a\ndeb [arch=amd64 http://x.example a\n"
      "deb http://x.example\n",
      "l.list");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(),
            "l.list:1: unknown type 'rpm' (allowed: deb, deb-src)\n"
            "l.list:2: '[' without ']'\n"
            "l.list:3: expected 'deb [OPTIONS] URI SUITE [COMPONENT...]'");
}

TEST(AptSourcesTest, PickMirrorPrefersTheExactSuiteAndNeverSecurity) {
  auto s = ParseDeb822Sources(
      "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\n\n"
      "Types: deb-src\nURIs: http://src.example/debian\nSuites: bookworm\n\n"
      "Enabled: no\nTypes: deb\nURIs: http://off.example/debian\nSuites: bookworm\n\n"
      "Types: deb\nURIs: http://updates.example/debian\nSuites: bookworm-updates\n\n"
      "Types: deb\nURIs: cdrom:/media mirror+file:/etc/apt/m.txt http://exact.example/debian\n"
      "Suites: bookworm\n",
      "m.sources");
  ASSERT_TRUE(s) << s.error();
  EXPECT_EQ(*PickMirror(*s, "bookworm", "here"), "http://exact.example/debian");
  s->pop_back();
  EXPECT_EQ(*PickMirror(*s, "bookworm", "here"), "http://updates.example/debian");
  EXPECT_EQ(*PickMirror(*s, "bookworm-security", "here"),
            "http://security.example/debian-security");
  s->pop_back();
  auto none = PickMirror(*s, "bookworm", "here");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error(),
            "no enabled deb source with an http, https or file URI for suite 'bookworm' in here");
}

TEST(AptSourcesTest, AutoMirrorReadsSourcesListFirstThenTheDirectoryInOrder) {
  auto d = MakeTempDir(fs::temp_directory_path().string(), "imager-apt-test-");
  ASSERT_TRUE(d) << d.error();
  fs::create_directories(*d + "/sources.list.d");
  std::ofstream(*d + "/sources.list.d/b.sources")
      << "Types: deb\nURIs: http://b.example/debian\nSuites: bookworm\n";
  std::ofstream(*d + "/sources.list.d/a.list") << "deb http://a.example/debian trixie main\n";
  std::ofstream(*d + "/sources.list.d/0.list.disabled") << "deb http://z.example bookworm main\n";
  EXPECT_EQ(*AutoMirror("bookworm", *d), "http://b.example/debian");
  EXPECT_EQ(*AutoMirror("trixie", *d), "http://a.example/debian");
  std::ofstream(*d + "/sources.list") << "deb http://list.example/debian bookworm main\n";
  EXPECT_EQ(*AutoMirror("bookworm", *d), "http://list.example/debian");
  std::ofstream(*d + "/sources.list.d/c.sources") << "Types: deb\n";
  auto broken = AutoMirror("bookworm", *d);
  ASSERT_FALSE(broken);
  EXPECT_EQ(broken.error(), "read the host's apt sources: " + *d +
                                "/sources.list.d/c.sources:1: stanza without URIs, Suites");
  EXPECT_TRUE(RemoveTree(*d));
}

TEST(AptSourcesTest, AutoMirrorWithoutAptSaysWhereItLooked) {
  auto r = AutoMirror("bookworm", "/nonexistent-imager-etc-apt");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(),
            "no enabled deb source with an http, https or file URI for suite 'bookworm' in "
            "/nonexistent-imager-etc-apt/sources.list or "
            "/nonexistent-imager-etc-apt/sources.list.d/*.{list,sources}");
}

}  // namespace
}  // namespace imager::repo
