// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The image's own rpm and the package database librpm wrote into it. The host's librpm installs
/// the packages, but the installed system queries and updates its database with its own rpm,
/// whose configuration can differ from the host's: Fedora's rpm looks in /usr/lib/sysimage/rpm,
/// openEuler's and RHEL's in /var/lib/rpm, Debian's rpm in ~/.rpmdb. So the image's
/// /usr/bin/rpm is asked, chrooted into the image, where it looks (%_dbpath) and in
/// which format (%_db_backend): before a transaction on an installed system (the database is
/// there), after one that installed rpm itself (the database moves there); that rpm must then
/// list every package in it. Runs inside the rpm-install sandbox (CAP_SYS_CHROOT, no network).

#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace imager::inside {

/// What the image's rpm says of itself.
struct ImageRpm {
  std::string version;  // "RPM version 4.18.0", as its --version says
  std::string dbpath;   // %{_dbpath}: absolute, without a trailing '/'
};

/// Asks the image's /usr/bin/rpm, chrooted into `root`; nullopt when the image has none.
/// Errors: it cannot run, names a backend other than sqlite (imager writes sqlite with librpm),
/// or a %_dbpath that is not an absolute path; each names the image's rpm, what it said and what
/// to do.
Result<std::optional<ImageRpm>> AskImageRpm(const std::string& root);

/// Moves the database librpm wrote at `from` to `to` (both absolute in the image; `to` made
/// with its parents); `from` is removed when that leaves it empty. Nothing to do when a symlink
/// makes them one directory.
Status MoveRpmDatabase(const std::string& root, const std::string& from, const std::string& to);

/// The image's rpm must list exactly `nevras` (the database's packages as librpm reads them,
/// gpg-pubkey entries aside); the error names what one lists and the other does not.
Status CheckImageRpmLists(const std::string& root, const ImageRpm& rpm,
                          std::vector<std::string> nevras);

}  // namespace imager::inside
