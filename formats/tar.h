// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Tar archives of root filesystems (libarchive): Write() turns a directory tree into a
/// deterministic tarball, Extract() unpacks one into a directory. Both run inside the sandbox's
/// id mapping so owners are the image's, not the caller's.

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

struct archive;  // libarchive

namespace imager::formats::tar {

struct WriteOptions {
  int64_t source_date_epoch = -1;  // >= 0: clamp every mtime to it
  bool dev_nodes = true;           // add the standard /dev nodes (devnodes.h) the tree lacks
  /// The tree is an overlayfs upper directory: its whiteouts (0:0 character devices, or files
  /// marked with the overlay.whiteout xattr) become OCI ".wh.NAME" entries and its opaque
  /// directories (overlay.opaque "y") get a ".wh..wh..opq" entry right after their own.
  bool overlay_whiteouts = false;
  /// The tree exactly as it is on disk, to move a cache entry (stages/remote_cache.h): owners as
  /// stored (no owner record applied), every xattr (overlayfs' and the owner record included),
  /// overlayfs' 0:0 whiteout devices as device entries, no /dev nodes added, times unclamped
  /// (nanoseconds kept). Takes precedence over source_date_epoch, dev_nodes and
  /// overlay_whiteouts.
  bool verbatim = false;
};

struct WriteStats {
  uint64_t entries = 0;
  uint64_t bytes = 0;      // file content bytes
  uint64_t whiteouts = 0;  // ".wh." entries written (overlay_whiteouts)
};

/// Writes `root` (entries "./path", sorted, numeric owners (a file's recorded owner where it has
/// one, base/owner_record.h), modes, xattrs except overlayfs' own and the owner record, hard
/// links, device nodes as headers) to `out`; compression from the name: .tar, .tar.gz, .tar.xz,
/// .tar.zst. A .tar.gz is written by GzipWriter (formats/gzip_writer.h): every core, one gzip
/// member per 4 MiB of tar.
Result<WriteStats> Write(const std::string& root, const std::string& out,
                         const WriteOptions& options);

/// An entry whose archive owner is not root (uid or gid non-zero).
struct OwnedEntry {
  std::string path;  // relative, without "./"
  uint32_t uid = 0, gid = 0;
};

struct ExtractReport {
  uint64_t entries = 0;
  std::vector<std::string> skipped_devices;  // device nodes that cannot be created rootless
  std::vector<OwnedEntry> owned;             // entries owned by someone other than root
};

struct ExtractOptions {
  /// An archive written with WriteOptions::verbatim: its 0:0 character devices are overlayfs
  /// whiteouts and are made (the kernel lets a user namespace make those), and an xattr that
  /// cannot be set is an error, not a warning. Other device nodes are still skipped.
  bool verbatim = false;
};

/// Unpacks `archive` (any compression libarchive reads) into `dest`, keeping owners, modes,
/// times and xattrs; no entry may escape `dest` (.., absolute paths, symlinked parents).
Result<ExtractReport> Extract(const std::string& archive, const std::string& dest,
                              const ExtractOptions& options = {});

/// The same for an archive already open for reading (e.g. a tar inside a .deb); `origin` names
/// it in errors.
Result<ExtractReport> ExtractFrom(::archive* in, const std::string& origin, const std::string& dest,
                                  const ExtractOptions& options = {});

/// The newest modification time among `archive`'s entries (headers only; no data is unpacked),
/// or -1 for an archive without entries. A base tarball's SOURCE_DATE_EPOCH when nothing else
/// dates the build.
Result<int64_t> NewestMtime(const std::string& archive);

}  // namespace imager::formats::tar
