// SPDX-License-Identifier: GPL-3.0-or-later
// imager-modclosure MODDIR MODULE...: prints the module files the booter must load, one per
// line in load order (a host-side helper for tests until the build pipeline calls
// ComputeClosure itself).

#include <cstdio>

#include "booter/modclosure.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s /lib/modules/RELEASE MODULE...\n", argv[0]);
    return 2;
  }
  auto index = imager::booter::ReadModuleIndex(argv[1]);
  if (!index) {
    std::fprintf(stderr, "imager-modclosure: %s\n", index.error().c_str());
    return 1;
  }
  auto closure = imager::booter::ComputeClosure(*index, {argv + 2, argv + argc});
  if (!closure) {
    std::fprintf(stderr, "imager-modclosure: %s\n", closure.error().c_str());
    return 1;
  }
  for (const auto& p : closure->paths) std::printf("%s\n", p.c_str());
  for (const auto& b : closure->builtin) std::fprintf(stderr, "built in: %s\n", b.c_str());
  return 0;
}
