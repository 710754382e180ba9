// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The installer seam: what an installer image's installer is made of, one row per installer
/// (installers.cc). Every installer has the same shape: packages for the live session (a layer
/// above the target that only the live system sees), packages the target needs, generated files
/// (its configuration and the live session that starts it), and a check run at build time in
/// the sandbox on the live session's layers before the ISO is written. The installer stages
/// (stages/installer_stages.cc) use only this; adding an installer is one module and one row.

#include <string>
#include <vector>

#include "base/result.h"
#include "installer/calamares.h"
#include "profiles/profile.h"

namespace imager::installer {

/// Where the live system finds the medium and what it holds (the booter decides these).
using InstallerPaths = CalamaresPaths;

struct Installer {
  profiles::InstallerType type;
  const char* name;  // the profile's installer.type
  /// The distribution families it is implemented for.
  std::vector<profiles::Family> families;
  /// The live session's packages: the installer, its graphical session, what its modules run
  /// in the live system, and installer.packages; sorted.
  std::vector<std::string> (*live_packages)(const profiles::Profile&);
  /// Its configuration and the live session's files, sorted by path.
  Result<std::vector<GeneratedFile>> (*files)(const profiles::Profile&, const InstallerPaths&);
  /// The commands its modules run in the live system; the check fails when one is missing.
  std::vector<LiveTool> (*live_tools)(const profiles::Profile&);
  /// The check: a command for the live session's sandbox that writes a log to `log_copy`
  /// (a path inside the sandbox), and the judgement of that log.
  std::vector<std::string> (*check_argv)(int timeout_seconds, const std::string& log_copy,
                                         const std::vector<LiveTool>& tools);
  Status (*check_log)(const std::string& log);
};

/// Every installer that is implemented.
const std::vector<Installer>& Installers();
/// The installer of `type`, or nullptr (none, or one that is not implemented).
const Installer* Find(profiles::InstallerType type);
/// The profile's installer when it is implemented for the profile's family, else nullptr.
const Installer* For(const profiles::Profile& profile);

/// The live session's packages of the profile's installer (empty without one).
std::vector<std::string> LivePackages(const profiles::Profile& profile);

}  // namespace imager::installer
