// SPDX-License-Identifier: GPL-3.0-or-later
#include "stages/installer_stages.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "base/fs.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "families/family.h"
#include "installer/installer.h"
#include "stages/offline_repo.h"
#include "stages/rootfs.h"
#include "stages/stage_util.h"

namespace imager::stages {
namespace {

using profiles::Profile;

constexpr const char* kInstallerImage = "/live/installer.squashfs";
constexpr const char* kInstallerConfigImage = "/live/installer-config.squashfs";

struct InstallerConfigOptions {
  std::vector<installer::GeneratedFile> files;
  static void Encode(KeyInputs& k, const std::string&,
                     const std::vector<installer::GeneratedFile>& files) {
    for (const auto& f : files)
      k.Value(f.path, (f.symlink ? "-> " : std::to_string(f.mode) + " ") + Sha256Hex(f.content));
  }
  static constexpr auto kFields =
      std::tuple{Field("files", &InstallerConfigOptions::files, &Encode)};
};

Status RunInstallerConfig(StageContext& ctx, const InstallerConfigOptions& o) {
  std::string tree = ctx.scratch_dir() + "/tree";
  if (mkdir(tree.c_str(), 0755) != 0) return ErrnoError("create " + tree);
  if (auto st = installer::WriteFiles(o.files, tree); !st) return st;
  // Directories the copy creates in the image get the tree's modes.
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(tree, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    if (it->is_directory(ec) && !it->is_symlink(ec)) chmod(it->path().c_str(), 0755);
  auto spec = TargetSpec(ctx, {{tree, "/in/tree", true}}, {"copy-in", "/target", "/in/tree", "/"});
  if (!spec) return spec.take_error();
  return RunLogged(*spec, ctx,
                   "write " + std::to_string(o.files.size()) + " installer files into the image");
}

struct InstallerCheckOptions {
  profiles::InstallerType type;  // whose check runs (installer::Find)
  std::vector<installer::LiveTool> tools;
  static void EncodeTools(KeyInputs& k, const std::string&,
                          const std::vector<installer::LiveTool>& tools) {
    for (const auto& t : tools) k.Value("tool " + t.module + " " + t.command, "");
  }
  static constexpr auto kFields =
      std::tuple{Field("type", &InstallerCheckOptions::type),
                 Field("tools", &InstallerCheckOptions::tools, &EncodeTools)};
};

Status RunInstallerCheck(StageContext& ctx, const InstallerCheckOptions& o) {
  const installer::Installer* inst = installer::Find(o.type);
  if (!inst) return Error{"no installer of type " + profiles::NameOf(o.type)};
  // The live session's root with a throwaway upper: the installer writes its cache under /root.
  auto spec = ImageSpec(ctx);
  if (!spec) return spec.take_error();
  spec->root.upper = ctx.scratch_dir() + "/upper";
  if (auto st = MakeDirs(spec->root.upper); !st) return st;
  spec->binds.push_back({ctx.output_dir(), "/run/imager-check", false});
  std::string log_name = std::string(inst->name) + ".log";
  spec->argv = inst->check_argv(90, "/run/imager-check/" + log_name, o.tools);
  if (auto st =
          RunLogged(*spec, ctx, std::string(inst->name) + " loads its configuration (offscreen)");
      !st)
    return st;
  std::string log = ctx.output_dir() + "/" + log_name;
  auto text = ReadFile(log);
  if (!text) return text.take_error();
  if (auto st = inst->check_log(*text); !st)
    return Error{st.error() + " (" + inst->name + "'s log: " + log + ")"};
  ctx.log(std::string(inst->name) +
          " loaded settings, branding and every module of the sequence; the live session has "
          "the " +
          std::to_string(o.tools.size()) + " commands its modules run");
  return {};
}

}  // namespace

Stage InstallerConfigStage(std::vector<std::string> parents,
                           std::vector<installer::GeneratedFile> files) {
  return MakeStage({.name = "installer-config", .parents = std::move(parents)},
                   InstallerConfigOptions{std::move(files)}, RunInstallerConfig);
}

Stage InstallerCheckStage(profiles::InstallerType type, std::vector<std::string> session,
                          std::vector<installer::LiveTool> tools) {
  return MakeStage(
      {.name = "installer-check", .output = OutputKind::kArtifact, .parents = std::move(session)},
      InstallerCheckOptions{type, std::move(tools)}, RunInstallerCheck);
}

Status PlanInstaller(const Profile& p, const BuildOptions& o, std::vector<std::string>* layers,
                     Pipeline* pipeline, Medium* medium) {
  if (p.installer.type == profiles::InstallerType::kNone) return {};
  const installer::Installer* inst = installer::For(p);
  const families::Family& family = families::Of(p);
  if (!inst || !family.add_packages_stage)
    return Error{p.Where("installer.type").ToString() +
                 ": installer.type: " + profiles::NameOf(p.installer.type) +
                 " is not implemented for the " + family.name + " family yet"};
  if (medium->images.empty())
    return Error{p.Where("output.formats").ToString() +
                 ": output.formats: an installer image is an iso (add iso to output.formats)"};
  // A lock without the installer's packages is older than the profile's installer (a plan made
  // without any lock, for --plan and profile check, has no packages at all).
  if (!o.packages.packages.empty() && o.installer.packages.empty())
    return Error{p.Where("installer").ToString() +
                 ": installer: the lock has no installer packages (run 'imager resolve')"};
  installer::InstallerPaths paths;
  paths.medium = kMediumMountPoint;
  // The booter's link to the target image: on the medium, or its RAM copy when the medium was
  // released (boot.toram, or the menu's "load into RAM" entry).
  paths.target_image = std::string(kImageLinks) + "/0.squashfs";
  bool offline = WantsOfflineRepo(p);
  if (offline && !family.offline_repo_stage)
    return Error{p.Where("installer.offline_packages").ToString() +
                 ": installer.offline_packages: an offline repository is not implemented for "
                 "the " +
                 family.name + " family yet"};
  if (offline) {
    auto sources = OfflineSources(p);
    if (!sources.empty()) {
      paths.offline_suite = sources.front().suite;
      paths.offline_components = Join(sources.front().components, " ");
    }
  }
  auto files = inst->files(p, paths);
  if (!files) return Error{p.Where("installer").ToString() + ": installer: " + files.error()};

  PackageFiles live = o.installer;
  live.source_date_epoch = o.source_date_epoch;
  pipeline->Add(
      family.add_packages_stage(p, live, *layers, "installer-packages", inst->live_packages(p)));
  std::vector<std::string> session = *layers;
  session.push_back("installer-packages");
  pipeline->Add(InstallerConfigStage(session, std::move(*files)));
  session.push_back("installer-config");
  pipeline->Add(InstallerCheckStage(p.installer.type, session, inst->live_tools(p)));
  medium->checks.push_back("installer-check");
  // Each installer layer as an image of its own: only its changes, deletions kept.
  for (auto [layer, stage, file, path] :
       {std::tuple{"installer-packages", "installer-squashfs", "-installer.squashfs",
                   kInstallerImage},
        std::tuple{"installer-config", "installer-config-squashfs", "-installer-config.squashfs",
                   kInstallerConfigImage}}) {
    pipeline->Add(ImageFileStage(stage, {layer},
                                 {.file = p.name + file,
                                  .writer = "write-squashfs",
                                  .overlay_layer = true,
                                  .source_date_epoch = o.source_date_epoch}));
    medium->images.push_back({stage, p.name + file, path});
  }
  layers->insert(layers->end(), {"installer-packages", "installer-config"});
  // The offline repository at the medium's root, like a Debian CD's dists/ and pool/.
  if (offline) {
    pipeline->Add(family.offline_repo_stage(p, o.cache_dir, o.offline_packages));
    medium->trees.push_back("offline-repo");
  }
  return {};
}

}  // namespace imager::stages
