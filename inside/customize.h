// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The profile's `rootfs:` settings applied to an image tree. These run inside the sandbox's id
/// mapping (as `imager internal ...`, with the image's layers mounted at ROOT), so owners are the
/// image's; nothing from the image is executed.

#include <cstdint>
#include <string>

#include "base/result.h"
#include "profiles/profile.h"

namespace imager::inside {

/// /etc/hostname, the 127.0.1.1 line of /etc/hosts, /etc/timezone + /etc/localtime, and LANG in
/// /etc/default/locale. A timezone the image has no zoneinfo for is an error, but for UTC.
Status ApplySettings(const std::string& root, const std::string& hostname,
                     const std::string& timezone, const std::string& locale);

/// Users, their groups, home directories (from /etc/skel) and root's password, from the JSON
/// written by AccountsJson().
Status ApplyAccountsFile(const std::string& root, const std::string& json_path);
/// The profile's users and root password as JSON for ApplyAccountsFile; `days` is the shadow
/// "last change" day.
std::string AccountsJson(const profiles::Rootfs& rootfs, int64_t days);

/// Copies the host path `from` (a file, or a directory whose contents are merged into `to`) to
/// the absolute image path `to`; entries are owned by the caller (the image's root inside the
/// sandbox), modes kept. Symlinks are copied as
/// they are and must stay inside the copied tree.
Status CopyIntoImage(const std::string& root, const std::string& from, const std::string& to);

}  // namespace imager::inside
