// SPDX-License-Identifier: GPL-3.0-or-later
#include "profiles/checker.h"

#include <filesystem>
#include <system_error>

#include "profiles/schema.h"

namespace imager::profiles {

namespace fs = std::filesystem;

void Checker::Fail(const SourceLocation& at, const std::string& field, const std::string& what) {
  errors_.push_back(Diagnostic{at, field, what});
}

void Checker::Warn(const SourceLocation& at, const std::string& field, const std::string& what) {
  warnings_.push_back(Diagnostic{at, field, what});
}

Field Checker::Get(const Field& parent, const std::string& key) {
  Field f{nullptr, parent.path.empty() ? key : parent.path + "." + key};
  if (!parent.node || parent.node->kind != Node::Kind::kMap) return f;
  const Node* n = parent.node->Find(key);
  if (!n) return f;
  (*locations_)[f.path] = n->loc;
  if (n->kind != Node::Kind::kNull) f.node = n;
  return f;
}

void Checker::WrongType(const Field& f, const std::string& expected) {
  std::string got = f.node->KindName();
  if (f.node->kind == Node::Kind::kScalar) got += " '" + f.node->scalar + "'";
  Fail(f.node->loc, f.path, "expected " + expected + ", got " + got);
}

bool Checker::Map(const Field& f) {
  if (!f.node) return false;
  const std::vector<std::string> known = SchemaKeys(SchemaPath(f.path));
  if (f.node->kind != Node::Kind::kMap) {
    WrongType(f, "a map");
    return false;
  }
  for (const auto& [key, value] : f.node->entries) {
    bool ok = false;
    for (const auto& k : known) ok = ok || k == key;
    if (ok) continue;
    std::string hint = ClosestMatch(key, known);
    std::string path = f.path.empty() ? key : f.path + "." + key;
    Fail(value.key_loc, path,
         hint.empty() ? "unknown key (allowed: " + Join(known, ", ") + ")"
                      : "unknown key; did you mean '" + hint + "'?");
  }
  return true;
}

bool Checker::List(const Field& f) {
  if (!f.node) return false;
  if (f.node->kind == Node::Kind::kList) return true;
  WrongType(f, "a list");
  return false;
}

Field Checker::Item(const Field& list, size_t i) {
  Field f{nullptr, list.path + "[" + std::to_string(i) + "]"};
  const Node& n = list.node->items[i];
  (*locations_)[f.path] = n.loc;
  if (n.kind != Node::Kind::kNull) f.node = &n;
  return f;
}

bool Checker::Require(const Field& parent, const Field& f, const std::string& hint) {
  if (f.node) return true;
  SourceLocation at = parent.node ? parent.node->loc : root_;
  Fail(at, f.path, "missing" + (hint.empty() ? "" : " (" + hint + ")"));
  return false;
}

bool Checker::String(const Field& f, std::string* out) {
  if (!f.node) return false;
  if (f.node->kind != Node::Kind::kScalar) {
    WrongType(f, "a string");
    return false;
  }
  *out = f.node->scalar;
  return true;
}

bool Checker::Bool(const Field& f, bool* out) {
  if (!f.node) return false;
  const std::string& s = f.node->scalar;
  bool scalar = f.node->kind == Node::Kind::kScalar && !f.node->quoted;
  if (scalar && (s == "true" || s == "True" || s == "TRUE")) {
    *out = true;
    return true;
  }
  if (scalar && (s == "false" || s == "False" || s == "FALSE")) {
    *out = false;
    return true;
  }
  WrongType(f, "true or false");
  return false;
}

bool Checker::Int(const Field& f, int min, int max, int* out) {
  if (!f.node) return false;
  const std::string& s = f.node->scalar;
  std::string expected = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  bool digits = f.node->kind == Node::Kind::kScalar && !f.node->quoted && !s.empty() &&
                s.size() <= 9 && s.find_first_not_of("0123456789") == std::string::npos;
  if (!digits || std::stoi(s) < min || std::stoi(s) > max) {
    WrongType(f, expected);
    return false;
  }
  *out = std::stoi(s);
  return true;
}

bool Checker::Strings(const Field& f, std::vector<std::string>* out) {
  if (!List(f)) return false;
  std::vector<std::string> values;
  bool ok = true;
  for (size_t i = 0; i < f.node->items.size(); ++i) {
    Field item = Item(f, i);
    std::string v;
    if (!item.node) {
      Fail(f.node->items[i].loc, item.path, "expected a string, got null");
      ok = false;
    } else if (String(item, &v)) {
      values.push_back(v);
    } else {
      ok = false;
    }
  }
  if (ok) *out = values;
  return ok;
}

bool Checker::Path(const Field& f, std::string* out, const std::string& host_hint) {
  std::string text;
  if (!String(f, &text)) return false;
  if (text.empty()) {
    Fail(f.node->loc, f.path, "empty path");
    return false;
  }
  std::error_code ec;
  fs::path dir = fs::path(f.node->loc.file).parent_path();
  fs::path base = fs::absolute(dir.empty() ? fs::path(".") : dir, ec);
  fs::path p = (base / text).lexically_normal();
  if (!fs::exists(p, ec) && !host_hint.empty() && fs::path(text).is_absolute()) {
    // Once per file: a profile names the same key for each of a distribution's repositories.
    if (host_files_missing_.insert(p.string()).second)
      Warn(f.node->loc, f.path, "'" + p.string() + "' is not on this host; " + host_hint);
  } else if (!fs::exists(p, ec)) {
    Fail(f.node->loc, f.path,
         "'" + p.string() + "' does not exist (paths are relative to the profile's file)");
    return false;
  }
  // A trailing '/' (copy a directory's contents) is kept exactly when the profile wrote one.
  *out = p.string();
  while (out->size() > 1 && out->back() == '/') out->pop_back();
  if (text.back() == '/' && *out != "/") *out += '/';
  return true;
}

void Checker::BadValue(const Field& f, const std::string& text,
                       const std::vector<std::string>& allowed) {
  std::string hint = ClosestMatch(text, allowed);
  Fail(f.node->loc, f.path,
       "unknown value '" + text + "'" + (hint.empty() ? "" : "; did you mean '" + hint + "'?") +
           " (allowed: " + Join(allowed, ", ") + ")");
}

}  // namespace imager::profiles
