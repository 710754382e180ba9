// SPDX-License-Identifier: GPL-3.0-or-later
// The booter's configuration: the key=value file of the initramfs, then the same input as a
// kernel command line applied over it, and as a probe list.
#include <string>

#include "booter/config.h"

using namespace imager;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto cfg = booter::ParseConfig(text);
  booter::Config c = cfg.ok() ? *cfg : booter::Config{};
  (void)booter::ApplyCmdline(text, &c);
  (void)booter::CheckConfig(c);
  for (const auto& p : c.probe) (void)p.ToString();
  (void)booter::ParseProbeList(text);
  return 0;
}
