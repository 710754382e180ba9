// SPDX-License-Identifier: GPL-3.0-or-later
#include "booter/modclosure.h"

#include <functional>

#include "base/fd.h"
#include "base/strings.h"

namespace imager::booter {

std::string ModuleName(std::string_view p) {
  auto slash = p.rfind('/');
  if (slash != std::string_view::npos) p = p.substr(slash + 1);
  auto ko = p.find(".ko");
  if (ko != std::string_view::npos) p = p.substr(0, ko);
  std::string name(p);
  for (char& c : name)
    if (c == '-') c = '_';
  return name;
}

Result<ModuleIndex> ParseModuleIndex(std::string_view modules_dep, std::string_view builtin) {
  ModuleIndex index;
  int lineno = 0;
  for (const auto& raw : Split(modules_dep, '\n')) {
    ++lineno;
    auto line = Trim(raw);
    if (line.empty() || line[0] == '#') continue;
    auto colon = line.find(':');
    if (colon == std::string_view::npos)
      return Error{"modules.dep:" + std::to_string(lineno) + ": no ':' in '" + std::string(line) +
                   "'"};
    std::string path(Trim(line.substr(0, colon)));
    std::vector<std::string> deps;
    for (const auto& d : Split(line.substr(colon + 1), ' '))
      if (!Trim(d).empty()) deps.emplace_back(Trim(d));
    index.path_by_name[ModuleName(path)] = path;
    index.deps_by_path[path] = std::move(deps);
  }
  for (const auto& raw : Split(builtin, '\n')) {
    auto line = Trim(raw);
    if (!line.empty()) index.builtin.insert(ModuleName(line));
  }
  return index;
}

Result<ModuleIndex> ReadModuleIndex(const std::string& dir) {
  auto dep = ReadFile(dir + "/modules.dep");
  if (!dep) return Error{dep.error() + " (run depmod on the tree first)"};
  auto builtin = ReadFile(dir + "/modules.builtin");
  if (!builtin) return builtin.take_error();
  return ParseModuleIndex(*dep, *builtin);
}

Result<ModuleClosure> ComputeClosure(const ModuleIndex& index,
                                     const std::vector<std::string>& wanted) {
  ModuleClosure out;
  std::set<std::string> done, visiting;
  std::vector<std::string> unknown, problems;
  // Depth first, dependencies emitted before the module (post-order); a cycle is reported.
  std::function<void(const std::string&)> visit = [&](const std::string& path) {
    if (done.count(path)) return;
    if (!visiting.insert(path).second) {
      problems.push_back("dependency cycle through " + path);
      return;
    }
    auto it = index.deps_by_path.find(path);
    if (it == index.deps_by_path.end()) {
      problems.push_back(path + " is a dependency but has no modules.dep line");
    } else {
      for (const auto& dep : it->second) visit(dep);
    }
    visiting.erase(path);
    if (done.insert(path).second) out.paths.push_back(path);
  };
  for (const auto& w : wanted) {
    auto name = ModuleName(w);
    auto it = index.path_by_name.find(name);
    if (it != index.path_by_name.end()) {
      visit(it->second);
    } else if (index.builtin.count(name)) {
      out.builtin.push_back(name);
    } else {
      unknown.push_back(w);
    }
  }
  if (!unknown.empty()) problems.push_back("neither a module nor built in: " + Join(unknown, ", "));
  if (!problems.empty()) return Error{"module closure: " + Join(problems, "; ")};
  return out;
}

}  // namespace imager::booter
