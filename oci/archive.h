// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// An OCI image layout as one tar file (an "oci-archive", as skopeo and podman read it):
/// oci-layout, index.json and blobs/ at the top, names sorted, owner root, fixed modes and
/// times, so the same layout always gives the same bytes.

#include <cstdint>
#include <string>

#include "base/result.h"

namespace imager::oci {

/// Writes the layout directory `layout` as the uncompressed tar `out`; every entry's mtime is
/// `mtime` (seconds since the epoch). Only directories and regular files are allowed.
Status WriteArchive(const std::string& layout, const std::string& out, int64_t mtime);

}  // namespace imager::oci
