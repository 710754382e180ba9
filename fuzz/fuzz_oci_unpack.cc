// SPDX-License-Identifier: GPL-3.0-or-later
// OCI layer unpacking: each part (cut at "--8<--" lines) is a layer tar (compressed or not),
// applied bottom first to a fresh directory, whiteouts and opaque markers included. Aborts when
// anything lands outside that directory (fuzz::Jail).
#include <string>

#include "fuzz/fuzz_util.h"
#include "oci/unpack.h"

using namespace imager;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::Jail jail;
  const std::string& dest = jail.Fresh();
  auto parts = fuzz::SplitParts(data, size);
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string layer = fuzz::TempFile("layer" + std::to_string(i), parts[i]);
    auto report = oci::ApplyLayer(layer, "layer " + std::to_string(i), dest);
    jail.Check();
    fuzz::Note(report ? "layer " + std::to_string(i) + ": " + std::to_string(report->entries) +
                            " entries, " + std::to_string(report->whiteouts) + " whiteouts"
                      : report.error());
    if (!report) break;
  }
  return 0;
}
