// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/bootcfg.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <optional>

#include "base/strings.h"

namespace imager::formats::bootcfg {
namespace {

struct Line {
  std::string indent, body, eol;  // body without the indentation and the line ending
};

std::vector<Line> SplitLines(std::string_view text) {
  std::vector<Line> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view l = text.substr(pos, end - pos);
    Line line;
    if (!l.empty() && l.back() == '\r') {
      l.remove_suffix(1);
      line.eol = "\r";
    }
    if (nl != std::string_view::npos) line.eol += "\n";
    size_t ws = l.find_first_not_of(" \t");
    if (ws == std::string_view::npos) ws = l.size();
    line.indent = std::string(l.substr(0, ws));
    line.body = std::string(l.substr(ws));
    lines.push_back(std::move(line));
    pos = end + 1;
  }
  return lines;
}

std::string Lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

// The first word of a line and the rest after the blanks that follow it.
std::pair<std::string, std::string> Keyword(const std::string& body) {
  size_t end = body.find_first_of(" \t");
  if (end == std::string::npos) return {body, ""};
  size_t rest = body.find_first_not_of(" \t", end);
  return {body.substr(0, end), rest == std::string::npos ? "" : body.substr(rest)};
}

// A word without its quotes and (GRUB) backslash escapes.
std::string Unquote(std::string_view w, Syntax syntax) {
  std::string r;
  char quote = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    char c = w[i];
    if (quote) {
      if (c == quote)
        quote = 0;
      else if (c == '\\' && quote == '"' && syntax == Syntax::kGrub && i + 1 < w.size())
        r += w[++i];
      else
        r += c;
    } else if (c == '"' || (c == '\'' && syntax == Syntax::kGrub)) {
      quote = c;
    } else if (c == '\\' && syntax == Syntax::kGrub && i + 1 < w.size()) {
      r += w[++i];
    } else {
      r += c;
    }
  }
  return r;
}

bool Removed(const std::string& value, const std::vector<std::string>& remove) {
  for (const auto& r : remove) {
    if (value == r) return true;
    if (r.find('=') == std::string::npos && StartsWith(value, r + "=")) return true;
  }
  return false;
}

// The arguments `args` with `e` applied (the label renaming is done on whole lines).
std::string EditArgs(const std::vector<std::string>& args, Syntax syntax, const CmdlineEdit& e) {
  std::vector<std::string> out, values;
  for (const auto& a : args) {
    std::string v = Unquote(a, syntax);
    if (Removed(v, e.remove)) continue;
    out.push_back(a);
    values.push_back(v);
  }
  for (const auto& a : e.add) {
    std::string v = Unquote(a, syntax);
    if (std::find(values.begin(), values.end(), v) != values.end()) continue;
    out.push_back(a);
    values.push_back(v);
  }
  return Join(out, " ");
}

bool LabelChar(char c) {
  return !(c == ':' || c == ' ' || c == '\t' || c == '"' || c == '\'' || c == '/' || c == ';');
}

// LABEL=OLD and CDLABEL=OLD (OLD as escaped) renamed in `s`.
std::string RenameLabelRefs(std::string s, const std::string& old_esc, const std::string& new_esc) {
  const std::string from = "LABEL=" + old_esc, to = "LABEL=" + new_esc;
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos)) {
    size_t end = pos + from.size();
    if (end < s.size() && LabelChar(s[end])) {  // a longer label that starts the same
      pos = end;
      continue;
    }
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
  return s;
}

// GRUB `search ... --label OLD` / `-l OLD` / `--label=OLD` with OLD renamed.
Result<std::string> RenameSearch(const std::string& rest, const CmdlineEdit& e) {
  auto words = SplitArgs(rest, Syntax::kGrub);
  if (!words) return words.take_error();
  bool changed = false, next_is_label = false;
  std::string quoted_new = "'" + e.new_label + "'";
  for (auto& w : *words) {
    std::string v = Unquote(w, Syntax::kGrub);
    if (next_is_label && (v == e.old_label || v == EscapeLabel(e.old_label))) {
      w = quoted_new;
      changed = true;
    } else if (v == "--label=" + e.old_label) {
      w = "--label=" + quoted_new;
      changed = true;
    }
    next_is_label = v == "--label" || v == "-l";
  }
  return changed ? Join(*words, " ") : rest;
}

std::string LineError(const std::string& file, size_t index, const std::string& what) {
  return file + ":" + std::to_string(index + 1) + ": " + what;
}

bool IsLinuxKernel(const std::string& path) {
  std::string p = Lower(path);
  for (const char* ext : {".c32", ".com", ".cbt", ".0", ".bin", ".bs", ".bss", ".img"})
    if (p.size() > strlen(ext) && p.ends_with(ext)) return false;
  return !p.empty();
}

// isolinux/syslinux: the APPEND line of every LABEL whose KERNEL/LINUX is a Linux kernel; a
// global APPEND stands for entries without their own; an entry with neither gets one after
// its kernel line when arguments are added.
Status EditSyslinux(std::vector<Line>* lines, const CmdlineEdit& e, const std::string& file,
                    int* kernels) {
  struct Entry {
    std::optional<size_t> kernel, append;
  };
  std::vector<Entry> entries;
  std::optional<size_t> global_append;
  for (size_t i = 0; i < lines->size(); ++i) {
    auto [kw, rest] = Keyword((*lines)[i].body);
    std::string k = Lower(kw);
    if (k == "label") entries.emplace_back();
    if ((k == "kernel" || k == "linux") && !entries.empty()) {
      if (IsLinuxKernel(Keyword(rest).first)) entries.back().kernel = i;
    } else if (k == "append") {
      if (entries.empty())
        global_append = i;
      else
        entries.back().append = i;
    }
  }
  std::vector<size_t> to_edit;
  std::vector<size_t> insert_after;  // kernel lines that get a new APPEND
  for (const auto& en : entries) {
    if (!en.kernel) continue;
    ++*kernels;
    if (en.append)
      to_edit.push_back(*en.append);
    else if (global_append)
      to_edit.push_back(*global_append);
    else if (!e.add.empty())
      insert_after.push_back(*en.kernel);
  }
  std::sort(to_edit.begin(), to_edit.end());
  to_edit.erase(std::unique(to_edit.begin(), to_edit.end()), to_edit.end());
  for (size_t i : to_edit) {
    auto& l = (*lines)[i];
    auto [kw, rest] = Keyword(l.body);
    auto args = SplitArgs(rest == "-" ? "" : rest, Syntax::kSyslinux);
    if (!args) return Error{LineError(file, i, args.error())};
    std::string edited = EditArgs(*args, Syntax::kSyslinux, e);
    if (edited == Join(*args, " ")) continue;  // kept byte for byte
    std::string head = rest.empty() ? kw + " " : l.body.substr(0, l.body.size() - rest.size());
    l.body = head + (edited.empty() ? "-" : edited);
  }
  for (auto it = insert_after.rbegin(); it != insert_after.rend(); ++it) {
    const Line& k = (*lines)[*it];
    std::string kw = std::isupper(static_cast<unsigned char>(k.body[0])) ? "APPEND" : "append";
    Line added{k.indent, kw + " " + EditArgs({}, Syntax::kSyslinux, e), k.eol};
    if (k.eol.empty()) (*lines)[*it].eol = "\n";  // the last line gains a line ending
    lines->insert(lines->begin() + static_cast<long>(*it) + 1, added);
  }
  return {};
}

// GRUB: every linux/linuxefi/linux16 line; the first word after the keyword is the kernel.
Status EditGrub(std::vector<Line>* lines, const CmdlineEdit& e, const std::string& file,
                int* kernels) {
  for (size_t i = 0; i < lines->size(); ++i) {
    auto& l = (*lines)[i];
    auto [kw, rest] = Keyword(l.body);
    if (kw == "search" && e.old_label != e.new_label) {
      auto r = RenameSearch(rest, e);
      if (!r) return Error{LineError(file, i, r.error())};
      l.body = kw + " " + *r;
      continue;
    }
    if (kw != "linux" && kw != "linuxefi" && kw != "linux16") continue;
    ++*kernels;
    if (!l.body.empty() && l.body.back() == '\\')
      return Error{LineError(file, i, "a kernel line continued on the next one is not supported")};
    auto words = SplitArgs(rest, Syntax::kGrub);
    if (!words) return Error{LineError(file, i, words.error())};
    if (words->empty()) return Error{LineError(file, i, "'" + kw + "' without a kernel")};
    std::string kernel = words->front();
    words->erase(words->begin());
    std::string edited = EditArgs(*words, Syntax::kGrub, e);
    if (edited == Join(*words, " ")) continue;
    // The keyword, the blanks after it and the kernel as they were.
    std::string head = l.body.substr(0, l.body.size() - rest.size() + kernel.size());
    l.body = head + (edited.empty() ? "" : " " + edited);
  }
  return {};
}

}  // namespace

std::string EscapeLabel(std::string_view label) {
  std::string r;
  for (char c : label) r += c == ' ' ? std::string("\\x20") : std::string(1, c);
  return r;
}

Result<std::vector<std::string>> SplitArgs(std::string_view args, Syntax syntax) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (size_t i = 0; i < args.size(); ++i) {
    char c = args[i];
    if (!quote && (c == ' ' || c == '\t')) {
      if (in_word) words.push_back(cur), cur.clear(), in_word = false;
      continue;
    }
    in_word = true;
    cur += c;
    if (c == '\\' && syntax == Syntax::kGrub && quote != '\'' && i + 1 < args.size()) {
      cur += args[++i];
    } else if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '"' || (c == '\'' && syntax == Syntax::kGrub)) {
      quote = c;
    }
  }
  if (quote) return Error{std::string("unbalanced ") + quote + " in the kernel command line"};
  if (in_word) words.push_back(cur);
  return words;
}

Result<std::vector<std::string>> SplitUserArgs(std::string_view args) {
  return SplitArgs(args, Syntax::kSyslinux);
}

Result<EditResult> Edit(std::string_view text, Syntax syntax, const CmdlineEdit& edit,
                        const std::string& file) {
  auto lines = SplitLines(text);
  EditResult r;
  Status st = syntax == Syntax::kSyslinux ? EditSyslinux(&lines, edit, file, &r.kernel_lines)
                                          : EditGrub(&lines, edit, file, &r.kernel_lines);
  if (!st) return st.take_error();
  std::string old_esc = EscapeLabel(edit.old_label), new_esc = EscapeLabel(edit.new_label);
  for (const auto& l : lines) {
    std::string body = l.body;
    if (!edit.old_label.empty() && edit.old_label != edit.new_label)
      body = RenameLabelRefs(body, old_esc, new_esc);
    r.text += l.indent + body + l.eol;
  }
  return r;
}

}  // namespace imager::formats::bootcfg
