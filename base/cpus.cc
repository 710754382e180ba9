// SPDX-License-Identifier: GPL-3.0-or-later
#include "base/cpus.h"

#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include "base/fd.h"
#include "base/strings.h"

namespace imager {
namespace {

std::optional<long long> Number(std::string_view s) {
  std::string text(Trim(s));
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  long long v = std::strtoll(text.c_str(), &end, 10);
  if (*end != '\0') return std::nullopt;
  return v;
}

std::optional<unsigned> Ratio(long long quota, long long period) {
  if (quota <= 0 || period <= 0) return std::nullopt;
  return static_cast<unsigned>(std::max<long long>(1, (quota + period - 1) / period));
}

std::optional<std::string> Read(const std::string& path) {
  auto r = ReadFile(path);
  if (!r) return std::nullopt;
  return *r;
}

void Lower(std::optional<unsigned>* limit, std::optional<unsigned> q) {
  if (q && (!*limit || *q < **limit)) *limit = q;
}

// The smallest quota of the cgroup at `path` below `mount` and of its ancestors up to `mount`.
template <typename QuotaAt>
std::optional<unsigned> Walk(const std::string& mount, std::string path, QuotaAt quota_at) {
  std::optional<unsigned> limit;
  while (true) {
    Lower(&limit, quota_at(mount + (path == "/" ? "" : path)));
    if (path.empty() || path == "/") break;
    path = path.substr(0, path.find_last_of('/'));
    if (path.empty()) path = "/";
  }
  return limit;
}

std::optional<unsigned> CgroupQuota() {
  auto self = Read("/proc/self/cgroup");
  if (!self) return std::nullopt;
  std::optional<unsigned> limit;
  for (const auto& line : Split(*self, '\n')) {
    // "ID:CONTROLLERS:PATH"; v2 is "0::PATH".
    size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string controllers = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (controllers.empty()) {
      Lower(&limit, Walk("/sys/fs/cgroup", path, [](const std::string& dir) {
        auto max = Read(dir + "/cpu.max");
        return max ? CpuMaxQuota(*max) : std::nullopt;
      }));
      continue;
    }
    bool cpu = false;
    for (const auto& c : Split(controllers, ','))
      if (c == "cpu") cpu = true;
    if (!cpu) continue;
    for (const std::string& mount :
         {"/sys/fs/cgroup/" + controllers, std::string("/sys/fs/cgroup/cpu")})
      Lower(&limit, Walk(mount, path, [](const std::string& dir) {
        auto quota = Read(dir + "/cpu.cfs_quota_us");
        auto period = Read(dir + "/cpu.cfs_period_us");
        return quota && period ? CfsQuota(*quota, *period) : std::nullopt;
      }));
  }
  return limit;
}

}  // namespace

std::optional<unsigned> CpuMaxQuota(const std::string& cpu_max) {
  auto words = Split(std::string(Trim(cpu_max)), ' ');
  if (words.size() != 2 || words[0] == "max") return std::nullopt;
  auto quota = Number(words[0]), period = Number(words[1]);
  if (!quota || !period) return std::nullopt;
  return Ratio(*quota, *period);
}

std::optional<unsigned> CfsQuota(const std::string& quota_us, const std::string& period_us) {
  auto quota = Number(quota_us), period = Number(period_us);
  if (!quota || !period) return std::nullopt;
  return Ratio(*quota, *period);
}

unsigned UsableCpus() {
  unsigned n = std::max(1u, std::thread::hardware_concurrency());
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) n = std::max(1, CPU_COUNT(&set));
  if (auto q = CgroupQuota()) n = std::min(n, *q);
  return std::max(1u, n);
}

}  // namespace imager
