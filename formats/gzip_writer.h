// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// gzip on every core: the input is cut into pieces of a fixed size, each piece is compressed by
/// a worker thread with libdeflate into a gzip member of its own, and the members are written in
/// order. A file of several members is one gzip file (RFC 1952, 2.2): gzip -d, zcat, tar -z,
/// libarchive, Python's and Go's readers read it whole. The bytes depend on the input, the level
/// and the piece size only, never on the number of threads or their timing. libdeflate is also
/// 2-3 times faster than zlib at the same level; a member starts with an empty dictionary, which
/// costs about 0.1% of size at the default 4 MiB pieces.

#include <cstddef>
#include <memory>

#include "base/result.h"

namespace imager::formats {

class GzipWriter {
 public:
  struct Options {
    int level = 6;            // libdeflate's 1..12; 6 is gzip's default
    size_t piece = 4u << 20;  // input bytes per member
    unsigned threads = 0;     // 0: one per processor
  };

  /// Writes to `fd` (not owned; left open).
  GzipWriter(int fd, const Options& options);
  ~GzipWriter();
  GzipWriter(const GzipWriter&) = delete;
  GzipWriter& operator=(const GzipWriter&) = delete;

  Status Write(const void* data, size_t size);
  /// Compresses and writes what is left and stops the workers. An empty input still gives one
  /// (empty) member: a valid gzip file.
  Status Finish();

 private:
  struct Shared;
  std::unique_ptr<Shared> s_;
};

}  // namespace imager::formats
