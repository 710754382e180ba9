// SPDX-License-Identifier: GPL-3.0-or-later
// The installers table: one row per implemented installer.
#include "installer/installer.h"

namespace imager::installer {

const std::vector<Installer>& Installers() {
  static const std::vector<Installer> k = {{
      .type = profiles::InstallerType::kCalamares,
      .name = "calamares",
      .families = {profiles::Family::kDebian},
      .live_packages = CalamaresLivePackages,
      .files = CalamaresFiles,
      .live_tools = LiveTools,
      .check_argv = CalamaresCheckArgv,
      .check_log = CheckCalamaresLog,
  }};
  return k;
}

const Installer* Find(profiles::InstallerType type) {
  for (const auto& i : Installers())
    if (i.type == type) return &i;
  return nullptr;
}

const Installer* For(const profiles::Profile& p) {
  const Installer* i = Find(p.installer.type);
  if (!i) return nullptr;
  for (auto f : i->families)
    if (f == p.distribution.family) return i;
  return nullptr;
}

std::vector<std::string> LivePackages(const profiles::Profile& p) {
  const Installer* i = For(p);
  return i ? i->live_packages(p) : std::vector<std::string>{};
}

}  // namespace imager::installer
