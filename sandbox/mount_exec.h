// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Executes a mount plan inside a fresh mount namespace (the sandbox's pid 1, before it starts the
/// command): tmpfs base, host tree moved to /oldroot, each MountOp applied under /newroot with
/// targets resolved inside the new root, then pivot into it and detach everything else.

#include <string>
#include <vector>

#include "sandbox/spec.h"

namespace imager::sandbox {

/// Runs in the sandbox's first process. On failure returns false with a message in `err`.
bool ExecuteMountPlan(const std::vector<MountOp>& ops, std::string* err);

}  // namespace imager::sandbox
