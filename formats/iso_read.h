// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Reading ISO 9660 images without mounting them (libcdio's libiso9660): a Reader lists
/// directories with their Rock Ridge names, modes, owners and symlink targets, reads files, and
/// Extract() copies a tree out into a directory it can never leave. The image is untrusted: every
/// extent is checked against the file's size (a truncated image is an error naming the file, not
/// a short read), names that are "", ".", ".." or hold a "/" are refused, and a walk refuses a
/// directory met twice (a loop) and trees deeper than kMaxDepth.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "base/fd.h"
#include "base/result.h"

typedef struct _iso9660_s iso9660_t;

namespace imager::formats::iso {

inline constexpr int kMaxDepth = 128;
inline constexpr uint32_t kSectorSize = 2048;

/// One directory entry of the image.
struct Entry {
  std::string name;  // the Rock Ridge name, else the ISO 9660 name without ";1"
  std::string path;  // absolute in the image: "/isolinux/isolinux.cfg"
  mode_t mode = 0;   // type and permissions (Rock Ridge PX; without it 0555 dirs, 0444 files)
  uid_t uid = 0;
  gid_t gid = 0;
  uint64_t size = 0;
  uint32_t lsn = 0;     // first sector of the data
  int64_t mtime = 0;    // Rock Ridge TF modify time, else the directory record's time (UTC)
  std::string symlink;  // the target, for a symlink
  bool IsDir() const;
  bool IsSymlink() const;
  bool IsRegular() const;
};

/// An ISO image open for reading.
class Reader {
 public:
  static Result<std::unique_ptr<Reader>> Open(const std::string& path);
  ~Reader();

  /// The entry at `path` (absolute in the image; "/" is the root directory).
  Result<Entry> Stat(const std::string& path) const;
  /// The entries of the directory `dir`, in the image's order, without "." and "..".
  Result<std::vector<Entry>> List(const Entry& dir) const;
  Result<std::vector<Entry>> List(const std::string& dir) const;
  /// Hands the content of the regular file `file` to `sink` in pieces.
  Status Read(const Entry& file, const std::function<Status(std::string_view)>& sink) const;
  /// The whole content of `path`, refused when larger than `max_bytes`.
  Result<std::string> ReadSmall(const std::string& path, uint64_t max_bytes) const;
  /// `visit` for every entry below `dir`, parents before children; refuses loops and depth.
  Status Walk(const Entry& dir, const std::function<Status(const Entry&)>& visit) const;
  /// Refuses to descend into `dir` at `depth` (the root's children are at 1) when that is too
  /// deep or its extent is in `seen` (a loop); adds it to `seen` otherwise.
  Status CheckDescend(const Entry& dir, int depth, std::unordered_set<uint32_t>* seen) const;
  /// `size` bytes of the image file at `offset`; short reads are errors ("truncated").
  Result<std::string> ReadAt(uint64_t offset, size_t size) const;

  const std::string& path() const { return path_; }
  uint64_t file_size() const { return file_size_; }

 private:
  Reader() = default;
  Status CheckExtent(const Entry& e) const;
  // The extent of `dir` inside the file, and its records' lengths consistent.
  Status CheckRecords(const Entry& dir) const;
  // List(), with unsafe names refused (`refuse_unsafe`) or left out (path lookups, which never
  // create anything by those names).
  Result<std::vector<Entry>> ListDir(const Entry& dir, bool refuse_unsafe) const;
  Status WalkFrom(const Entry& dir, int depth, std::unordered_set<uint32_t>* seen,
                  const std::function<Status(const Entry&)>& visit) const;

  std::string path_;
  UniqueFd fd_;
  uint64_t file_size_ = 0;
  iso9660_t* iso_ = nullptr;
};

/// Whether `name` can be created in a directory without leaving it: not "", ".", "..", no "/"
/// or NUL.
bool SafeName(std::string_view name);

struct ExtractOptions {
  std::vector<std::string> paths;  // what to extract (absolute in the image); empty: everything
  bool owners = false;             // apply the image's owners (only root can)
};

struct ExtractReport {
  uint64_t files = 0, dirs = 0, symlinks = 0;
  std::vector<std::string> skipped;  // device nodes, fifos and sockets: "PATH (what)"
};

/// Copies the tree (or `o.paths` with their parents) into the directory `dest` (created when
/// missing): contents, modes, symlinks (created, never followed), times, and owners with
/// `o.owners`. Every entry is made with *at() calls relative to its parent's descriptor and
/// O_NOFOLLOW, so nothing is written outside `dest`; an existing entry is an error.
Result<ExtractReport> Extract(const Reader& reader, const std::string& dest,
                              const ExtractOptions& o);

}  // namespace imager::formats::iso
