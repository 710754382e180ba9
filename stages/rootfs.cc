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

void PackageSet::Encode(KeyInputs& k, const std::string& name,
                        const std::vector<repo::LockedPackage>& packages) {
  for (size_t i = 0; i < packages.size(); ++i) {
    const auto& p = packages[i];
    k.Value(name + std::to_string(i), p.name + " " + p.version + " " + p.arch + " " + p.sha256);
  }
}

void KeyPackages(KeyInputs& k, const std::string& name, const PackageSet& set) {
  PackageSet::Encode(k, name, set.packages);
}

PackageSet SetOf(const PackageFiles& files) { return {files.packages, files.paths}; }

}  // namespace imager::stages
