// SPDX-License-Identifier: GPL-3.0-or-later
// The RPM package stage: with gpgcheck, each package file's signature checked against its
// repository's keys (stages/rpm_install.h RpmVerifySignatures), then `imager internal
// rpm-install` in a tools sandbox, with the layer being built at /target and the package files
// read-only under /pkgs.
#include <sys/stat.h>

#include <cerrno>

#include <rpm/rpmlib.h>

#include "base/strings.h"
#include "sandbox/tools.h"
#include "stages/rootfs.h"
#include "stages/rpm_install.h"
#include "stages/stage_util.h"

namespace imager::stages {
namespace {

std::string RepoUrl(const profiles::Repository& r) {
  std::string url = r.url.empty() ? r.mirror : r.url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// The profile's rpm-md repository a locked package downloads from: the longest URL prefix.
const profiles::Repository* SourceOf(const profiles::Profile& profile, const std::string& url) {
  const profiles::Repository* best = nullptr;
  for (const auto& r : profile.repositories) {
    std::string base = RepoUrl(r) + "/";
    if (r.type == profiles::RepoType::kRpmMd && StartsWith(url, base) &&
        (!best || RepoUrl(*best).size() < base.size() - 1))
      best = &r;
  }
  return best;
}

// The files whose repository has gpgcheck on, each with that repository's keyring. A package
// from no known repository is refused when any repository checks signatures.
Result<std::vector<RpmSignedFile>> SignedFiles(const profiles::Profile& profile,
                                               const PackageFiles& files) {
  bool any = false;
  for (const auto& r : profile.repositories) any = any || r.gpgcheck;
  std::vector<RpmSignedFile> out;
  for (size_t i = 0; i < files.packages.size() && i < files.paths.size(); ++i) {
    const auto& p = files.packages[i];
    std::string name = p.url.substr(p.url.rfind('/') + 1);
    const profiles::Repository* r = SourceOf(profile, p.url);
    if (!r && any)
      return Error{"gpgcheck: package " + name + " comes from " + p.url +
                   ", which no rpm-md repository of the profile serves, so no keyring applies"};
    if (!r || !r->gpgcheck) continue;
    if (r->keyring.empty())
      return Error{"gpgcheck: repository " + RepoUrl(*r) + " has no keyring to check " + name};
    out.push_back({files.paths[i], name, r->keyring});
  }
  return out;
}

}  // namespace

Stage RpmPackagesStage(const profiles::Profile& profile, const BuildOptions& options,
                       const PackageFiles& files, std::vector<std::string> parents) {
  Stage s;
  s.name = "packages";
  s.inputs = PackageKeyInputs(files);
  // What else decides the tree: the installer (its version orders packages and writes the
  // rpmdb) and where the rpmdb goes.
  s.inputs.push_back(KeyInput::Value("installer", std::string("librpm ") + RPMVERSION));
  s.inputs.push_back(KeyInput::Value("dbpath", "/var/lib/rpm"));
  // The keys packages must be signed with: another keyring checks again.
  for (const auto& r : profile.repositories)
    if (r.type == profiles::RepoType::kRpmMd && r.gpgcheck && !r.keyring.empty())
      s.inputs.push_back(KeyInput::Content("gpgcheck " + RepoUrl(r), r.keyring));
  s.parents = std::move(parents);
  auto signed_files = SignedFiles(profile, files);
  s.run = [paths = files.paths, signed_files, o = options](StageContext& ctx) -> Status {
    if (paths.empty()) return Error{"packages: the lock lists no packages to install"};
    // Before anything is installed: librpm checks every signature against the profile's keys.
    if (!signed_files) return Error{signed_files.error()};
    if (auto st = RpmVerifySignatures(*signed_files); !st) return st;
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
