// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Small string helpers shared by every module: splitting, trimming, "did you mean" suggestions.

#include <string>
#include <string_view>
#include <vector>

namespace imager {

std::vector<std::string> Split(std::string_view s, char sep);
std::string_view Trim(std::string_view s);
bool StartsWith(std::string_view s, std::string_view prefix);
std::string Join(const std::vector<std::string>& parts, std::string_view sep);

/// Levenshtein distance, for suggestions.
size_t EditDistance(std::string_view a, std::string_view b);

/// The candidate closest to `word` when it is close enough to be a likely typo, else "".
std::string ClosestMatch(std::string_view word, const std::vector<std::string>& candidates);

/// Quotes a word for display in a shell-like command line ("a b" -> 'a b').
std::string ShellQuote(std::string_view word);

}  // namespace imager
