// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Initramfs images: Write() turns a list of entries (host files, inline content, directories,
/// symlinks) into a compressed newc cpio that the kernel unpacks at boot; the same list always
/// gives the same bytes (sorted entries, owners 0:0, one mtime, sequential inode numbers).

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace imager::formats::initramfs {

/// Mode value that asks for the kind's default: 0755 for directories, 0777 for symlinks, and for
/// files 0755 when the source file is executable by its owner, else 0644.
inline constexpr uint32_t kDefaultMode = 0xffffffffu;

struct Entry {
  enum Kind { kFile, kDir, kSymlink };

  std::string path;  // in the archive, e.g. "lib/modules/6.1.0/kernel/fs/isofs/isofs.ko"
  Kind kind = kFile;
  std::string source;   // kFile: host file copied as it is (empty: use `content`); kSymlink: target
  std::string content;  // kFile with no source: the file's bytes
  uint32_t mode = kDefaultMode;  // permission bits (07777), or kDefaultMode
};

enum class Compression { kNone, kGzip, kXz, kZstd };

/// The compressor's default level for Write() (level = -1): 9 for zstd (see initramfs.cc for
/// the measurement behind it), 9 for gzip, 6 for xz.
int DefaultLevel(Compression c);

/// "none", "gzip", "xz", "zstd" and back; an unknown name is an error listing the known ones.
const char* CompressionName(Compression c);
Result<Compression> ParseCompression(const std::string& name);

struct WriteOptions {
  std::string output;  // written to OUTPUT.part, then renamed to OUTPUT
  Compression compression = Compression::kZstd;
  int level = -1;                 // -1: DefaultLevel(compression)
  int64_t source_date_epoch = 0;  // the mtime of every entry; must be >= 0
};

struct WriteResult {
  uint64_t entries = 0;       // archive members, the added parent directories included
  uint64_t bytes = 0;         // file content bytes before compression
  uint64_t output_bytes = 0;  // size of the written file
};

/// Writes the entries as a newc cpio, each missing parent directory added (0755) before its
/// children, sorted bytewise by path. Paths may start with "/" or "./" (dropped); "..", empty
/// components and duplicate paths are errors naming the path, as is a missing or non-regular
/// source file. Nothing is left at OUTPUT or OUTPUT.part on failure.
Result<WriteResult> Write(const std::vector<Entry>& entries, const WriteOptions& options);

}  // namespace imager::formats::initramfs
