// SPDX-License-Identifier: GPL-3.0-or-later
#include "profiles/yaml_tree.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "base/strings.h"

namespace imager::profiles {

const Node* Node::Find(std::string_view key) const {
  for (const auto& [k, v] : entries)
    if (k == key) return &v;
  return nullptr;
}

const char* Node::KindName() const {
  switch (kind) {
    case Kind::kNull:
      return "null";
    case Kind::kScalar:
      return "a scalar";
    case Kind::kList:
      return "a list";
    case Kind::kMap:
      return "a map";
  }
  return "?";
}

namespace {

SourceLocation At(const std::string& file, const YAML::Mark& m) {
  if (m.is_null()) return SourceLocation{file, 1, 1};
  return SourceLocation{file, m.line + 1, m.column + 1};
}

Node Convert(const YAML::Node& y, const std::string& file, std::vector<std::string>* errors) {
  Node n;
  n.loc = n.key_loc = At(file, y.Mark());
  switch (y.Type()) {
    case YAML::NodeType::Scalar:
      n.kind = Node::Kind::kScalar;
      n.scalar = y.Scalar();
      n.quoted = y.Tag() == "!";
      break;
    case YAML::NodeType::Sequence:
      n.kind = Node::Kind::kList;
      for (const auto& item : y) n.items.push_back(Convert(item, file, errors));
      break;
    case YAML::NodeType::Map:
      n.kind = Node::Kind::kMap;
      for (const auto& kv : y) {
        SourceLocation key_loc = At(file, kv.first.Mark());
        std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "?";
        if (const Node* first = n.Find(key))
          errors->push_back(key_loc.ToString() + ": duplicate key '" + key + "' (first at " +
                            std::to_string(first->key_loc.line) + ":" +
                            std::to_string(first->key_loc.column) + ")");
        Node v = Convert(kv.second, file, errors);
        v.key_loc = key_loc;
        if (v.kind == Node::Kind::kNull) v.loc = key_loc;
        n.entries.emplace_back(key, std::move(v));
      }
      break;
    default:
      break;
  }
  return n;
}

}  // namespace

Result<Node> ParseYaml(const std::string& text, const std::string& file) {
  YAML::Node doc;
  try {
    doc = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Error{At(file, e.mark).ToString() + ": invalid YAML: " + e.msg};
  }
  std::vector<std::string> errors;
  Node n = Convert(doc, file, &errors);
  if (!errors.empty()) return Error{Join(errors, "\n")};
  if (n.kind == Node::Kind::kNull) n.loc = n.key_loc = SourceLocation{file, 1, 1};
  return n;
}

Result<Node> ReadYamlFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return ErrnoError("open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return ErrnoError("read " + path);
  return ParseYaml(ss.str(), path);
}

Node Merge(Node base, const Node& top) {
  if (base.kind != Node::Kind::kMap || top.kind != Node::Kind::kMap) return top;
  for (const auto& [key, value] : top.entries) {
    bool found = false;
    for (auto& [bkey, bvalue] : base.entries) {
      if (bkey != key) continue;
      bvalue = Merge(std::move(bvalue), value);
      found = true;
      break;
    }
    if (!found) base.entries.emplace_back(key, value);
  }
  base.loc = top.loc;
  base.key_loc = top.key_loc;
  return base;
}

}  // namespace imager::profiles
