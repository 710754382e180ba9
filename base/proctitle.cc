// SPDX-License-Identifier: GPL-3.0-or-later
#include "base/proctitle.h"

#include <cstring>

namespace imager {
namespace {

char* g_start = nullptr;
size_t g_size = 0;

}  // namespace

void RememberArgv(int argc, char** argv) {
  if (argc < 1 || !argv || !argv[0]) return;
  // The kernel shows [arg_start, arg_end): the strings are contiguous as execve laid them out.
  char* end = argv[0] + strlen(argv[0]) + 1;
  for (int i = 1; i < argc && argv[i] == end; ++i) end = argv[i] + strlen(argv[i]) + 1;
  g_start = argv[0];
  g_size = static_cast<size_t>(end - argv[0]);
}

void SetProcessTitle(const char* title) {
  if (!g_start) return;
  size_t n = strlen(title);
  if (n >= g_size) n = g_size - 1;
  memcpy(g_start, title, n);
  memset(g_start + n, 0, g_size - n);
}

}  // namespace imager
