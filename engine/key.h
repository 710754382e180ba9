// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// A stage key names a stage's output in the cache: the SHA-256 of a canonical text made of the
/// stage's name and version, its named inputs sorted by name, and its parents' keys in declared
/// order. The same inputs give the same key in every process and run; changing any one of them
/// (a value, a byte or mode in an input tree, a parent key) gives a different key.

#include <map>
#include <string>
#include <vector>

#include "base/result.h"

namespace imager::engine {

/// One named input of a stage: a literal value, or a path whose content is hashed (a file, a
/// symlink or a whole directory tree, see HashTree).
struct KeyInput {
  enum class Kind { kValue, kContent };
  std::string name;
  Kind kind = Kind::kValue;
  std::string value;  // the literal, or the path for kContent

  static KeyInput Value(std::string name, std::string value);
  static KeyInput Content(std::string name, std::string path);
};

/// Content hash (hex SHA-256) of a path: for every entry, depth first with each directory's
/// entries in byte order of their names, its relative path, type, permission bits, size and
/// content hash (files), target (symlinks) or device number. Modification times, owners and
/// directory sizes are left out, so copying a tree or touching it keeps the hash; chmod, edits,
/// renames and new entries change it. The root itself is followed when it is a symlink; symlinks
/// inside are not.
Result<std::string> HashTree(const std::string& path);

class KeyBuilder {
 public:
  KeyBuilder(std::string stage, int version);

  /// Adds an input; a kContent input is hashed now, and any error is reported by Build().
  KeyBuilder& Add(const KeyInput& input);
  KeyBuilder& Value(std::string name, std::string value);
  KeyBuilder& Content(std::string name, const std::string& path);
  KeyBuilder& Parent(std::string key);

  /// The text that is hashed, for debugging why a key changed.
  Result<std::string> Canonical() const;
  /// The key: 64 hex digits.
  Result<std::string> Build() const;

 private:
  std::string stage_;
  int version_;
  std::map<std::string, std::string> inputs_;  // name -> "value N:..." or "content N:<hash>"
  std::vector<std::string> parents_;
  std::vector<std::string> errors_;
};

}  // namespace imager::engine
