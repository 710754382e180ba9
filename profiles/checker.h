// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Typed reading of a located YAML tree that never stops at the first problem: every wrong type,
/// unknown key or bad value becomes a diagnostic "FIELD: what is wrong (allowed: ...)" at its
/// file:line:column, and reading goes on with the default.

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/strings.h"
#include "profiles/profile.h"
#include "profiles/yaml_tree.h"

namespace imager::profiles {

struct Diagnostic {
  SourceLocation loc;
  std::string field;
  std::string what;
  std::string ToString() const { return loc.ToString() + ": " + field + ": " + what; }
};

/// A field being read: its node (nullptr when absent or null) and its dotted path.
struct Field {
  const Node* node = nullptr;
  std::string path;
};

class Checker {
 public:
  /// `root` is where problems without a node of their own (missing sections) are reported.
  Checker(std::map<std::string, SourceLocation>* locations, SourceLocation root)
      : locations_(locations), root_(std::move(root)) {}

  void Fail(const SourceLocation& at, const std::string& field, const std::string& what);
  void Warn(const SourceLocation& at, const std::string& field, const std::string& what);
  std::vector<Diagnostic>& errors() { return errors_; }
  std::vector<Diagnostic>& warnings() { return warnings_; }

  /// The entry `key` of the map `parent` (node nullptr when absent or null); records its location.
  Field Get(const Field& parent, const std::string& key);
  /// True when `f` is a map; reports a wrong type, and every key the schema (schema.h) does not
  /// give the map at f's path, otherwise.
  bool Map(const Field& f);
  /// True when `f` is a list; reports a wrong type otherwise.
  bool List(const Field& f);
  /// Item i of a list field, location recorded.
  Field Item(const Field& list, size_t i);
  /// Reports "missing" when `f` is absent; `parent` gives the location.
  bool Require(const Field& parent, const Field& f, const std::string& hint);

  // Readers: leave *out alone when the field is absent or wrong (after reporting it).
  bool String(const Field& f, std::string* out);
  bool Bool(const Field& f, bool* out);
  bool Int(const Field& f, int min, int max, int* out);
  bool Strings(const Field& f, std::vector<std::string>* out);
  /// A path relative to the file that declared it, made absolute; reported when it does not exist.
  /// `host_hint`: an absolute path names a file of the build host (a distribution's key in
  /// /etc/pki/rpm-gpg, say), which another host may lack: then only a warning, ending in the
  /// hint, and the path is taken (what needs the file says so again).
  bool Path(const Field& f, std::string* out, const std::string& host_hint = "");
  template <typename E>
  bool Enum(const Field& f, E* out) {
    std::string text;
    if (!String(f, &text)) return false;
    if (auto v = ParseEnum<E>(text)) {
      *out = *v;
      return true;
    }
    BadValue(f, text, NameList<E>());
    return false;
  }
  /// "unknown value 'x'; did you mean 'y'? (allowed: ...)".
  void BadValue(const Field& f, const std::string& text, const std::vector<std::string>& allowed);

 private:
  void WrongType(const Field& f, const std::string& expected);

  std::map<std::string, SourceLocation>* locations_;
  SourceLocation root_;
  std::vector<Diagnostic> errors_;
  std::vector<Diagnostic> warnings_;
  std::set<std::string> host_files_missing_;  // Path(): absent host files already warned of
};

}  // namespace imager::profiles
