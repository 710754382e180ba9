// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The module closure is computed on the build host: from a kernel tree's modules.dep and
/// modules.builtin, the module files the booter must load for a list of wanted modules, every
/// dependency before its users, built-in modules left out, file names kept as they are
/// (compressed ones too).

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace imager::booter {

/// A module's name from its file path or name: "kernel/…/usb-storage.ko.xz" -> "usb_storage".
std::string ModuleName(std::string_view path_or_name);

struct ModuleIndex {
  std::map<std::string, std::string> path_by_name;  // "isofs" -> "kernel/fs/isofs/isofs.ko"
  std::map<std::string, std::vector<std::string>> deps_by_path;  // as modules.dep lists them
  std::set<std::string> builtin;                                 // names
};

/// Parses the text of modules.dep and modules.builtin.
Result<ModuleIndex> ParseModuleIndex(std::string_view modules_dep,
                                     std::string_view modules_builtin);

/// Reads DIR/modules.dep and DIR/modules.builtin (DIR is /lib/modules/RELEASE of a tree).
Result<ModuleIndex> ReadModuleIndex(const std::string& dir);

struct ModuleClosure {
  std::vector<std::string> paths;    // relative to the modules directory, in load order
  std::vector<std::string> builtin;  // wanted names the kernel already has
};

/// The files to load for `wanted` (names, '-' and '_' alike); names that are neither a module
/// nor built in are an error listing all of them.
Result<ModuleClosure> ComputeClosure(const ModuleIndex& index,
                                     const std::vector<std::string>& wanted);

}  // namespace imager::booter
