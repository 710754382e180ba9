// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The image's own rpm and the package database librpm wrote into it. The host's librpm installs
/// the packages, but the installed system queries and updates its database with its own rpm,
/// whose configuration can differ from the host's: Fedora's rpm looks in /usr/lib/sysimage/rpm,
/// openEuler's and RHEL's in /var/lib/rpm, Debian's rpm in ~/.rpmdb. After the transaction the
/// image's /usr/bin/rpm is asked, chrooted into the image, where it looks (%_dbpath) and in
/// which format (%_db_backend); the database is moved there, and that rpm must then list every
/// installed package. Runs inside the rpm-install sandbox (CAP_SYS_CHROOT, no network).

#include <string>
#include <vector>

#include "base/result.h"

namespace imager::inside {

struct ImageRpmDatabase {
  bool has_rpm = false;    // false: the image has no /usr/bin/rpm; nothing was asked or moved
  std::string version;     // "RPM version 4.18.0", as the image's rpm --version says
  std::string dbpath;      // where the database is now
  std::string moved_from;  // where librpm wrote it, when it was moved ("" when not)
  size_t packages = 0;     // how many the image's rpm -qa lists
};

/// `written` is where librpm wrote the sqlite database (absolute inside `root`); `installed`
/// the NEVRAs of the transaction. Errors: the image's rpm names a backend other than sqlite, or
/// a %_dbpath that is not an absolute path, or it fails or lists other packages than
/// `installed`; each names the image's rpm, what it said and what to do.
Result<ImageRpmDatabase> AdoptImageRpmDatabase(const std::string& root, const std::string& written,
                                               const std::vector<std::string>& installed);

}  // namespace imager::inside
