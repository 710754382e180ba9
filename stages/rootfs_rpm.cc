// SPDX-License-Identifier: GPL-3.0-or-later
// Placeholder until the librpm stage lands (branch rpm): a build of an rpm profile stops here.
#include "stages/rootfs.h"

namespace imager::stages {

Stage RpmPackagesStage(const profiles::Profile& p, const BuildOptions&, const PackageFiles&,
                       std::vector<std::string> parents) {
  Stage s;
  s.name = "packages";
  s.parents = std::move(parents);
  s.run = [where = p.Where("distribution.family").ToString()](StageContext&) -> Status {
    return Error{where + ": installing RPM packages is not implemented yet"};
  };
  return s;
}

}  // namespace imager::stages
