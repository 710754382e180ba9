// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Why a host refuses unprivileged user namespaces, from the settings that can: Ubuntu's
/// AppArmor restriction (kernel.apparmor_restrict_unprivileged_userns), Debian's old
/// kernel.unprivileged_userns_clone, user.max_user_namespaces and an enforcing SELinux policy
/// with the user_namespace class. Every path is a field, so tests point them at fixtures.

#include <string>
#include <vector>

namespace imager::sandbox {

struct UsernsHost {
  std::string proc_sys = "/proc/sys";
  std::string selinuxfs = "/sys/fs/selinux";
  std::string exe = "/usr/bin/imager";  // the executable an AppArmor profile must name
};

/// One setting that restricts user namespaces: what it is and the exact fix.
struct UsernsRestriction {
  std::string what;
  std::string fix;
};

/// Every restricting setting found on HOST (none: the host does not restrict them).
std::vector<UsernsRestriction> FindUsernsRestrictions(const UsernsHost& host);

/// The AppArmor profile that lets EXE create user namespaces, in the form Ubuntu ships for such
/// programs (`flags=(unconfined)` plus the `userns` rule); dist/apparmor/imager for
/// /usr/bin/imager.
std::string AppArmorProfileFor(const std::string& exe);

/// "imager" for /usr/bin/imager (the package's profile), "imager-local" for any other path.
std::string AppArmorProfileName(const std::string& exe);

/// The check's verdict: probe_ok says whether creating a user namespace with a mount namespace
/// worked. Restrictions found while the probe works are reported as allowed for imager.
struct UsernsVerdict {
  bool ok = false;
  std::string detail;
  std::string hint;
};
UsernsVerdict JudgeUserns(bool probe_ok, const std::vector<UsernsRestriction>& found);

}  // namespace imager::sandbox
