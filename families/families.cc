// SPDX-License-Identifier: GPL-3.0-or-later
// The families table: one row per distribution family.
#include <cstdlib>

#include "families/debian.h"
#include "families/family.h"
#include "families/rpm.h"
#include "stages/outputs.h"

namespace imager::families {

const std::vector<Family>& All() {
  static const std::vector<Family> k = {DebianFamily(), RpmFamily()};
  return k;
}

const Family& Of(profiles::Family id) {
  for (const auto& f : All())
    if (f.id == id) return f;
  abort();  // every profiles::Family has a row (families_test)
}

std::vector<std::string> ToolPackages(const profiles::Profile& p) {
  const Family& f = Of(p);
  if (!f.tool_packages || !stages::NeedsTools(p)) return {};
  return f.tool_packages(p);
}

std::vector<std::string> InstalledSystemPackages(const profiles::Profile& p) {
  const Family& f = Of(p);
  if (p.installer.type == profiles::InstallerType::kNone || !f.installed_system_packages) return {};
  return f.installed_system_packages(p);
}

}  // namespace imager::families
