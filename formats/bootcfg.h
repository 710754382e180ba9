// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Rewriting the kernel command lines of boot loader configurations (isolinux/syslinux and
/// GRUB) as text: arguments added and removed on every entry that boots a kernel, and the
/// volume labels the configuration searches for renamed. Pure: no files, no processes. Lines
/// that are not kernel lines are kept byte for byte; a kernel line with an unbalanced quote or
/// a continuation is an error naming the file and line.

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace imager::formats::bootcfg {

enum class Syntax { kSyslinux, kGrub };

struct CmdlineEdit {
  // Arguments removed: "quiet" removes "quiet" and "quiet=..."; "console=ttyS0" only itself.
  std::vector<std::string> remove;
  // Arguments appended, after `remove`; one already present (the same text) is not repeated.
  std::vector<std::string> add;
  // A volume id renamed: LABEL=OLD and CDLABEL=OLD (spaces escaped as \x20), and GRUB's
  // `search --label OLD` / `-l OLD`.
  std::string old_label, new_label;
  bool empty() const { return remove.empty() && add.empty() && old_label == new_label; }
};

struct EditResult {
  std::string text;
  int kernel_lines = 0;  // kernel lines seen (edited or not)
};

/// `text`, the configuration `file` (named in errors), with `edit` applied.
Result<EditResult> Edit(std::string_view text, Syntax syntax, const CmdlineEdit& edit,
                        const std::string& file);

/// The words of a kernel command line, quotes kept ('a="b c"' is one word); an unbalanced
/// quote is an error. GRUB also knows single quotes and backslash escapes.
Result<std::vector<std::string>> SplitArgs(std::string_view args, Syntax syntax);

/// A label as GRUB and isolinux command lines spell it: spaces as \x20.
std::string EscapeLabel(std::string_view label);

/// Splits `--cmdline-add "a b=c"` into words (double quotes kept), for the CLI.
Result<std::vector<std::string>> SplitUserArgs(std::string_view args);

}  // namespace imager::formats::bootcfg
