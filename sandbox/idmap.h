// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Id mapping for the sandbox's user namespace: parses /etc/subuid-style text and decides between
/// range mode (0 -> caller, 1..N -> subordinate range, via newuidmap/newgidmap) and single-id mode
/// (only 0 -> caller, setgroups denied; ownership changes are lost).

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace imager::sandbox {

/// One contiguous extent: ids [inside, inside+count) map to [outside, outside+count).
struct IdExtent {
  uint32_t inside = 0;
  uint32_t outside = 0;
  uint32_t count = 0;
  bool operator==(const IdExtent&) const = default;
};

struct SubidRange {
  uint32_t start = 0;
  uint32_t count = 0;
};

struct SubidParse {
  std::vector<SubidRange> ranges;     // the caller's ranges, in file order
  std::vector<std::string> warnings;  // "LINE: what is wrong" for each malformed line
};

/// Parses subuid/subgid text and keeps the ranges that belong to `user` or its numeric `id`.
SubidParse ParseSubid(const std::string& text, const std::string& user, uint32_t id);

enum class IdMode { kRange, kSingle };

struct IdMap {
  IdMode mode = IdMode::kSingle;
  std::vector<IdExtent> uid;
  std::vector<IdExtent> gid;
  /// Largest id usable inside (65535 in range mode with a full range, 0 in single mode).
  uint32_t max_inside() const;
};

/// How many subordinate ids are mapped at most (ids 1..65535, like podman's default).
inline constexpr uint32_t kMaxSubordinate = 65535;

/// Computes the map for caller uid/gid from the caller's ranges; single mode when either is empty.
IdMap ComputeIdMap(uint32_t uid, uint32_t gid, const std::vector<SubidRange>& subuids,
                   const std::vector<SubidRange>& subgids);

/// The caller's id map from /etc/subuid, /etc/subgid and the presence of newuidmap/newgidmap.
/// `why_single` receives the reason when the result is single-id mode.
IdMap DetectIdMap(std::string* why_single, std::vector<std::string>* warnings);

/// The text the kernel expects in /proc/PID/{uid,gid}_map, and the arguments newuidmap takes.
std::string MapFileText(const std::vector<IdExtent>& extents);
std::vector<std::string> NewIdMapArgs(pid_t pid, const std::vector<IdExtent>& extents);

/// Finds a helper (newuidmap...) in the usual sbin/bin directories; "" when absent.
std::string FindHelper(const std::string& name);

/// Applies `map` to the user namespace of `pid` (called by the parent, outside the sandbox).
Status ApplyIdMap(pid_t pid, const IdMap& map);

}  // namespace imager::sandbox
