// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/devnodes.h"

namespace imager::formats {

const std::vector<DevNode>& StandardDevNodes() {
  using T = DevNode::Type;
  static const std::vector<DevNode> nodes = {
      {"console", T::kChar, 0666, "", 5, 1},
      {"fd", T::kSymlink, 0777, "/proc/self/fd"},
      {"full", T::kChar, 0666, "", 1, 7},
      {"null", T::kChar, 0666, "", 1, 3},
      {"ptmx", T::kChar, 0666, "", 5, 2},
      {"pts", T::kDir, 0755},
      {"random", T::kChar, 0666, "", 1, 8},
      {"shm", T::kDir, 0755},
      {"stderr", T::kSymlink, 0777, "/proc/self/fd/2"},
      {"stdin", T::kSymlink, 0777, "/proc/self/fd/0"},
      {"stdout", T::kSymlink, 0777, "/proc/self/fd/1"},
      {"tty", T::kChar, 0666, "", 5, 0},
      {"urandom", T::kChar, 0666, "", 1, 9},
      {"zero", T::kChar, 0666, "", 1, 5},
  };
  return nodes;
}

}  // namespace imager::formats
