// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The image's account databases (/etc/passwd, group, shadow, gshadow) as text, and the profile's
/// users and root password applied to them, the way useradd would but without running anything
/// from the image: new users get the next free uid from 1000 and a personal group, plain
/// passwords are hashed with yescrypt (salt derived from the input, so rebuilds are identical).

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "profiles/profile.h"

namespace imager::inside {

struct AccountFiles {
  std::string passwd, group, shadow, gshadow;
};

/// A home directory the caller must create: copy /etc/skel into it, owned by uid:gid.
struct NewHome {
  std::string path;
  uint32_t uid = 0, gid = 0;
};

/// crypt(3) hash of a plain-text password: yescrypt with a salt made from `seed` and the text.
Result<std::string> HashPassword(const std::string& plain, const std::string& seed);

/// Adds the users (uid, personal group, supplementary groups, shell, password) and sets root's
/// password. `days` is the shadow "last change" day (days since 1970). Every problem (a group
/// that does not exist, a uid taken, an existing user) is an error naming the user.
Result<std::vector<NewHome>> ApplyAccounts(AccountFiles* files,
                                           const std::vector<profiles::User>& users,
                                           const profiles::Password& root_password, int64_t days);

}  // namespace imager::inside
