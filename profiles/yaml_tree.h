// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// A YAML document as a plain tree whose every node knows the file, line and column it came from,
/// so that profiles can be merged across `extends:` and still report errors at the right place.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "profiles/profile.h"

namespace imager::profiles {

struct Node {
  enum class Kind { kNull, kScalar, kList, kMap };
  Kind kind = Kind::kNull;
  std::string scalar;
  bool quoted = false;  // a quoted scalar is always a string, never a number or a boolean
  std::vector<Node> items;
  std::vector<std::pair<std::string, Node>> entries;  // map entries in file order
  SourceLocation loc;                                 // of the value
  SourceLocation key_loc;  // of the key naming this node in its map (else == loc)

  /// The entry named `key` of a map, or nullptr.
  const Node* Find(std::string_view key) const;
  /// "a map", "a list", "a scalar" or "null", for messages.
  const char* KindName() const;

  // Defaulted below, where Node is complete: clang 14 with libstdc++ 12 (the fuzz build)
  // instantiates the implicit ones of `entries` inside the class and rejects the incomplete pair.
  Node();
  Node(const Node&);
  Node(Node&&) noexcept;
  Node& operator=(const Node&);
  Node& operator=(Node&&) noexcept;
  ~Node();
};
inline Node::Node() = default;
inline Node::Node(const Node&) = default;
inline Node::Node(Node&&) noexcept = default;
inline Node& Node::operator=(const Node&) = default;
inline Node& Node::operator=(Node&&) noexcept = default;
inline Node::~Node() = default;

/// Parses YAML text; `file` is only used in locations and messages. A syntax error or a duplicate
/// key gives "FILE:LINE:COL: ..." errors (all duplicates at once); an empty document is a null
/// node.
Result<Node> ParseYaml(const std::string& text, const std::string& file);

/// Reads and parses one file.
Result<Node> ReadYamlFile(const std::string& path);

/// Overlays `top` on `base`: maps merge key by key, recursively (new keys go after the base's);
/// scalars, lists and nulls in `top` replace what `base` had.
Node Merge(Node base, const Node& top);

}  // namespace imager::profiles
