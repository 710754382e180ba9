// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// ext4 root filesystems written from a directory without mounting: e2fsprogs' `mke2fs -d`
/// (run as a child, inside the id mapping, so owners are the image's), then with `debugfs`
/// every inode's change and access time set to SOURCE_DATE_EPOCH and modification times after
/// it clamped to it (mke2fs copies them from the source tree, where they are the build's), and
/// recorded owners (base/owner_record.h) applied in place of the ones mke2fs took. With a
/// fixed UUID, hash seed and E2FSPROGS_FAKE_TIME for the filesystem's own times, the same tree
/// gives the same bytes.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/owner_record.h"
#include "base/result.h"

namespace imager::formats::ext4 {

struct WriteOptions {
  std::string root;    // the directory that becomes the filesystem's root
  std::string output;  // the image file
  uint64_t size = 0;   // bytes; 0: from the content (ContentSize)
  std::string uuid, hash_seed, label;
  int64_t source_date_epoch = 0;
};

struct WriteStats {
  uint64_t bytes = 0;          // the image's size
  uint64_t content_bytes = 0;  // what the tree's files take in 4 KiB blocks
  uint64_t inodes = 0;         // entries in the tree
};

/// Blocks and entries of a tree, and the filesystem size that holds it with room to spare.
struct Content {
  uint64_t bytes = 0, inodes = 0;
  /// Paths (from the root, "/etc/x") modified after `newer_than` (Measure's argument).
  std::vector<std::string> newer;
  /// Regular files and directories with a recorded owner (base/owner_record.h), one path per
  /// inode, and that owner.
  std::vector<std::pair<std::string, RecordedOwner>> recorded;
  uint64_t FilesystemSize() const;
};
Result<Content> Measure(const std::string& root, int64_t newer_than);

Result<WriteStats> Write(const WriteOptions& o);

/// The in-use inodes (from `first` on) of an ext4 image, read from its inode bitmaps.
Result<std::vector<uint32_t>> UsedInodes(const std::string& image, uint32_t first);

}  // namespace imager::formats::ext4
