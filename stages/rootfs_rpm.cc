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

// The package files as the sandbox sees them: their deepest common host directory (in the
// package cache, packages/sha256) bound read-only once at /pkgs, not one mount per package.
struct PackageBinds {
  sandbox::BindSpec bind;
  std::vector<std::string> inside;  // same order as the host paths
};

PackageBinds BindPackages(const std::vector<std::string>& paths) {
  std::string common = paths[0].substr(0, paths[0].rfind('/') + 1);  // with its trailing '/'
  for (const auto& path : paths)
    while (common.size() > 1 && path.compare(0, common.size(), common) != 0)
      common.erase(common.rfind('/', common.size() - 2) + 1);
  PackageBinds out;
  out.bind = {common.size() > 1 ? common.substr(0, common.size() - 1) : "/", "/pkgs", true};
  for (const auto& path : paths) out.inside.push_back("/pkgs/" + path.substr(common.size()));
  return out;
}

}  // namespace

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
    auto pkgs = BindPackages(paths);
    std::vector<sandbox::BindSpec> binds{pkgs.bind};
    std::vector<sandbox::OverlaySpec> ovls;
    auto layers = Layers(ctx);
    if (layers.empty()) {
      binds.push_back({ctx.output_dir(), "/target", false});
    } else {
      sandbox::OverlaySpec target;
      for (const auto& l : layers) target.lowers.push_back(l.dir);
      target.upper = ctx.output_dir();
      target.work = ctx.scratch_dir() + "/work";
      target.target = "/target";
      if (mkdir(target.work.c_str(), 0700) != 0 && errno != EEXIST)
        return ErrnoError("create " + target.work);
      ovls.push_back(target);
    }
    std::vector<std::string> args{"rpm-install", "/target"};
    args.insert(args.end(), pkgs.inside.begin(), pkgs.inside.end());
    auto spec = sandbox::InternalSpec(o.idmap, binds, ovls, args);
    if (!spec) return spec.take_error();
    return RunLogged(*spec, ctx, "rpm install of " + std::to_string(paths.size()) + " packages");
  };
  return s;
}

}  // namespace imager::stages
