// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Launch() is the one executor of a SandboxSpec: it creates the namespaces, maps ids, builds the
/// root from the mount plan, hardens the process and runs the command as pid 2 under a reaping
/// pid 1, then reports how the command ended.

#include <string>

#include "base/result.h"
#include "sandbox/spec.h"

namespace imager::sandbox {

struct ExitStatus {
  bool signaled = false;   // the command was killed by signal `code`
  int code = 0;            // exit code, or signal number when `signaled`
  int interrupted = 0;     // imager received this signal and tore the sandbox down
  std::string message;     // why the command could not start (exit 126/127), else ""
  bool timed_out = false;  // killed (SIGKILL) because it ran past spec.timeout_seconds

  /// The shell convention: exit code, or 128 + signal.
  int ShellCode() const;
  /// "exited with 3", "killed by signal 9 (Killed)".
  std::string Describe() const;
};

/// Runs the spec; an Error means the sandbox itself could not be set up (with the reason and,
/// where the host is at fault, how to fix it).
Result<ExitStatus> Launch(const SandboxSpec& spec);

}  // namespace imager::sandbox
