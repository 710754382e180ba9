// SPDX-License-Identifier: GPL-3.0-or-later
// What libisofs reports of an imported ISO's boot setup, as `imager iso edit` parses it before
// replaying it: the El Torito report, a "--8<--" line, the system area report. The plan is made
// from whatever parses, and the system area clearing gets the input's bytes.
#include <string>
#include <vector>

#include "base/strings.h"
#include "formats/iso_replay.h"
#include "fuzz/fuzz_util.h"

using namespace imager;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parts = fuzz::SplitParts(data, size);
  auto lines = [&](size_t i) {
    return i < parts.size() ? Split(parts[i], '\n') : std::vector<std::string>{};
  };
  if (auto r = formats::iso::ParseBootReport(lines(0), lines(1)); r.ok())
    (void)formats::iso::PlanReplay(*r);
  std::string area(reinterpret_cast<const char*>(data), size);
  formats::iso::ClearPartitionTables(&area);
  return 0;
}
