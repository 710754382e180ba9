// SPDX-License-Identifier: GPL-3.0-or-later
#include "stages/installer_stages.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "base/fs.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "stages/offline_repo.h"
#include "stages/rootfs.h"
#include "stages/stage_util.h"

namespace imager::stages {
namespace {

using profiles::Profile;

constexpr const char* kInstallerImage = "/live/installer.squashfs";
constexpr const char* kInstallerConfigImage = "/live/installer-config.squashfs";

}  // namespace

Stage InstallerConfigStage(const BuildOptions& o, std::vector<std::string> parents,
                           std::vector<installer::GeneratedFile> files) {
  Stage s;
  s.name = "installer-config";
  for (const auto& f : files)
    s.inputs.push_back(KeyInput::Value(
        f.path, (f.symlink ? "-> " : std::to_string(f.mode) + " ") + Sha256Hex(f.content)));
  s.parents = std::move(parents);
  s.run = [o, files](StageContext& ctx) -> Status {
    std::string tree = ctx.scratch_dir() + "/tree";
    if (mkdir(tree.c_str(), 0755) != 0) return ErrnoError("create " + tree);
    if (auto st = installer::WriteFiles(files, tree); !st) return st;
    // Directories the copy creates in the image get the tree's modes.
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(tree, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
      if (it->is_directory(ec) && !it->is_symlink(ec)) chmod(it->path().c_str(), 0755);
    auto spec =
        TargetSpec(ctx, o, {{tree, "/in/tree", true}}, {"copy-in", "/target", "/in/tree", "/"});
    if (!spec) return spec.take_error();
    return RunLogged(*spec, ctx,
                     "write " + std::to_string(files.size()) + " installer files into the image");
  };
  return s;
}

Stage InstallerCheckStage(const BuildOptions& o, std::vector<std::string> session,
                          std::vector<installer::LiveTool> tools) {
  Stage s;
  s.name = "installer-check";
  for (const auto& t : tools)
    s.inputs.push_back(KeyInput::Value("tool " + t.module + " " + t.command, ""));
  s.output = OutputKind::kArtifact;
  s.parents = std::move(session);
  s.run = [o, tools](StageContext& ctx) -> Status {
    // The live session's root with a throwaway upper: Calamares writes its cache under /root.
    auto spec = ImageSpec(ctx, o);
    if (!spec) return spec.take_error();
    spec->root.upper = ctx.scratch_dir() + "/upper";
    if (auto st = MakeDirs(spec->root.upper); !st) return st;
    spec->binds.push_back({ctx.output_dir(), "/run/imager-check", false});
    spec->argv = installer::CalamaresCheckArgv(90, "/run/imager-check/calamares.log", tools);
    if (auto st = RunLogged(*spec, ctx, "Calamares loads its configuration (offscreen)"); !st)
      return st;
    std::string log = ctx.output_dir() + "/calamares.log";
    auto text = ReadFile(log);
    if (!text) return text.take_error();
    if (auto st = installer::CheckCalamaresLog(*text); !st)
      return Error{st.error() + " (Calamares' log: " + log + ")"};
    ctx.log(
        "Calamares loaded settings, branding and every module of the sequence; the live "
        "session has the " +
        std::to_string(tools.size()) + " commands its modules run");
    return {};
  };
  return s;
}

Status PlanInstaller(const Profile& p, const BuildOptions& o, std::vector<std::string>* layers,
                     Pipeline* pipeline, Medium* medium) {
  if (p.installer.type == profiles::InstallerType::kNone) return {};
  if (p.installer.type != profiles::InstallerType::kCalamares ||
      p.distribution.family != profiles::Family::kDebian)
    return Error{p.Where("installer.type").ToString() +
                 ": installer.type: only calamares on Debian profiles is implemented so far"};
  if (medium->images.empty())
    return Error{p.Where("output.formats").ToString() +
                 ": output.formats: an installer image is an iso (add iso to output.formats)"};
  if (o.installer.packages.empty())
    return Error{p.Where("installer").ToString() +
                 ": installer: the lock has no installer packages (run 'imager resolve')"};
  installer::CalamaresPaths paths;
  paths.medium = kMediumMountPoint;
  // The booter's link to the target image: on the medium, or its RAM copy when the medium was
  // released (boot.toram, or the menu's "load into RAM" entry).
  paths.target_image = std::string(kImageLinks) + "/0.squashfs";
  if (WantsOfflineRepo(p)) {
    auto sources = OfflineSources(p);
    if (!sources.empty()) {
      paths.offline_suite = sources.front().suite;
      paths.offline_components = Join(sources.front().components, " ");
    }
  }
  auto files = installer::CalamaresFiles(p, paths);
  if (!files) return Error{p.Where("installer").ToString() + ": installer: " + files.error()};

  auto packages = profiles::InstallerPackages(p);
  pipeline->Add(DebAddPackagesStage(p, o, o.installer, *layers, "installer-packages", packages));
  std::vector<std::string> session = *layers;
  session.push_back("installer-packages");
  pipeline->Add(InstallerConfigStage(o, session, std::move(*files)));
  session.push_back("installer-config");
  pipeline->Add(InstallerCheckStage(o, session, installer::LiveTools(p)));
  medium->checks.push_back("installer-check");
  // Each installer layer as an image of its own: only its changes, deletions kept.
  for (auto [layer, stage, file, path] :
       {std::tuple{"installer-packages", "installer-squashfs", "-installer.squashfs",
                   kInstallerImage},
        std::tuple{"installer-config", "installer-config-squashfs", "-installer-config.squashfs",
                   kInstallerConfigImage}}) {
    pipeline->Add(ImageFileStage(o, {layer},
                                 {stage, p.name + file, "write-squashfs", /*overlay_layer=*/true}));
    medium->images.push_back({stage, p.name + file, path});
  }
  layers->insert(layers->end(), {"installer-packages", "installer-config"});
  // The offline repository at the medium's root, like a Debian CD's dists/ and pool/.
  if (WantsOfflineRepo(p)) {
    pipeline->Add(OfflineRepoStage(p, o));
    medium->trees.push_back("offline-repo");
  }
  return {};
}

}  // namespace imager::stages
