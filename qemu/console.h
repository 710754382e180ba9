// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// ConsoleWatcher reads a guest's serial console as it arrives, in arbitrary chunks: it strips
/// terminal escape sequences and carriage returns, keeps the last lines for error reports and
/// tells when a line (or the unfinished last line, such as a "login: " prompt) matches a pattern.

#include <deque>
#include <regex>
#include <string>
#include <vector>

namespace imager::qemu {

class ConsoleWatcher {
 public:
  /// `pattern` may be null: then nothing ever matches; `keep` is how many lines Tail() returns.
  explicit ConsoleWatcher(const std::regex* pattern, size_t keep = 30);

  /// Feeds raw console bytes; true once a line has matched (and from then on).
  bool Feed(const std::string& bytes);
  bool matched() const { return matched_; }
  /// The matching line, without escape sequences.
  const std::string& matched_line() const { return matched_line_; }

  /// The last lines seen (the unfinished one included), oldest first.
  std::vector<std::string> Tail() const;

 private:
  void Check(const std::string& line);
  void EndLine();

  const std::regex* pattern_;
  size_t keep_;
  std::deque<std::string> lines_;
  std::string current_;
  enum class Esc { kNone, kEsc, kCsi, kOsc } esc_ = Esc::kNone;
  bool matched_ = false;
  std::string matched_line_;
};

}  // namespace imager::qemu
