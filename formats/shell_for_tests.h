// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// For the format tests that read an image back with an independent tool (unsquashfs, debugfs,
/// xorriso, mkfs.fat): the command's output and exit status. Test code only.

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace imager::formats {

/// Runs `cmd` with /bin/sh, standard error merged into the output it returns; sbin, where
/// e2fsprogs and mkfs.fat live, is added to PATH (an unprivileged user's often lacks it).
/// `status`: the exit status, -1 for a signal, 127 for a missing command.
inline std::string ShellOutput(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = popen(("PATH=\"$PATH:/usr/sbin:/sbin\"; " + cmd + " 2>&1").c_str(), "r");
  if (!p) return "popen failed";
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = pclose(p);
  if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

}  // namespace imager::formats
