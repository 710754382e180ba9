// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Layer tars for an OCI image from a build's pipeline layers (overlayfs upper directories,
/// bottom first): one tar per layer, deletions and replaced directories as OCI whiteouts, owners
/// as the caller sees them (run it inside the sandbox's id mapping), the same bytes on rebuild.

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"

namespace imager::oci {

enum class Compression { kGzip, kZstd };

/// "gzip" or "zstd"; an error names the others.
Result<Compression> ParseCompression(const std::string& name);
/// The layer media type (tar+gzip, tar+zstd) and the file suffix (.tar.gz, .tar.zst).
const char* LayerMediaType(Compression c);
const char* LayerSuffix(Compression c);

struct LayerWriteOptions {
  Compression compression = Compression::kGzip;
  int64_t source_date_epoch = -1;  // >= 0: clamp every mtime to it
};

struct LayerFile {
  std::string path;  // OUT_DIR/layer-N.tar.gz (or .tar.zst)
  uint64_t entries = 0;
  uint64_t whiteouts = 0;
};

/// Writes each directory of `layers` as OUT_DIR/layer-N.SUFFIX (N from 0, bottom first). The
/// standard /dev nodes go into the lowest layer that has a /dev directory, as a squashed tar
/// of the merged tree would hold them.
Result<std::vector<LayerFile>> WriteLayers(const std::vector<std::string>& layers,
                                           const std::string& out_dir,
                                           const LayerWriteOptions& options);

}  // namespace imager::oci
