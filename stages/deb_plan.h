// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// How a Debian package set is installed without apt: which packages are unpacked first so that
/// dpkg and a shell exist in the image (the Essential: yes packages and what they depend on), and
/// how the rest is split into dpkg runs so that every Pre-Depends is configured before the
/// package that needs it is unpacked.

#include <string>
#include <vector>

#include "formats/deb.h"

namespace imager::stages {

/// What the planner needs from one package's control fields.
struct DebInfo {
  std::string name;
  bool essential = false;
  std::vector<std::vector<std::string>> depends;      // Depends, alternatives per clause
  std::vector<std::vector<std::string>> pre_depends;  // Pre-Depends
  std::vector<std::string> provides;

  static DebInfo FromControl(const formats::deb::Fields& control);
};

struct DebPlan {
  /// Unpacked by imager, then installed by one `dpkg --install --force-depends` (indexes into
  /// the package list, in its order).
  std::vector<size_t> essential;
  /// The other packages in install order, one `dpkg --install` run per batch.
  std::vector<std::vector<size_t>> batches;
};

/// Which packages are in the closure (over Depends and Pre-Depends, first alternative present,
/// then Provides) of the packages named in `roots`, plus of every Essential: yes package when
/// `with_essential`; one flag per package.
std::vector<bool> DebClosure(const std::vector<DebInfo>& packages,
                             const std::vector<std::string>& roots, bool with_essential);

/// Plans the installation of `packages` (in the solver's install order): the essential set is
/// the closure of the Essential: yes packages over Depends and Pre-Depends, choosing the first
/// alternative that is in the set (by name, then by Provides); a new batch starts whenever a
/// package pre-depends on a package of the batch being filled.
DebPlan PlanDebInstall(const std::vector<DebInfo>& packages);

}  // namespace imager::stages
