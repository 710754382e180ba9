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

Stage RpmPackagesStage(const profiles::Profile& profile, const BuildOptions& options,
                       const PackageFiles& files, std::vector<std::string> parents) {
  (void)profile;  // the lock already holds everything the profile asked for
  Stage s;
  s.name = "packages";
  s.inputs = PackageKeyInputs(files);
  // What else decides the tree: the installer (its version orders packages and writes the
  // rpmdb) and where the rpmdb goes.
  s.inputs.push_back(KeyInput::Value("installer", std::string("librpm ") + RPMVERSION));
  s.inputs.push_back(KeyInput::Value("dbpath", "/var/lib/rpm"));
  s.parents = std::move(parents);
  s.run = [paths = files.paths, o = options](StageContext& ctx) -> Status {
    if (paths.empty()) return Error{"packages: the lock lists no packages to install"};
    auto pkgs = BindPackages(paths, "/pkgs");
    std::vector<std::string> args{"rpm-install", "/target"};
    args.insert(args.end(), pkgs.inside.begin(), pkgs.inside.end());
    auto spec = TargetSpec(ctx, o, {pkgs.bind}, args);
    if (!spec) return spec.take_error();
    return RunLogged(*spec, ctx, "rpm install of " + std::to_string(paths.size()) + " packages");
  };
  return s;
}

}  // namespace imager::stages
