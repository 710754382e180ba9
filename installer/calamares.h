// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The files that turn a live system with Debian's calamares package (3.2.61) into an installer
/// for a profile's target: /etc/calamares (settings, module configurations, branding), the live
/// session that starts Calamares as root in an X session on boot, and the helper that lends the
/// medium's offline package repository to the target while the packages module runs. Generated
/// as data, sorted by path, byte-identical for the same profile.

#include <string>
#include <vector>

#include "base/result.h"
#include "profiles/profile.h"

namespace imager::installer {

/// Where the live system finds the medium and what it holds.
struct CalamaresPaths {
  std::string medium = "/run/imager/medium";  // where the live system has the ISO mounted
  std::string target_image = "/run/imager/medium/live/filesystem.squashfs";  // unpackfs source
  /// Suite of the offline Debian repository at the medium's root (dists/SUITE, pool/); empty: no
  /// offline repository (the packages module and its helpers are left out).
  std::string offline_suite;
  std::string offline_components = "main";
};

/// One file of the installer layer: a regular file with `content` and `mode`, or a symbolic
/// link to `content`.
struct GeneratedFile {
  std::string path;  // absolute, in the live system
  std::string content;
  unsigned mode = 0644;
  bool symlink = false;
};

/// Everything the installer layer needs beyond its packages, sorted by path. Fails when a
/// branding file of the profile cannot be read.
Result<std::vector<GeneratedFile>> CalamaresFiles(const profiles::Profile& profile,
                                                  const CalamaresPaths& paths);

/// The live session's packages (Debian's names): Calamares, an X session for it, what its modules
/// run in the live system, and installer.packages; sorted.
std::vector<std::string> CalamaresLivePackages(const profiles::Profile& profile);

/// Writes `files` into the tree at `root` (parents created 0755, modes applied, symlinks made);
/// an existing file is replaced.
Status WriteFiles(const std::vector<GeneratedFile>& files, const std::string& root);

/// A command the live session must have because a module of the sequence runs it there (not in
/// the target): unpackfs' unsquashfs and rsync, the partition module's sfdisk and mkfs, ...
struct LiveTool {
  std::string module;
  std::string command;
};
std::vector<LiveTool> LiveTools(const profiles::Profile& profile);

/// A command for the installer layer's sandbox (no X, no network) that starts Calamares on Qt's
/// offscreen platform, waits until it has loaded settings, branding and every module of the
/// sequence or has failed (at most `timeout_seconds`), stops it and prints its debug log (or
/// copies it to `log_copy`, a path inside the sandbox). Each of `tools` missing from the PATH
/// adds an "ERROR:" line to the log.
std::vector<std::string> CalamaresCheckArgv(int timeout_seconds = 90,
                                            const std::string& log_copy = "",
                                            const std::vector<LiveTool>& tools = {});

/// Judges the log that CalamaresCheckArgv printed: an error naming every module that failed to
/// load, a fatal branding or settings problem, a module configuration that is not valid YAML or
/// not found, or a start that did not get as far as the main window.
Status CheckCalamaresLog(const std::string& log);

/// The settings.conf sequence the profile asks for (calamares.show / calamares.exec, or the
/// default), with the offline repository's helper instances around `packages` when `offline`.
struct CalamaresSequence {
  std::vector<std::string> show;
  std::vector<std::string> exec;
};
CalamaresSequence SequenceFor(const profiles::Profile& profile, bool offline);

/// The branding component's directory name: the profile's name, lower-cased, [^a-z0-9_-] -> '_'.
std::string BrandingName(const profiles::Profile& profile);

}  // namespace imager::installer
