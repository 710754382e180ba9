// SPDX-License-Identifier: GPL-3.0-or-later
// The RPM package stage: `imager internal rpm-install` (stages/rpm_install.h) in a tools sandbox,
// with the layer being built at /target and the package files read-only under /pkgs.
#include <sys/stat.h>

#include <cerrno>
#include <map>

#include <rpm/rpmlib.h>

#include "sandbox/tools.h"
#include "stages/rootfs.h"
#include "stages/stage_util.h"

namespace imager::stages {
namespace {

// The package files as the sandbox sees them: each host directory bound once at /pkgs/N.
struct PackageBinds {
  std::vector<sandbox::BindSpec> binds;
  std::vector<std::string> inside;  // same order as the host paths
};

PackageBinds BindPackages(const std::vector<std::string>& paths) {
  PackageBinds out;
  std::map<std::string, std::string> dirs;  // host directory → its mount point
  for (const auto& path : paths) {
    size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
    auto [it, added] = dirs.emplace(dir, "/pkgs/" + std::to_string(dirs.size()));
    if (added) out.binds.push_back({dir, it->second, true});
    out.inside.push_back(it->second + "/" + path.substr(slash + 1));
  }
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
    std::vector<sandbox::BindSpec> binds = pkgs.binds;
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
