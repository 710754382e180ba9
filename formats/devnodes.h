// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The minimal /dev an image carries (as mmdebstrap writes it into its tarballs): device nodes
/// cannot be created without root, so the image writers add them as entries of their own.

#include <sys/types.h>

#include <string>
#include <vector>

namespace imager::formats {

struct DevNode {
  enum class Type { kChar, kSymlink, kDir };
  std::string name;  // below /dev
  Type type;
  mode_t mode;
  std::string target;  // symlinks
  unsigned major = 0, minor = 0;
};

/// console, fd, full, null, ptmx, pts/, random, shm/, stderr, stdin, stdout, tty, urandom, zero,
/// sorted by name.
const std::vector<DevNode>& StandardDevNodes();

}  // namespace imager::formats
