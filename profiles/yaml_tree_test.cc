// SPDX-License-Identifier: GPL-3.0-or-later
#include "profiles/yaml_tree.h"

#include <gtest/gtest.h>

namespace imager::profiles {
namespace {

Node Parse(const std::string& text, const std::string& file = "f.yaml") {
  auto n = ParseYaml(text, file);
  EXPECT_TRUE(n) << n.error();
  return n ? *n : Node{};
}

TEST(YamlTreeTest, EveryNodeKnowsItsLineAndColumn) {
  Node n = Parse("# comment\na: 1\nb:\n  - x\n  - {c: 'quoted'}\nd:\n");
  ASSERT_EQ(n.kind, Node::Kind::kMap);
  EXPECT_EQ(n.Find("a")->loc.ToString(), "f.yaml:2:4");
  EXPECT_EQ(n.Find("a")->key_loc.ToString(), "f.yaml:2:1");
  const Node* b = n.Find("b");
  ASSERT_EQ(b->kind, Node::Kind::kList);
  EXPECT_EQ(b->items[1].loc.ToString(), "f.yaml:5:5");
  const Node* c = b->items[1].Find("c");
  EXPECT_EQ(c->loc.ToString(), "f.yaml:5:9");
  EXPECT_TRUE(c->quoted);
  EXPECT_FALSE(n.Find("a")->quoted);
  EXPECT_EQ(n.Find("d")->kind, Node::Kind::kNull);
  EXPECT_EQ(n.Find("d")->loc.ToString(), "f.yaml:6:1");
  EXPECT_EQ(n.Find("missing"), nullptr);
}

TEST(YamlTreeTest, SyntaxErrorsAndDuplicatesAreLocated) {
  auto bad = ParseYaml("a: [1, 2\n", "x.yaml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().rfind("x.yaml:", 0), 0u) << bad.error();
  EXPECT_NE(bad.error().find(": invalid YAML: "), std::string::npos) << bad.error();
  auto dup = ParseYaml("a: 1\nb: {c: 1, c: 2}\na: 3\n", "x.yaml");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error(),
            "x.yaml:2:11: duplicate key 'c' (first at 2:5)\n"
            "x.yaml:3:1: duplicate key 'a' (first at 1:1)");
}

TEST(YamlTreeTest, MergeMapsKeyByKeyAndReplaceScalarsListsAndNulls) {
  Node base = Parse("a: {x: 1, y: [1, 2]}\nb: keep\nc: gone\n", "base.yaml");
  Node top = Parse("a: {y: [3], z: new}\nc:\n", "top.yaml");
  Node m = Merge(base, top);
  ASSERT_EQ(m.entries.size(), 3u);
  const Node* a = m.Find("a");
  EXPECT_EQ(a->Find("x")->scalar, "1");
  EXPECT_EQ(a->Find("x")->loc.file, "base.yaml");
  ASSERT_EQ(a->Find("y")->items.size(), 1u);
  EXPECT_EQ(a->Find("y")->items[0].scalar, "3");
  EXPECT_EQ(a->Find("z")->loc.ToString(), "top.yaml:1:16");
  EXPECT_EQ(m.Find("b")->scalar, "keep");
  EXPECT_EQ(m.Find("c")->kind, Node::Kind::kNull);
  EXPECT_EQ(a->loc.file, "top.yaml");
}

}  // namespace
}  // namespace imager::profiles
