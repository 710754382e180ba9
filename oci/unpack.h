// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Applies the layers of a verified OCI image (layout.h) to a directory, bottom first, with the
/// spec's whiteouts: ".wh.NAME" removes NAME and ".wh..wh..opq" empties its directory, both only
/// of what lower layers left. Runs inside the sandbox's id mapping so owners are the image's; an
/// owner the mapping cannot hold (single-id mode) is recorded on regular files and directories
/// (base/owner_record.h) and their set-id bits kept.

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "oci/layout.h"

namespace imager::oci {

struct UnpackReport {
  uint64_t entries = 0;                      // entries written
  uint64_t whiteouts = 0;                    // whiteout and opaque markers applied
  uint64_t recorded_owners = 0;              // owners recorded, not set (base/owner_record.h)
  std::vector<std::string> skipped_devices;  // device nodes that cannot be created rootless
};

/// Applies one layer (a tar, compressed or not) at `layer_file` to `dest`; `origin` names it in
/// errors. No entry or whiteout may reach outside `dest`.
Result<UnpackReport> ApplyLayer(const std::string& layer_file, const std::string& origin,
                                const std::string& dest);

/// Applies every layer of `image` to `dest`, bottom first.
Result<UnpackReport> Unpack(const Image& image, const std::string& dest);

}  // namespace imager::oci
