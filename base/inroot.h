// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Editing an image tree from outside it, as if it were "/": every path is resolved with
/// openat2(RESOLVE_IN_ROOT), so a symlink in the image (absolute or with "..") stays inside the
/// image; the last component is never followed when it is replaced. Used by the stages that
/// apply a profile's users, files and settings to a layer.

#include <sys/stat.h>
#include <sys/types.h>

#include <optional>
#include <string>

#include "base/fd.h"
#include "base/owner_record.h"
#include "base/result.h"

namespace imager {

/// A file of an image tree: its lstat and its recorded owner (base/owner_record.h), which only
/// regular files and directories can have.
struct InRootFile {
  struct stat st {};
  std::optional<RecordedOwner> record;
};

/// An image tree open for editing.
class InRoot {
 public:
  static Result<InRoot> Open(const std::string& root);

  /// The directory `path` (absolute in the image), created with its missing parents (mode 0755,
  /// owned by the caller) when `create`.
  Result<UniqueFd> Dir(const std::string& path, bool create) const;
  /// Whether `path` exists in the image (symlinks inside it followed, within the image).
  bool Exists(const std::string& path) const;
  /// Takes the set-uid bit (`setuid`) and the set-gid bit (`setgid`) off the regular file at
  /// `path` (its last component not followed). Returns the bits it took (0: none were set, or
  /// `path` is missing or not a regular file).
  Result<mode_t> ClearSetIds(const std::string& path, bool setuid, bool setgid) const;
  /// The file at `path` (its last component not followed); nullopt when the image has none.
  Result<std::optional<InRootFile>> Lstat(const std::string& path) const;
  /// Records `owner` on the regular file or directory at `path` (its last component not
  /// followed) and sets its permission bits to `mode`; nullopt removes a record (the mode is
  /// then left alone).
  Status RecordOwner(const std::string& path, const std::optional<RecordedOwner>& owner,
                     mode_t mode) const;
  /// A symlink at `path` (replacing a file or symlink there).
  Status Symlink(const std::string& path, const std::string& target) const;

  const std::string& root() const { return root_; }
  int fd() const { return fd_.get(); }

 private:
  std::string root_;
  UniqueFd fd_;
};

struct CopyOptions {
  bool chown = false;  // give every copied entry to uid:gid (else the copier's ids)
  uid_t uid = 0;
  gid_t gid = 0;
  /// Refuse symlinks in the source that are absolute or climb out of it with "..": what they
  /// name on the build host is not what they would name in the image.
  bool confined_symlinks = false;
};

/// Copies the contents of the directory `src_dir` into `dst_dir` (both open directories):
/// files, directories (merged with existing ones), symlinks (never followed), fifos; modes and
/// mtimes kept. An existing non-directory at a destination name is replaced. `shown` names the
/// source in errors.
Status CopyTree(int src_dir, int dst_dir, const std::string& shown, const CopyOptions& options);

/// Copies one regular file (or symlink) `name` of `src_dir` to `dst_name` in `dst_dir`.
Status CopyEntry(int src_dir, const std::string& name, int dst_dir, const std::string& dst_name,
                 const std::string& shown, const CopyOptions& options, int depth = 0);

}  // namespace imager
