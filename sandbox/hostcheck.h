// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Host readiness for rootless builds: each check returns what it found and, when the host is at
/// fault, the command or setting that fixes it. Used by `imager check`.

#include <string>
#include <vector>

namespace imager::sandbox {

struct CheckItem {
  enum class State { kOk, kWarn, kFail };
  std::string name;  // short id, e.g. "userns"
  State state = State::kOk;
  std::string detail;  // what was found
  std::string hint;    // how to fix it ("" when ok)
};

/// Runs every check; `cache_dir` is where builds will store layers.
std::vector<CheckItem> RunHostChecks(const std::string& cache_dir);

/// $XDG_CACHE_HOME/imager, or ~/.cache/imager.
std::string DefaultCacheDir();

}  // namespace imager::sandbox
