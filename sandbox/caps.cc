// SPDX-License-Identifier: GPL-3.0-or-later
#include "sandbox/caps.h"

#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace imager::sandbox {

Result<CapSet> ResolveCaps(const std::vector<std::string>& names) {
  CapSet set;
  set.last_cap = static_cast<int>(cap_max_bits()) - 1;
  for (const auto& n : names) {
    cap_value_t v;
    if (cap_from_name(n.c_str(), &v) != 0 || v < 0 || v > 63)
      return Error{"unknown capability '" + n + "' (see capabilities(7))"};
    set.keep |= uint64_t{1} << v;
  }
  return set;
}

int ApplyCaps(const CapSet& caps) {
  for (int c = 0; c <= caps.last_cap; ++c) {
    if (caps.keep & (uint64_t{1} << c)) continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL) return -1;
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) return -1;
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  for (int i = 0; i < 2; ++i) {
    auto word = static_cast<uint32_t>(caps.keep >> (32 * i));
    data[i].effective = word;
    data[i].permitted = word;
    data[i].inheritable = 0;
  }
  return static_cast<int>(syscall(SYS_capset, &hdr, data));
}

}  // namespace imager::sandbox
