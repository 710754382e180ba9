// SPDX-License-Identifier: GPL-3.0-or-later
#include "base/tree_index.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "base/fd.h"
#include "base/fs.h"
#include "base/sha256.h"

namespace imager {
namespace {

int64_t Nanos(const struct timespec& t) {
  return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
}

// Extended attributes, sorted by name, into the hash. Filesystems without them have none.
Status HashXattrs(const std::string& path, Sha256& h) {
  std::string names(4096, '\0');
  ssize_t n;
  while ((n = llistxattr(path.c_str(), names.data(), names.size())) < 0 && errno == ERANGE)
    names.resize(names.size() * 4);
  if (n < 0) {
    if (errno == ENOTSUP || errno == ENODATA) return {};
    return ErrnoError("list extended attributes of " + path);
  }
  std::vector<std::string> sorted;
  for (size_t i = 0; i < static_cast<size_t>(n);) {
    std::string name(names.c_str() + i);
    i += name.size() + 1;
    if (!name.empty()) sorted.push_back(std::move(name));
  }
  std::sort(sorted.begin(), sorted.end());
  for (const auto& name : sorted) {
    std::string value(256, '\0');
    ssize_t v;
    while ((v = lgetxattr(path.c_str(), name.c_str(), value.data(), value.size())) < 0 &&
           errno == ERANGE)
      value.resize(value.size() * 4);
    if (v < 0) {
      if (errno == ENODATA) continue;  // removed meanwhile
      return ErrnoError("read extended attribute " + name + " of " + path);
    }
    value.resize(static_cast<size_t>(v));
    h.Update("x");
    h.Update(name);
    h.Update("\0", 1);
    h.Update(std::to_string(value.size()) + ":");
    h.Update(value);
  }
  return {};
}

struct Walker {
  std::string root;
  std::unordered_map<std::string, const TreeEntry*> previous;
  TreeIndex index;

  Result<std::string> Hash(int dir_fd, const std::string& name, const std::string& rel,
                           const struct stat& st) {
    std::string full = rel == "." ? root : root + "/" + rel;
    Sha256 h;
    if (S_ISREG(st.st_mode)) {
      UniqueFd fd(openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd.valid()) return ErrnoError("open " + full);
      h.Update("f");
      static thread_local std::vector<char> buf(1 << 20);
      for (;;) {
        ssize_t n = read(fd.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return ErrnoError("read " + full);
        if (n == 0) break;
        h.Update(buf.data(), static_cast<size_t>(n));
      }
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = readlinkat(dir_fd, name.c_str(), target.data(), target.size());
      if (n < 0) return ErrnoError("read link " + full);
      target.resize(static_cast<size_t>(n));
      h.Update("l");
      h.Update(target);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
      h.Update("d" + std::to_string(major(st.st_rdev)) + ":" + std::to_string(minor(st.st_rdev)));
    } else {
      h.Update(S_ISDIR(st.st_mode) ? "D" : "o");
    }
    if (auto s = HashXattrs(full, h); !s) return s.take_error();
    return h.FinalHex();
  }

  Status Add(int dir_fd, const std::string& name, const std::string& rel) {
    struct stat st;
    if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return ErrnoError("stat " + root + "/" + rel);
    TreeEntry e;
    e.path = rel;
    e.mode = st.st_mode;
    e.uid = st.st_uid;
    e.gid = st.st_gid;
    e.size = S_ISDIR(st.st_mode)
                 ? 0
                 : static_cast<uint64_t>(st.st_size);  // a directory's varies by filesystem
    e.mtime_ns = Nanos(st.st_mtim);
    e.ino = st.st_ino;
    e.ctime_ns = Nanos(st.st_ctim);
    auto it = previous.find(rel);
    if (it != previous.end() && it->second->ino == e.ino && it->second->ctime_ns == e.ctime_ns &&
        it->second->size == e.size && it->second->mtime_ns == e.mtime_ns &&
        it->second->mode == e.mode) {
      e.hash = it->second->hash;
    } else {
      auto hash = Hash(dir_fd, name, rel, st);
      if (!hash) return hash.take_error();
      e.hash = std::move(*hash);
    }
    index.entries.push_back(std::move(e));
    if (!S_ISDIR(st.st_mode)) return {};
    UniqueFd sub(openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub.valid()) return ErrnoError("open directory " + root + "/" + rel);
    auto names = ListDirFd(sub.get());
    if (!names) return Wrap(root + "/" + rel, names.error());
    for (const auto& child : *names) {
      if (auto s = Add(sub.get(), child, rel == "." ? child : rel + "/" + child); !s) return s;
    }
    return {};
  }
};

std::string Escape(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else
      out += c;
  }
  return out;
}

std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    char c = s[++i];
    out += c == 'n' ? '\n' : c == 'r' ? '\r' : c;
  }
  return out;
}

std::string Kind(uint32_t mode) {
  if (S_ISDIR(mode)) return "directory";
  if (S_ISLNK(mode)) return "symlink";
  if (S_ISREG(mode)) return "file";
  return "special file";
}

}  // namespace

std::string TreeIndex::Digest() const {
  Sha256 h;
  for (const auto& e : entries) {
    h.Update(e.path);
    h.Update("\0", 1);
    h.Update(std::to_string(e.mode) + " " + std::to_string(e.uid) + " " + std::to_string(e.gid) +
             " " + std::to_string(e.size) + " " + std::to_string(e.mtime_ns) + " " + e.hash + "\n");
  }
  return h.FinalHex();
}

uint64_t TreeIndex::ApparentSize() const {
  std::unordered_set<uint64_t> seen;
  uint64_t total = 0;
  for (const auto& e : entries)
    if (!S_ISDIR(e.mode) && seen.insert(e.ino).second) total += e.size;
  return total;
}

std::string TreeIndex::Serialize() const {
  std::string out;
  out.reserve(entries.size() * 128);
  char mode[16];
  for (const auto& e : entries) {
    snprintf(mode, sizeof mode, "%o", e.mode);
    out += e.hash + " " + mode + " " + std::to_string(e.uid) + " " + std::to_string(e.gid) + " " +
           std::to_string(e.size) + " " + std::to_string(e.mtime_ns) + " " + std::to_string(e.ino) +
           " " + std::to_string(e.ctime_ns) + " " + Escape(e.path) + "\n";
  }
  return out;
}

Result<TreeIndex> TreeIndex::Parse(const std::string& text) {
  TreeIndex index;
  size_t line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) return Error{"index: the last line is cut off"};
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_no;
    TreeEntry e;
    std::vector<std::string_view> f;
    size_t start = 0;
    while (f.size() < 8) {
      size_t sp = line.find(' ', start);
      if (sp == std::string_view::npos) break;
      f.push_back(line.substr(start, sp - start));
      start = sp + 1;
    }
    if (f.size() != 8 || f[0].size() != 64)
      return Error{"index: line " + std::to_string(line_no) + " is malformed"};
    try {
      e.hash = std::string(f[0]);
      e.mode = static_cast<uint32_t>(std::stoul(std::string(f[1]), nullptr, 8));
      e.uid = static_cast<uint32_t>(std::stoul(std::string(f[2])));
      e.gid = static_cast<uint32_t>(std::stoul(std::string(f[3])));
      e.size = std::stoull(std::string(f[4]));
      e.mtime_ns = std::stoll(std::string(f[5]));
      e.ino = std::stoull(std::string(f[6]));
      e.ctime_ns = std::stoll(std::string(f[7]));
    } catch (const std::exception&) {
      return Error{"index: line " + std::to_string(line_no) + " has a malformed number"};
    }
    e.path = Unescape(line.substr(start));
    index.entries.push_back(std::move(e));
  }
  return index;
}

Result<TreeIndex> IndexTree(const std::string& root, const TreeIndex* previous) {
  Walker w;
  w.root = root;
  if (previous)
    for (const auto& e : previous->entries) w.previous.emplace(e.path, &e);
  size_t slash = root.rfind('/');
  std::string parent = slash == std::string::npos ? "." : slash == 0 ? "/" : root.substr(0, slash);
  std::string base = slash == std::string::npos ? root : root.substr(slash + 1);
  UniqueFd dir(open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return ErrnoError("open directory " + parent);
  if (auto s = w.Add(dir.get(), base, "."); !s) return s.take_error();
  return std::move(w.index);
}

bool IsPermissionError(const std::string& error) {
  return error.find(std::strerror(EACCES)) != std::string::npos;
}

std::string DescribeChange(const TreeIndex& before, const TreeIndex& now) {
  if (before.Digest() == now.Digest()) return "";
  std::unordered_map<std::string, const TreeEntry*> old;
  for (const auto& e : before.entries) old.emplace(e.path, &e);
  std::vector<std::string> changes;
  for (const auto& e : now.entries) {
    auto it = old.find(e.path);
    if (it == old.end()) {
      changes.push_back(e.path + ": " + Kind(e.mode) + " added");
      continue;
    }
    const TreeEntry& o = *it->second;
    old.erase(it);
    if ((o.mode & S_IFMT) != (e.mode & S_IFMT))
      changes.push_back(e.path + ": was a " + Kind(o.mode) + ", is a " + Kind(e.mode));
    else if (o.hash != e.hash || o.size != e.size)
      changes.push_back(e.path + ": content changed");
    else if (o.mode != e.mode)
      changes.push_back(e.path + ": mode changed");
    else if (o.uid != e.uid || o.gid != e.gid)
      changes.push_back(e.path + ": owner changed");
    else if (o.mtime_ns != e.mtime_ns)
      changes.push_back(e.path + ": modification time changed");
  }
  for (const auto& e : before.entries)
    if (old.count(e.path)) changes.push_back(e.path + ": " + Kind(e.mode) + " missing");
  if (changes.empty()) return "the entries were reordered";
  if (changes.size() == 1) return changes[0];
  std::string out = std::to_string(changes.size()) + " changes: ";
  for (size_t i = 0; i < changes.size() && i < 3; ++i) out += (i ? "; " : "") + changes[i];
  if (changes.size() > 3) out += "; ...";
  return out;
}

}  // namespace imager
