// SPDX-License-Identifier: GPL-3.0-or-later
// The RPM package stage: with gpgcheck, each package file's signature checked against its
// repository's keys (inside/rpm_install.h RpmVerifySignatures), then `imager internal
// rpm-install` in a tools sandbox, with the layer being built at /target and the package files
// read-only under /pkgs. The tools tree of a bootable medium: the same signature check, then the
// payloads unpacked (`imager internal rpm-unpack`), nothing run.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

#include <rpm/rpmlib.h>

#include "base/strings.h"
#include "inside/rpm_install.h"
#include "sandbox/tools.h"
#include "stages/iso_stages.h"
#include "stages/rootfs.h"
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
Result<std::vector<inside::RpmSignedFile>> SignedFiles(const profiles::Profile& profile,
                                                       const PackageFiles& files) {
  bool any = false;
  for (const auto& r : profile.repositories) any = any || r.gpgcheck;
  std::vector<inside::RpmSignedFile> out;
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

struct SignedFile {
  std::string name;     // the repository's file name
  ContentPath keyring;  // the keys it must be signed with
  std::string path;     // in the package cache
  static constexpr auto kFields = std::tuple{
      Field("name", &SignedFile::name), Field("keyring", &SignedFile::keyring),
      Unkeyed("path", &SignedFile::path, "named by the package's sha256, which is keyed")};
};

struct RpmPackagesOptions {
  PackageSet files;
  /// What else decides the tree: the installer (its version orders packages and writes the
  /// rpmdb) and where the rpmdb goes.
  std::string installer = std::string("librpm ") + RPMVERSION;
  std::string dbpath = "/var/lib/rpm";
  /// gpgcheck: the files librpm verifies before anything is installed, or why it cannot.
  std::vector<SignedFile> verify;
  std::string verify_error;
  /// librpm stamps INSTALLTIME and INSTALLTID with SOURCE_DATE_EPOCH when it is set.
  int64_t source_date_epoch = -1;
  static constexpr auto kFields =
      std::tuple{Field("package", &RpmPackagesOptions::files, &KeyPackages),
                 Field("source_date_epoch", &RpmPackagesOptions::source_date_epoch),
                 Field("installer", &RpmPackagesOptions::installer),
                 Field("dbpath", &RpmPackagesOptions::dbpath),
                 Field("gpgcheck", &RpmPackagesOptions::verify),
                 Field("gpgcheck_error", &RpmPackagesOptions::verify_error)};
};

// gpgcheck: `error` (why the files cannot be checked) or librpm's check of every file.
Status VerifySignedFiles(const std::vector<SignedFile>& files, const std::string& error) {
  if (!error.empty()) return Error{error};
  std::vector<inside::RpmSignedFile> verify;
  for (const auto& f : files) verify.push_back({f.path, f.name, f.keyring.path});
  return inside::RpmVerifySignatures(verify);
}

Status RunRpmPackages(StageContext& ctx, const RpmPackagesOptions& o) {
  const auto& paths = o.files.paths;
  if (paths.empty()) return Error{"packages: the lock lists no packages to install"};
  // Before anything is installed: librpm checks every signature against the profile's keys.
  if (auto st = VerifySignedFiles(o.verify, o.verify_error); !st) return st;
  auto pkgs = BindPackages(paths, "/pkgs");
  std::vector<std::string> args{"rpm-install", "/target"};
  args.insert(args.end(), pkgs.inside.begin(), pkgs.inside.end());
  auto spec = TargetSpec(ctx, {pkgs.bind}, args);
  if (!spec) return spec.take_error();
  std::erase_if(spec->env,
                [](const std::string& e) { return StartsWith(e, "SOURCE_DATE_EPOCH="); });
  spec->env.push_back("SOURCE_DATE_EPOCH=" +
                      std::to_string(std::max<int64_t>(o.source_date_epoch, 0)));
  return RunLogged(*spec, ctx, "rpm install of " + std::to_string(paths.size()) + " packages");
}

struct RpmToolsOptions {
  PackageSet files;
  std::vector<SignedFile> verify;  // gpgcheck, as for the packages stage
  std::string verify_error;
  static constexpr auto kFields =
      std::tuple{Field("package", &RpmToolsOptions::files, &KeyPackages),
                 Field("gpgcheck", &RpmToolsOptions::verify),
                 Field("gpgcheck_error", &RpmToolsOptions::verify_error)};
};

Status RunRpmTools(StageContext& ctx, const RpmToolsOptions& o) {
  if (auto st = VerifySignedFiles(o.verify, o.verify_error); !st) return st;
  return UnpackTools(ctx, o.files, {"rpm-unpack"});
}

// The gpgcheck entries of a stage's package files (or why they cannot be checked).
void AddSignedFiles(const profiles::Profile& profile, const PackageFiles& files,
                    std::vector<SignedFile>* verify, std::string* verify_error) {
  if (auto signed_files = SignedFiles(profile, files); !signed_files)
    *verify_error = signed_files.error();
  else
    for (const auto& f : *signed_files) verify->push_back({f.name, {f.keyring}, f.path});
}

}  // namespace

Stage RpmToolsStage(const profiles::Profile& profile, const PackageFiles& tools) {
  RpmToolsOptions o{.files = SetOf(tools)};
  AddSignedFiles(profile, tools, &o.verify, &o.verify_error);
  return MakeStage({.name = "tools"}, std::move(o), RunRpmTools);
}

namespace {

// The options of a transaction of `files`, for the packages stage and an added-packages layer.
RpmPackagesOptions PackagesOptions(const profiles::Profile& profile, const PackageFiles& files) {
  RpmPackagesOptions o{.files = SetOf(files), .source_date_epoch = files.source_date_epoch};
  AddSignedFiles(profile, files, &o.verify, &o.verify_error);
  return o;
}

}  // namespace

Stage RpmPackagesStage(const profiles::Profile& profile, const PackageFiles& files,
                       std::vector<std::string> parents) {
  RpmPackagesOptions o = PackagesOptions(profile, files);
  // Version 2: single-id mode removes set-id bits whose owner was lost; 3: not where the
  // sandbox recorded the owner (base/owner_record.h); 4: install times from SOURCE_DATE_EPOCH
  // and the rpmdb checkpointed into one file (reproducible); 5: the rpmdb moved to where the
  // image's own rpm reads it, which must list every package (inside/rpm_image_db.h).
  return MakeStage({.name = "packages", .version = 5, .parents = std::move(parents)}, std::move(o),
                   RunRpmPackages);
}

Stage RpmAddPackagesStage(const profiles::Profile& profile, const PackageFiles& files,
                          std::vector<std::string> parents, const std::string& name,
                          const std::vector<std::string>&) {
  return MakeStage({.name = name, .parents = std::move(parents)}, PackagesOptions(profile, files),
                   RunRpmPackages);
}

}  // namespace imager::stages
