// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The process's argument area, what /proc/PID/cmdline shows to every process that can see the
/// pid. main() remembers it; a forked child that must not show how imager was started (the
/// sandbox's pid 1, visible as /proc/1 to the sandboxed command) overwrites its own copy.

namespace imager {

/// Remembers argv's strings (called once, from main).
void RememberArgv(int argc, char** argv);

/// Overwrites the remembered argument area with `title` followed by zeros (truncated to the
/// area). Async-signal-safe: no allocation, fit for a child between fork and exec.
void SetProcessTitle(const char* title);

}  // namespace imager
