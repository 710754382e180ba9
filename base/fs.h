// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Filesystem helpers on paths: canonical absolute paths, temporary directories, removal of trees
/// that a sandbox left with restrictive modes.

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.h"

namespace imager {

/// realpath(3) with an error naming the path.
Result<std::string> Canonical(const std::string& path);

/// The names in the directory open at `dir_fd` (which stays open), without "." and "..",
/// sorted bytewise.
Result<std::vector<std::string>> ListDirFd(int dir_fd);
/// The same for a path.
Result<std::vector<std::string>> ListDir(const std::string& path);

/// mkdir -p: creates `path` and its missing parents (mode 0755).
Status MakeDirs(const std::string& path);

/// Creates a fresh directory "DIR/PREFIXXXXXXX" and returns its path.
Result<std::string> MakeTempDir(const std::string& dir, const std::string& prefix);

/// Removes a tree, adding owner permissions to directories that lack them (overlayfs leaves its
/// work directory mode 000); does not follow symlinks or cross mount points.
Status RemoveTree(const std::string& path);

/// Writes `content` to `path` inside the tree at `root` (atomically, via a temporary file),
/// resolving every component as if `root` were "/": symlinks in the image cannot lead out. The
/// file gets owner uid:gid (-1: the writer's).
Status WriteInRoot(const std::string& root, const std::string& path, const std::string& content,
                   mode_t mode, uid_t uid = static_cast<uid_t>(-1),
                   gid_t gid = static_cast<gid_t>(-1));
/// Reads `path` inside the tree at `root`, resolved the same way.
Result<std::string> ReadInRoot(const std::string& root, const std::string& path);

}  // namespace imager
