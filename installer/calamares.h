// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// PLACEHOLDER until the calamares branch merges: the API the integrator codes against.

#include <string>
#include <vector>

#include "base/result.h"
#include "profiles/profile.h"

namespace imager::installer {

struct CalamaresPaths {
  std::string medium = "/run/imager/medium";
  std::string target_image = "/run/imager/medium/live/filesystem.squashfs";
  std::string offline_suite;
  std::string offline_components = "main";
};

struct GeneratedFile {
  std::string path;
  std::string content;
  unsigned mode = 0644;
  bool symlink = false;
};

Result<std::vector<GeneratedFile>> CalamaresFiles(const profiles::Profile& profile,
                                                  const CalamaresPaths& paths);

}  // namespace imager::installer
