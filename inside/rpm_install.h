// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Installs rpm package files into a root directory with one librpm transaction: dependencies
/// checked, packages ordered by rpm, scriptlets run chrooted into the root by rpm. Meant to run
/// inside a sandbox (`imager internal rpm-install`) that grants CAP_SYS_CHROOT and has no network.

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/result.h"
#include "inside/rpm_image_db.h"

namespace imager::inside {

struct RpmInstallOptions {
  std::string root;                     // absolute directory that becomes the image's "/"
  std::vector<std::string> packages;    // rpm files, already verified against signed metadata
  std::string dbpath = "/var/lib/rpm";  // inside root, when the image has no rpm to ask
  int log_fd = 2;                       // progress and every scriptlet's output
};

/// A file its package gives to a user or group other than root that ended up owned by root.
struct RpmLostOwner {
  std::string path;  // inside root
  std::string want;  // "user:group (uid:gid)"
  std::string have;  // "uid:gid"
  /// The set-id bits taken off because their owner was lost (they would grant root's id).
  mode_t cleared = 0;
};

struct RpmInstallReport {
  std::vector<std::string> installed;  // NEVRAs in the order rpm installed them
  std::vector<RpmLostOwner> lost;      // expected in single-id mode, where chown is a no-op
  std::string dbpath;                  // where the database is (the image's rpm reads it there)
  std::string moved_from;              // where librpm wrote it, when it was moved afterwards
  std::string image_rpm;               // the image's rpm --version; "" when it has no rpm
  size_t packages = 0;                 // in the database
};

/// Runs the transaction on the database where the image's own rpm reads it (inside/rpm_image_db.h:
/// asked before the transaction when the image has rpm, else after, and moved there), and has
/// that rpm list every package. Errors name the package: unresolved dependencies and conflicts
/// (before anything is written), a failing scriptlet with the scriptlet's output.
Result<RpmInstallReport> RpmInstall(const RpmInstallOptions& options);

/// A package file whose repository signs its packages (gpgcheck), and the keys it must be
/// signed with.
struct RpmSignedFile {
  std::string path;     // the file to check (in the package cache)
  std::string name;     // how errors name it: the repository's file name, "foo-1.0-1.noarch.rpm"
  std::string keyring;  // OpenPGP public keys, binary (.gpg) or ASCII-armored (.asc)
};

/// Checks each file with librpm's own package verification (rpmVerifySignatures, as `rpmkeys
/// --checksig` with %_pkgverify_level all) against its keyring alone, before anything is
/// installed: an OpenPGP signature by one of the keys is required, and it and the header and
/// payload digests must match. An unsigned file, one signed by another key, and one altered
/// after signing are refused; the error lists each with the key ID it was signed with, the
/// keyring's fingerprints and rpm's verdict on every signature and digest.
Status RpmVerifySignatures(const std::vector<RpmSignedFile>& files);

/// "name:x:id:..." lines of a passwd or group file → name → id.
std::vector<std::pair<std::string, unsigned>> ParseIdFile(const std::string& text);

}  // namespace imager::inside
