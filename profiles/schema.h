// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Every field a profile may have, with its type, default, meaning and an example: the one table
/// the validator takes its known keys from (Checker::Map) and imager-profile(5) is written from,
/// so that the manual cannot list a field the code does not read, nor miss one it does.

#include <string>
#include <vector>

namespace imager::profiles {

struct FieldDoc {
  std::string path;      // "rootfs.users[].name": dotted, "[]" for the items of a list
  std::string type;      // "string", "map", "list of strings", "one of: a, b", ...
  std::string fallback;  // the default when the field is left out, or "required"
  std::string doc;       // what it means, in sentences
  std::string example;   // a profile fragment (top-level YAML) setting it; empty for a map
};

/// The fields, parents before their children, in the order the manual lists them.
const std::vector<FieldDoc>& ProfileSchema();

/// The keys the map at PATH accepts ("" for the profile itself, "repositories[]" for an item of
/// repositories), in the table's order; empty when PATH is not a map of the table.
std::vector<std::string> SchemaKeys(const std::string& path);

/// A field's path as the table spells it: "repositories[2].url" -> "repositories[].url".
std::string SchemaPath(const std::string& field_path);

}  // namespace imager::profiles
