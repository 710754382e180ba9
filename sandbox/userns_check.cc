// SPDX-License-Identifier: GPL-3.0-or-later
#include "sandbox/userns_check.h"

#include <sys/stat.h>

#include "base/fd.h"
#include "base/strings.h"

namespace imager::sandbox {
namespace {

// The value of a sysctl file, or "" when it does not exist (the kernel lacks the setting).
std::string Read(const std::string& path) {
  auto t = ReadFile(path);
  return t ? std::string(Trim(*t)) : "";
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// TEXT with its newlines as printf's "\n", for a one-line shell command.
std::string PrintfEscaped(const std::string& text) {
  std::string out;
  for (char ch : text) out += ch == '\n' ? std::string("\\n") : std::string(1, ch);
  return out;
}

}  // namespace

std::string AppArmorProfileName(const std::string& exe) {
  return exe == "/usr/bin/imager" ? "imager" : "imager-local";
}

std::string AppArmorProfileFor(const std::string& exe) {
  std::string name = AppArmorProfileName(exe);
  return "abi <abi/4.0>,\n"
         "include <tunables/global>\n"
         "\n"
         "profile " +
         name + " " + exe +
         " flags=(unconfined) {\n"
         "  userns,\n"
         "  include if exists <local/" +
         name +
         ">\n"
         "}\n";
}

std::vector<UsernsRestriction> FindUsernsRestrictions(const UsernsHost& host) {
  std::vector<UsernsRestriction> found;
  if (Read(host.proc_sys + "/kernel/apparmor_restrict_unprivileged_userns") == "1") {
    std::string file = "/etc/apparmor.d/" + AppArmorProfileName(host.exe);
    found.push_back(
        {"AppArmor restricts unprivileged user namespaces "
         "(kernel.apparmor_restrict_unprivileged_userns=1, as on Ubuntu 23.10 and later): "
         "programs without an AppArmor profile that allows 'userns' get namespaces without "
         "capabilities",
         "as root, allow them for " + host.exe + " only: printf '" +
             PrintfEscaped(AppArmorProfileFor(host.exe)) + "' > " + file +
             " && apparmor_parser -r " + file +
             " (the Debian package installs this profile for /usr/bin/imager); or for every "
             "program: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0"});
  }
  if (Read(host.proc_sys + "/kernel/unprivileged_userns_clone") == "0")
    found.push_back(
        {"unprivileged user namespaces are disabled "
         "(kernel.unprivileged_userns_clone=0)",
         "as root: sysctl -w kernel.unprivileged_userns_clone=1 (and "
         "kernel.unprivileged_userns_clone = 1 in /etc/sysctl.d/imager.conf to keep "
         "it)"});
  if (Read(host.proc_sys + "/user/max_user_namespaces") == "0")
    found.push_back({"no user namespaces may be created (user.max_user_namespaces=0)",
                     "as root: sysctl -w user.max_user_namespaces=15000 (and "
                     "user.max_user_namespaces = 15000 in /etc/sysctl.d/imager.conf to keep it)"});
  if (Read(host.selinuxfs + "/enforce") == "1" && Exists(host.selinuxfs + "/class/user_namespace"))
    found.push_back(
        {"SELinux is enforcing a policy that controls user namespace creation "
         "(class user_namespace): a denial is logged as an AVC",
         "as root: ausearch -m AVC -ts recent | grep user_namespace shows the denial; "
         "ausearch -m AVC -ts recent | audit2allow -M imager-userns && semodule -i "
         "imager-userns.pp allows it"});
  return found;
}

UsernsVerdict JudgeUserns(bool probe_ok, const std::vector<UsernsRestriction>& found) {
  UsernsVerdict v;
  if (probe_ok) {
    v.ok = true;
    v.detail = "unprivileged user namespaces work";
    // An enforcing SELinux policy is no restriction when the probe works; AppArmor's is, but
    // a profile allows imager.
    for (const auto& r : found)
      if (r.what.starts_with("AppArmor"))
        v.detail += " (AppArmor restricts them, but allows this imager)";
    return v;
  }
  v.detail = "cannot create a user namespace";
  std::vector<std::string> whats, fixes;
  for (const auto& r : found) {
    whats.push_back(r.what);
    fixes.push_back(r.fix);
  }
  if (found.empty()) {
    fixes.push_back(
        "allow unprivileged user namespaces (in a container: run it with "
        "--security-opt seccomp=unconfined or a profile allowing unshare/clone)");
  } else {
    v.detail += ": " + Join(whats, "; ");
  }
  v.hint = Join(fixes, "; ");
  return v;
}

}  // namespace imager::sandbox
