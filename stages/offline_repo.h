// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The installer's offline package repository: the lock's `offline` packages laid out as a
/// Debian archive (dists/ + pool/) that apt in the installed system reads from the installation
/// medium without network, checked with the distribution's own signature: the mirror's signed
/// InRelease and Packages indexes that the lock was solved against are shipped verbatim, and each
/// package sits at its archive Filename under pool/.

#include <string>
#include <vector>

#include "engine/pipeline.h"
#include "profiles/profile.h"
#include "repo/lockfile.h"
#include "stages/build.h"

namespace imager::stages {

/// One suite of the offline repository, as a sources.list line names it.
struct OfflineSource {
  std::string suite;                    // e.g. "bookworm"
  std::vector<std::string> components;  // e.g. {"main"}
};

/// The suites and components the offline repository holds (the profile's deb repositories, in
/// order), for the installed system's apt sources and the installer's configuration.
std::vector<OfflineSource> OfflineSources(const profiles::Profile& profile);

/// The apt sources.list lines that read the offline repository rooted at `root` (a directory of
/// the installed or live system, e.g. "/run/imager/medium"):
/// "deb [lang=none] file:ROOT SUITE COMPONENTS". lang=none: the InRelease lists translations that
/// the tree does not carry, and apt fails on a listed file it asks for and cannot find.
std::string OfflineSourcesList(const profiles::Profile& profile, const std::string& root);

/// True when the profile asks for an offline repository (installer.offline_packages).
bool WantsOfflineRepo(const profiles::Profile& profile);

/// The repository tree under OUT/tree (dists/, pool/), from the lock's repositories and the
/// offline packages (paths in the package cache, hard-linked when possible). Exposed for tests;
/// OfflineRepoStage runs it.
Status WriteOfflineRepo(const profiles::Profile& profile, const std::string& cache_dir,
                        const PackageFiles& offline, const std::string& out);

/// Stage "offline-repo" (an artifact): `tree/` is the repository, to be placed at the root of the
/// medium. Its key: the offline packages' sha256s and the signed Release files' sha256s. Debian
/// only: for rpm-md repositories the stage fails ("not implemented yet").
Stage OfflineRepoStage(const profiles::Profile& profile, const std::string& cache_dir,
                       const PackageFiles& offline);

/// An RPM medium's offline repository under OUT/tree: the package files (checked against the
/// lock's sha256) in Packages/, repodata/ (primary, filelists, other, repomd.xml) written with
/// libcreaterepo_c, every date `source_date_epoch`: the same packages give the same bytes.
/// repomd.xml is unsigned; the packages carry their distribution's signatures.
Status WriteRpmOfflineRepo(const PackageFiles& offline, int64_t source_date_epoch,
                           const std::string& out);

/// Stage "offline-repo" of the RPM family (WriteRpmOfflineRepo).
Stage RpmOfflineRepoStage(const profiles::Profile& profile, const std::string& cache_dir,
                          const PackageFiles& offline);

}  // namespace imager::stages
