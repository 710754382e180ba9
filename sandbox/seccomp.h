// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The sandbox's seccomp deny-list as data (which syscalls, which argument conditions, which
/// errno), compiled with libseccomp for x86-64 and its compat ABIs (i386, x32) into a BPF program
/// that the sandboxed process installs just before exec.

#include <linux/filter.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "sandbox/spec.h"

namespace imager::sandbox {

/// The syscall's argument `arg` masked with `mask` equals `value`.
struct ArgMatch {
  unsigned arg = 0;
  uint64_t mask = 0;
  uint64_t value = 0;
};

struct SyscallRule {
  std::string syscall;
  int errno_value = 0;  // returned to the caller; 0 = pretend success without doing anything
  std::optional<ArgMatch> when;
  bool notify = false;  // handed to the supervisor (SECCOMP_RET_USER_NOTIF) instead of errno
};

struct SeccompPolicy {
  std::vector<std::string> arches;  // libseccomp names: "x86_64", "x86", "x32"
  std::vector<SyscallRule> rules;   // everything else is allowed
};

SeccompPolicy BuildPolicy(const SeccompOptions& options);

/// Compiled BPF, ready for prctl(PR_SET_SECCOMP) in a forked child without further allocation.
struct SeccompProgram {
  std::vector<sock_filter> insns;
  bool notifies = false;  // some rule notifies: install with InstallWithListener
};

Result<SeccompProgram> Compile(const SeccompPolicy& policy);

/// Installs `program` on the calling thread; needs PR_SET_NO_NEW_PRIVS first. Async-signal-safe.
int Install(const SeccompProgram& program);

/// Installs `program` and returns the user-notification descriptor its notifying rules report to
/// (close-on-exec), or -1 with errno. Async-signal-safe.
int InstallWithListener(const SeccompProgram& program);

}  // namespace imager::sandbox
