// SPDX-License-Identifier: GPL-3.0-or-later
#include "qemu/console.h"

namespace imager::qemu {

ConsoleWatcher::ConsoleWatcher(const std::regex* pattern, size_t keep)
    : pattern_(pattern), keep_(keep) {}

bool ConsoleWatcher::Feed(const std::string& bytes) {
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    switch (esc_) {
      case Esc::kEsc:  // ESC [ (CSI), ESC ] (OSC), or a two-byte sequence
        esc_ = c == '[' ? Esc::kCsi : c == ']' ? Esc::kOsc : Esc::kNone;
        continue;
      case Esc::kCsi:  // parameters until a final byte 0x40..0x7e
        if (u >= 0x40 && u <= 0x7e) esc_ = Esc::kNone;
        continue;
      case Esc::kOsc:  // until BEL (or ESC, which starts the ST terminator)
        if (c == '\a') esc_ = Esc::kNone;
        if (c == '\x1b') esc_ = Esc::kEsc;
        continue;
      case Esc::kNone:
        break;
    }
    if (c == '\x1b') {
      esc_ = Esc::kEsc;
    } else if (c == '\n') {
      EndLine();
    } else if (c != '\r' && c != '\0') {
      current_ += c;
    }
  }
  // A prompt is not followed by a newline: the unfinished line may match too.
  if (!current_.empty()) Check(current_);
  return matched_;
}

void ConsoleWatcher::EndLine() {
  Check(current_);
  lines_.push_back(std::move(current_));
  current_.clear();
  while (lines_.size() > keep_) lines_.pop_front();
}

void ConsoleWatcher::Check(const std::string& line) {
  if (matched_ || !pattern_) return;
  if (std::regex_search(line, *pattern_)) {
    matched_ = true;
    matched_line_ = line;
  }
}

std::vector<std::string> ConsoleWatcher::Tail() const {
  std::vector<std::string> out(lines_.begin(), lines_.end());
  if (!current_.empty()) out.push_back(current_);
  if (out.size() > keep_) out.erase(out.begin(), out.end() - static_cast<long>(keep_));
  return out;
}

}  // namespace imager::qemu
