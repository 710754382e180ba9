// SPDX-License-Identifier: GPL-3.0-or-later
#include "stages/rootfs.h"

namespace imager::stages {

PackageBinds BindPackages(const std::vector<std::string>& paths, const std::string& inside_dir) {
  PackageBinds out;
  if (paths.empty()) return out;
  std::string common = paths[0].substr(0, paths[0].rfind('/') + 1);  // with its trailing '/'
  for (const auto& path : paths)
    while (common.size() > 1 && path.compare(0, common.size(), common) != 0)
      common.erase(common.rfind('/', common.size() - 2) + 1);
  out.bind = {common.size() > 1 ? common.substr(0, common.size() - 1) : "/", inside_dir, true};
  for (const auto& path : paths)
    out.inside.push_back(inside_dir + "/" + path.substr(common.size()));
  return out;
}

std::vector<KeyInput> PackageKeyInputs(const PackageFiles& files) {
  std::vector<KeyInput> inputs;
  for (size_t i = 0; i < files.packages.size(); ++i) {
    const auto& p = files.packages[i];
    // The position is part of the name: install order can change what maintainer scripts do.
    inputs.push_back(KeyInput::Value("package" + std::to_string(i),
                                     p.name + " " + p.version + " " + p.arch + " " + p.sha256));
  }
  return inputs;
}

}  // namespace imager::stages
