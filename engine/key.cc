// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <string_view>

#include "base/fd.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "base/strings.h"

namespace imager::engine {
namespace {

// "N:bytes": the length prefix keeps each field unambiguous whatever bytes it holds.
std::string Field(std::string_view s) { return std::to_string(s.size()) + ":" + std::string(s); }

char TypeChar(mode_t mode) {
  if (S_ISREG(mode)) return 'f';
  if (S_ISDIR(mode)) return 'd';
  if (S_ISLNK(mode)) return 'l';
  if (S_ISCHR(mode)) return 'c';
  if (S_ISBLK(mode)) return 'b';
  if (S_ISFIFO(mode)) return 'p';
  return 's';
}

std::string Octal(mode_t mode) {
  char buf[8];
  snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// Streams the canonical description of a tree into one SHA-256.
class TreeHasher {
 public:
  explicit TreeHasher(std::string root) : root_(std::move(root)) {}

  Status Entry(int parent, const std::string& name, const std::string& rel, bool follow);
  std::string Final() { return sha_.FinalHex(); }

 private:
  std::string Shown(const std::string& rel) const { return rel == "." ? root_ : root_ + "/" + rel; }
  Result<std::string> Payload(int parent, const std::string& name, const std::string& rel,
                              const struct stat& st, bool follow);
  Status Children(int parent, const std::string& name, const std::string& rel, bool follow);

  std::string root_;
  Sha256 sha_;
};

Result<std::string> TreeHasher::Payload(int parent, const std::string& name, const std::string& rel,
                                        const struct stat& st, bool follow) {
  if (S_ISREG(st.st_mode)) {
    UniqueFd fd(openat(parent, name.c_str(), O_RDONLY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW)));
    if (!fd.valid()) return ErrnoError("open " + Shown(rel));
    auto digest = Sha256Fd(fd.get());
    if (!digest) return Wrap(Shown(rel), digest.error());
    return digest;
  }
  if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = readlinkat(parent, name.c_str(), target.data(), target.size());
    if (n < 0) return ErrnoError("readlink " + Shown(rel));
    target.resize(static_cast<size_t>(n));
    return Field(target);
  }
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
    return std::to_string(major(st.st_rdev)) + "," + std::to_string(minor(st.st_rdev));
  return std::string("-");
}

Status TreeHasher::Entry(int parent, const std::string& name, const std::string& rel, bool follow) {
  struct stat st;
  if (fstatat(parent, name.c_str(), &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) != 0)
    return ErrnoError("stat " + Shown(rel));
  bool dir = S_ISDIR(st.st_mode);
  auto payload = Payload(parent, name, rel, st, follow);
  if (!payload) return payload.take_error();
  uint64_t size = dir || S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? 0 : st.st_size;
  sha_.Update(Field(rel) + " " + TypeChar(st.st_mode) + " " + Octal(st.st_mode) + " " +
              std::to_string(size) + " " + *payload + "\n");
  return dir ? Children(parent, name, rel, follow) : Status();
}

Status TreeHasher::Children(int parent, const std::string& name, const std::string& rel,
                            bool follow) {
  int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW);
  UniqueFd fd(openat(parent, name.c_str(), flags));
  if (!fd.valid()) return ErrnoError("open " + Shown(rel));
  auto names = ListDirFd(fd.get());
  if (!names) return Wrap(Shown(rel), names.error());
  for (const auto& n : *names)
    if (auto st = Entry(fd.get(), n, rel == "." ? n : rel + "/" + n, false); !st) return st;
  return {};
}

}  // namespace

KeyInput KeyInput::Value(std::string name, std::string value) {
  return {std::move(name), Kind::kValue, std::move(value)};
}

KeyInput KeyInput::Content(std::string name, std::string path) {
  return {std::move(name), Kind::kContent, std::move(path)};
}

Result<std::string> HashTree(const std::string& path) {
  TreeHasher hasher(path);
  if (auto st = hasher.Entry(AT_FDCWD, path, ".", true); !st) return Wrap("hash", st.error());
  return hasher.Final();
}

KeyBuilder::KeyBuilder(std::string stage, int version)
    : stage_(std::move(stage)), version_(version) {}

KeyBuilder& KeyBuilder::Add(const KeyInput& input) {
  std::string encoded;
  if (input.kind == KeyInput::Kind::kValue) {
    encoded = "value " + Field(input.value);
  } else if (auto hash = HashTree(input.value)) {
    encoded = "content " + *hash;
  } else {
    errors_.push_back("input '" + input.name + "': " + hash.error());
    return *this;
  }
  if (!inputs_.emplace(input.name, std::move(encoded)).second)
    errors_.push_back("input '" + input.name + "' is given twice");
  return *this;
}

KeyBuilder& KeyBuilder::Value(std::string name, std::string value) {
  return Add(KeyInput::Value(std::move(name), std::move(value)));
}

KeyBuilder& KeyBuilder::Content(std::string name, const std::string& path) {
  return Add(KeyInput::Content(std::move(name), path));
}

KeyBuilder& KeyBuilder::Parent(std::string key) {
  parents_.push_back(std::move(key));
  return *this;
}

Result<std::string> KeyBuilder::Canonical() const {
  if (!errors_.empty()) return Error{"key of stage '" + stage_ + "': " + Join(errors_, "; ")};
  std::string text =
      "imager-stage-key 1\nstage " + Field(stage_) + "\nversion " + std::to_string(version_) + "\n";
  for (const auto& [name, encoded] : inputs_) text += "input " + Field(name) + " " + encoded + "\n";
  for (const auto& p : parents_) text += "parent " + Field(p) + "\n";
  return text;
}

Result<std::string> KeyBuilder::Build() const {
  auto text = Canonical();
  if (!text) return text.take_error();
  return Sha256Hex(*text);
}

}  // namespace imager::engine
