// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The stages that apply the profile's `rootfs:` section, one layer each, so that changing one
/// setting rebuilds only its layer and those above it: config (hostname, locale, timezone),
/// users, files, services, scripts.

#include <string>
#include <vector>

#include "profiles/profile.h"
#include "stages/stage.h"

namespace imager::stages {

Stage ConfigStage(const profiles::Profile& p, std::vector<std::string> parents);
/// Only when the profile has users or a root password.
Stage UsersStage(const profiles::Profile& p, int64_t source_date_epoch,
                 std::vector<std::string> parents);
/// Only when the profile has files.
Stage FilesStage(const profiles::Profile& p, std::vector<std::string> parents);
/// Only when the profile enables or disables services.
Stage ServicesStage(const profiles::Profile& p, std::vector<std::string> parents);
/// Only when the profile has scripts.
Stage ScriptsStage(const profiles::Profile& p, std::vector<std::string> parents);

}  // namespace imager::stages
