// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// SquashFS images of root filesystems (libsquashfs): Write() turns a directory tree into a
/// deterministic image — entries sorted, inodes numbered in a fixed order, times clamped — so
/// the same tree always gives the same bytes. It runs inside the sandbox's id mapping so owners
/// are the image's, not the caller's.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/result.h"

namespace imager::formats::squashfs {

enum class Compressor { kZstd, kXz, kLz4, kGzip };

/// "zstd", "xz", "lz4" or "gzip".
Result<Compressor> ParseCompressor(const std::string& name);
const char* CompressorName(Compressor c);

struct WriteOptions {
  Compressor compressor = Compressor::kZstd;
  int level = 0;                     // 0: the compressor's default; lz4 has no levels
  uint32_t block_size = 128 * 1024;  // a power of two, 4 KiB to 1 MiB
  unsigned threads = 0;              // compression threads; 0: one per core
  int64_t source_date_epoch = -1;    // >= 0: clamp every mtime and the image's time to it
  /// The tree is one overlayfs upper layer (made in a user namespace) that the image will stack
  /// on others: its deletions are kept for the kernel's overlayfs outside any user namespace —
  /// whiteouts as 0:0 character devices (a file marked `user.overlay.whiteout` becomes one),
  /// opaque directories (`user.` or `trusted.overlay.opaque` "y") marked
  /// `trusted.overlay.opaque` "y". Other overlayfs bookkeeping is still left out.
  bool overlay_layer = false;
  // Called from the writing thread as file data is read: bytes read so far, bytes in all.
  std::function<void(uint64_t done, uint64_t total)> progress;
};

struct WriteStats {
  uint64_t entries = 0;      // directory entries, the root included
  uint64_t inodes = 0;       // hard links share one
  uint64_t bytes = 0;        // file content bytes read
  uint64_t image_bytes = 0;  // size of the image, padded to 4 KiB
  // "path: name" of attributes squashfs cannot hold (only user., trusted. and security. fit).
  std::vector<std::string> skipped_xattrs;
};

/// Writes `root` to the image `out` (replaced if it exists): numeric owners and modes as this
/// process sees them (owners recorded on a file instead, base/owner_record.h), xattrs except
/// overlayfs' own and the owner record (security.capability included), hard links,
/// symlinks, device nodes, fifos and sockets. Without a source date epoch the image's time is the
/// newest mtime in the tree, so it too depends only on the tree.
Result<WriteStats> Write(const std::string& root, const std::string& out,
                         const WriteOptions& options);

}  // namespace imager::formats::squashfs
