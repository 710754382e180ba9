// SPDX-License-Identifier: GPL-3.0-or-later
// The RPM package stage: `imager internal rpm-install` (stages/rpm_install.h) in a tools sandbox,
// with the layer being built at /target and the package files read-only under /pkgs.
#include <sys/stat.h>

#include <cerrno>

#include <rpm/rpmlib.h>

#include "sandbox/tools.h"
#include "stages/rootfs.h"
#include "stages/stage_util.h"

namespace imager::stages {

namespace {

struct RpmPackagesOptions {
  PackageSet files;
  /// What else decides the tree: the installer (its version orders packages and writes the
  /// rpmdb) and where the rpmdb goes.
  std::string installer = std::string("librpm ") + RPMVERSION;
  std::string dbpath = "/var/lib/rpm";
  static constexpr auto kFields =
      std::tuple{Field("package", &RpmPackagesOptions::files, &KeyPackages),
                 Field("installer", &RpmPackagesOptions::installer),
                 Field("dbpath", &RpmPackagesOptions::dbpath)};
};

Status RunRpmPackages(StageContext& ctx, const RpmPackagesOptions& o) {
  const auto& paths = o.files.paths;
  if (paths.empty()) return Error{"packages: the lock lists no packages to install"};
  auto pkgs = BindPackages(paths, "/pkgs");
  std::vector<std::string> args{"rpm-install", "/target"};
  args.insert(args.end(), pkgs.inside.begin(), pkgs.inside.end());
  auto spec = TargetSpec(ctx, {pkgs.bind}, args);
  if (!spec) return spec.take_error();
  return RunLogged(*spec, ctx, "rpm install of " + std::to_string(paths.size()) + " packages");
}

}  // namespace

Stage RpmPackagesStage(const profiles::Profile&, const PackageFiles& files,
                       std::vector<std::string> parents) {
  // The lock already holds everything the profile asked for.
  return MakeStage({.name = "packages", .parents = std::move(parents)},
                   RpmPackagesOptions{.files = SetOf(files)}, RunRpmPackages);
}

}  // namespace imager::stages
