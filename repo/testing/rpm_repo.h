// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Test fixtures for rpm-md repositories, generated at test time with rpmbuild. Header-only, as
/// deb_repo.h (whose Sh and Q it uses).

#include <filesystem>
#include <string>

#include "base/fd.h"
#include "repo/testing/deb_repo.h"

namespace imager::repo::test {

/// Builds a noarch rpm NAME-1.0-1 (requiring REQUIRES when set, holding FILE when set) with
/// rpmbuild in TOP (made if missing) and copies it to ROOT/Packages/.
inline bool BuildRpm(const std::string& top, const std::string& root, const std::string& name,
                     const std::string& requires_, const std::string& file = "") {
  std::error_code ec;
  std::filesystem::create_directories(top, ec);
  std::string spec = top + "/" + name + ".spec";
  std::string text = "Name: " + name + "\nVersion: 1.0\nRelease: 1\nSummary: fixture " + name +
                     "\nLicense: GPL-3.0-or-later\nBuildArch: noarch\n" +
                     (requires_.empty() ? "" : "Requires: " + requires_ + "\n") +
                     "%description\nfixture package " + name + "\n";
  if (!file.empty())
    text +=
        "%install\nmkdir -p %{buildroot}$(dirname " + file + ")\ntouch %{buildroot}" + file + "\n";
  text += "%files\n" + file + "\n";
  if (!WriteFile(spec, text)) return false;
  if (Sh("rpmbuild -bb --quiet --define " + Q("_topdir " + top) + " " + Q(spec) +
         " >/dev/null 2>&1") != 0)
    return false;
  std::filesystem::create_directories(root + "/Packages", ec);
  std::filesystem::copy_file(top + "/RPMS/noarch/" + name + "-1.0-1.noarch.rpm",
                             root + "/Packages/" + name + "-1.0-1.noarch.rpm",
                             std::filesystem::copy_options::overwrite_existing, ec);
  return !ec;
}

}  // namespace imager::repo::test
