// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The build's OCI stages: a base layer unpacked from an OCI image layout (base: {oci:
/// PATH[:TAG]}) and the `oci` output, an image layout directory NAME.oci with the image as one
/// squashed layer or one layer per pipeline layer (output.oci), gzip'd or zstd'd; and
/// publishing that directory to the output directory.

#include <string>
#include <vector>

#include "base/result.h"
#include "engine/pipeline.h"
#include "profiles/profile.h"
#include "stages/build.h"

namespace imager::stages {

/// The name of the output stage and of the directory it writes: PROFILE.oci.
inline constexpr char kOciStage[] = "oci";
std::string OciDirName(const profiles::Profile& p);
/// The `oci-archive` output, the same layout as one tar file, written by the same stage.
std::string OciArchiveName(const profiles::Profile& p);

/// The `base` layer from the profile's OCI layout; its key is the tagged manifest's digest, read
/// from index.json now (an error names the layout). The stage verifies every blob.
Result<Stage> BaseOciStage(const profiles::Profile& p);

/// The `oci` output stage over `layers`, also writing the layout as an archive when `archive`;
/// fails now when the architecture has no OCI name.
Result<Stage> OciOutputStage(const profiles::Profile& p, int64_t source_date_epoch,
                             std::vector<std::string> layers, bool archive = false);

/// Copies the directory tree `from` to `to` (hard links where the filesystem allows), replacing
/// what is at `to` only once the copy is complete.
Status PublishTree(const std::string& from, const std::string& to);

}  // namespace imager::stages
