// SPDX-License-Identifier: GPL-3.0-or-later
#include "stages/rootfs.h"

namespace imager::stages {

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
