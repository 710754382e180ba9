// SPDX-License-Identifier: GPL-3.0-or-later
#include "base/log.h"

#include <unistd.h>

#include "base/fd.h"

namespace imager::log {
namespace {

Level g_level = Level::kNormal;

void Emit(const std::string& prefix, const std::string& msg) {
  WriteAll(STDERR_FILENO, "imager: " + prefix + msg + "\n");
}

}  // namespace

void SetLevel(Level level) { g_level = level; }
Level GetLevel() { return g_level; }

void Info(const std::string& msg) {
  if (g_level >= Level::kNormal) Emit("", msg);
}
void Verbose(const std::string& msg) {
  if (g_level >= Level::kVerbose) Emit("", msg);
}
void Debug(const std::string& msg) {
  if (g_level >= Level::kDebug) Emit("debug: ", msg);
}
void Warn(const std::string& msg) {
  if (g_level >= Level::kNormal) Emit("warning: ", msg);
}
void Err(const std::string& msg) { Emit("error: ", msg); }

}  // namespace imager::log
