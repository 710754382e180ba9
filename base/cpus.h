// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// How many processors this process may use, for sizing worker pools. The number of processors
/// the machine has (std::thread::hardware_concurrency) is not it: a container or a Kubernetes
/// pod limited to 2 CPUs on a 64-core node would start 64 workers, each with its buffers.

#include <optional>
#include <string>

namespace imager {

/// The processors in this process's CPU affinity mask, lowered by the CPU quota of its cgroup
/// and the cgroups above it (cgroup v2 cpu.max, v1 cpu.cfs_quota_us / cpu.cfs_period_us),
/// rounded up; at least 1.
unsigned UsableCpus();

/// A quota in processors from cgroup v2's cpu.max ("max 100000", "150000 100000"), rounded up;
/// nullopt for no limit or text that is not a quota.
std::optional<unsigned> CpuMaxQuota(const std::string& cpu_max);
/// The same from cgroup v1's cpu.cfs_quota_us (-1: no limit) and cpu.cfs_period_us.
std::optional<unsigned> CfsQuota(const std::string& quota_us, const std::string& period_us);

}  // namespace imager
