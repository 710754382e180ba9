// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Capability sets of the sandboxed process: names are resolved in the parent (libcap), the sets
/// are applied in the forked child with raw prctl/capset calls only.

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace imager::sandbox {

struct CapSet {
  uint64_t keep = 0;  // bit N set = capability N stays in the bounding, permitted, effective sets
  int last_cap = 0;   // highest capability number the running kernel knows
};

/// Resolves names like "cap_chown"; an unknown name is an error naming it.
Result<CapSet> ResolveCaps(const std::vector<std::string>& names);

/// Drops every capability outside `caps.keep` from the bounding set, clears ambient and
/// inheritable, and limits permitted/effective to `keep`. Async-signal-safe; -1 with errno set.
int ApplyCaps(const CapSet& caps);

}  // namespace imager::sandbox
