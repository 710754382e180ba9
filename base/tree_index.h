// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// TreeIndex describes a directory tree so that a later change to it can be found: for every
/// entry its path, type and mode, owner, size, mtime, and a hash of what it holds (a file's
/// bytes, a symlink's target, a device's number, each with the entry's extended attributes).
/// The digest covers all of that; it is what the cache records for an entry when it commits it
/// and checks before the entry is used.
///
/// Hashing every byte on each use would cost seconds per build, so each entry also keeps a
/// fingerprint (inode, ctime) as git's index does: Index() given the previous index reuses the
/// hash of an entry whose fingerprint, size and mtime have not moved. Nothing can set a ctime
/// back (writing, chmod, chown and utimensat all move it), so an unchanged fingerprint means
/// unchanged bytes; an entry whose fingerprint moved (a copied cache, a hard link taken) is
/// hashed again, and only a different hash is a change.

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace imager {

struct TreeEntry {
  std::string path;   // relative to the tree's root; "." is the root itself
  uint32_t mode = 0;  // st_mode: type and permission bits
  uint32_t uid = 0, gid = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::string hash;  // SHA-256 hex of the content (see above)
  // Fingerprint: not part of the digest.
  uint64_t ino = 0;
  int64_t ctime_ns = 0;
};

struct TreeIndex {
  std::vector<TreeEntry> entries;  // sorted by path, bytewise, parents before children

  /// SHA-256 hex over every entry's path, mode, owner, size, mtime and hash.
  std::string Digest() const;
  /// Bytes of everything but directories, hard links (one inode) counted once: the apparent
  /// size the cache records, without a second walk of the tree.
  uint64_t ApparentSize() const;
  /// The text form: a line per entry, fields separated by spaces, the path last with '\\',
  /// newline and carriage-return escaped.
  std::string Serialize() const;
  static Result<TreeIndex> Parse(const std::string& text);
};

/// Indexes the tree at `root` (not following symlinks, not crossing into other filesystems'
/// contents beyond what lstat shows). With `previous`, entries whose fingerprint, size and mtime
/// match reuse its hash instead of being read. Fails with EACCES's message (see
/// IsPermissionError) when a file or directory cannot be read.
Result<TreeIndex> IndexTree(const std::string& root, const TreeIndex* previous = nullptr);

/// True when an IndexTree error came from a permission denied: the tree holds entries only its
/// owners (subordinate ids) can read, and must be indexed from inside the id mapping.
bool IsPermissionError(const std::string& error);

/// How `now` differs from `before`, in words ("usr/bin/ls: content changed", "etc/x: file missing",
/// "2 changes: etc: modification time changed; etc/x: file added"); empty when the digests agree.
std::string DescribeChange(const TreeIndex& before, const TreeIndex& now);

}  // namespace imager
