// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Helpers the fuzz targets share: a per-process scratch directory for parsers that only take a
/// path, inputs split into several files, and a jail that notices writes outside the directory
/// an unpacker was given.

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace imager::fuzz {

[[noreturn]] inline void Die(const std::string& what) {
  fprintf(stderr, "fuzz: %s\n", what.c_str());
  abort();
}

/// Prints `what` when IMAGER_FUZZ_VERBOSE is set: how far a seed gets (`fuzz_x SEED`).
inline void Note(const std::string& what) {
  static const bool verbose = getenv("IMAGER_FUZZ_VERBOSE") != nullptr;
  if (verbose) fprintf(stderr, "fuzz: %s\n", what.c_str());
}

/// Removes `path` and everything below it, first making directories writable and searchable
/// (an archive may create a directory with mode 0000).
inline void RemoveAll(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    chmod(path.c_str(), 0700);
    if (DIR* d = opendir(path.c_str())) {
      std::vector<std::string> names;
      while (dirent* e = readdir(d))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) names.push_back(e->d_name);
      closedir(d);
      for (const auto& n : names) RemoveAll(path + "/" + n);
    }
    if (rmdir(path.c_str()) != 0) Die("rmdir " + path + ": " + strerror(errno));
  } else if (unlink(path.c_str()) != 0) {
    Die("unlink " + path + ": " + strerror(errno));
  }
}

inline std::set<std::string> Names(const std::string& dir) {
  std::set<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) Die("opendir " + dir + ": " + strerror(errno));
  while (dirent* e = readdir(d))
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) out.insert(e->d_name);
  closedir(d);
  return out;
}

/// This process's scratch directory ($TMPDIR or /tmp), removed at exit.
inline const std::string& Scratch() {
  static const std::string dir = [] {
    const char* tmp = getenv("TMPDIR");
    std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/imager-fuzz-XXXXXX";
    if (!mkdtemp(templ.data())) Die("mkdtemp " + templ + ": " + strerror(errno));
    static std::string removed_at_exit = templ;
    atexit([] { RemoveAll(removed_at_exit); });
    return templ;
  }();
  return dir;
}

/// Writes `data` to the file `path`, replacing it.
inline void Write(const std::string& path, std::string_view data) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) Die("create " + path + ": " + strerror(errno));
  for (size_t done = 0; done < data.size();) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n <= 0) Die("write " + path + ": " + strerror(errno));
    done += n;
  }
  close(fd);
}

/// Writes `data` to SCRATCH/name and returns that path.
inline std::string TempFile(const std::string& name, std::string_view data) {
  std::string path = Scratch() + "/" + name;
  Write(path, data);
  return path;
}

/// The input cut at every "\n--8<--\n" line: several files from one input (fuzz/README.md).
inline std::vector<std::string_view> SplitParts(const uint8_t* data, size_t size) {
  constexpr std::string_view kCut = "\n--8<--\n";
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts;
  for (;;) {
    size_t at = in.find(kCut);
    parts.push_back(in.substr(0, at));
    if (at == std::string_view::npos) return parts;
    in.remove_prefix(at + kCut.size());
  }
}

/// A directory to unpack into, nested three levels deep in the scratch directory, with the
/// process's working directory at the level right above it: `Check()` aborts when anything but
/// the directory itself appeared at any of those levels, so an entry that climbs out with "..",
/// or through a symlink to "..", or to "/proc/self/cwd/..." (the seeds hold such links), is a
/// crash. Writes to other absolute paths are not seen: run the targets as an unprivileged user
/// (fuzz/run.sh does).
class Jail {
 public:
  Jail() {
    levels_ = {Scratch() + "/jail", Scratch() + "/jail/a", Scratch() + "/jail/a/b"};
    for (const auto& l : levels_)
      if (mkdir(l.c_str(), 0755) != 0 && errno != EEXIST)
        Die("mkdir " + l + ": " + strerror(errno));
    if (chdir(levels_.back().c_str()) != 0) Die("chdir " + levels_.back());
    dest_ = levels_.back() + "/root";
  }

  /// A fresh, empty destination directory.
  const std::string& Fresh() {
    RemoveAll(dest_);
    if (mkdir(dest_.c_str(), 0755) != 0) Die("mkdir " + dest_ + ": " + strerror(errno));
    return dest_;
  }

  /// Aborts when something was written outside the destination.
  void Check() const {
    const char* expected[] = {"a", "b", "root"};
    for (size_t i = 0; i < levels_.size(); ++i) {
      auto names = Names(levels_[i]);
      if (names != std::set<std::string>{expected[i]}) {
        std::string found;
        for (const auto& n : names) found += " '" + n + "'";
        Die("ESCAPE: written outside the destination, in " + levels_[i] + ":" + found);
      }
    }
    struct stat st;
    if (lstat(dest_.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      Die("ESCAPE: the destination " + dest_ + " is no longer a directory");
  }

 private:
  std::vector<std::string> levels_;
  std::string dest_;
};

}  // namespace imager::fuzz
