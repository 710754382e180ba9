// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Process-wide diagnostics on stderr, filtered by the CLI's -v/-q verbosity.

#include <string>

namespace imager::log {

enum class Level { kQuiet = 0, kNormal = 1, kVerbose = 2, kDebug = 3 };

void SetLevel(Level level);
Level GetLevel();

void Info(const std::string& msg);     // shown unless -q
void Verbose(const std::string& msg);  // shown with -v
void Debug(const std::string& msg);    // shown with -vv
void Warn(const std::string& msg);     // shown unless -q, prefixed "warning: "
void Err(const std::string& msg);      // always shown, prefixed "error: "

}  // namespace imager::log
