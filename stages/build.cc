// SPDX-License-Identifier: GPL-3.0-or-later
#include "stages/build.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "base/fd.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "sandbox/launch.h"
#include "sandbox/tools.h"
#include "stages/boot_stages.h"
#include "stages/customize_stages.h"
#include "stages/installer_stages.h"
#include "stages/oci_stages.h"
#include "stages/rootfs.h"
#include "stages/stage_util.h"

namespace imager::stages {
namespace {

using profiles::Profile;

Stage BaseTarStage(const Profile& p, const BuildOptions& o) {
  Stage s;
  s.name = "base";
  s.inputs = {KeyInput::Content("tarball", p.base.path)};
  s.run = [tar = p.base.path, o](StageContext& ctx) -> Status {
    auto spec = sandbox::InternalSpec(
        o.idmap, {{tar, "/in/base.tar", true}, {ctx.output_dir(), "/out", false}}, {},
        {"extract-tar", "/in/base.tar", "/out"});
    if (!spec) return spec.take_error();
    return RunLogged(*spec, ctx, "unpack " + tar);
  };
  return s;
}

// The image files of the outputs: stage, suffix to the profile's name, writer.
struct OutputFile {
  const char* stage;
  const char* suffix;
  const char* writer;
};

constexpr OutputFile kTarOutput{"tar", ".tar.gz", "write-tar"};
constexpr OutputFile kSquashfsOutput{"squashfs", ".squashfs", "write-squashfs"};

Stage OutputStage(const Profile& p, const BuildOptions& o, std::vector<std::string> layers,
                  const OutputFile& out) {
  return ImageFileStage(o, std::move(layers), {out.stage, p.name + out.suffix, out.writer});
}

// Hard link when the output directory shares the cache's filesystem, copy otherwise.
Status Publish(const std::string& from, const std::string& to) {
  std::string tmp = to + ".part";
  unlink(tmp.c_str());
  if (link(from.c_str(), tmp.c_str()) != 0) {
    auto data = ReadFile(from);
    if (!data) return data.take_error();
    if (auto st = WriteFile(tmp, *data); !st) return st;
  }
  if (rename(tmp.c_str(), to.c_str()) != 0) return ErrnoError("rename " + tmp);
  return {};
}

}  // namespace

bool NeedsPackages(const Profile& p) {
  return !p.packages.include.empty() || p.base.kind == profiles::BaseKind::kNone;
}

Result<std::vector<std::string>> PlanBuild(const Profile& p, const BuildOptions& o,
                                           Pipeline* pipeline) {
  std::vector<std::string> layers;
  if (p.base.kind == profiles::BaseKind::kTar) {
    pipeline->Add(BaseTarStage(p, o));
    layers.push_back("base");
  } else if (p.base.kind == profiles::BaseKind::kOci) {
    auto base = BaseOciStage(p, o);
    if (!base) return base.take_error();
    pipeline->Add(std::move(*base));
    layers.push_back("base");
  }
  if (NeedsPackages(p)) {
    if (o.packages.paths.size() != o.packages.packages.size() || o.packages.packages.empty())
      return Error{p.Where("packages").ToString() +
                   ": packages: the package set is empty; nothing to install (add "
                   "packages.include or a packages.variant)"};
    if (p.distribution.family == profiles::Family::kDebian)
      pipeline->Add(DebPackagesStage(p, o, o.packages, layers));
    else
      pipeline->Add(RpmPackagesStage(p, o, o.packages, layers));
    layers.push_back("packages");
  }
  // The profile's rootfs settings, one layer each: a changed setting rebuilds from its layer.
  auto add = [&](Stage s) {
    layers.push_back(s.name);
    pipeline->Add(std::move(s));
  };
  add(ConfigStage(p, o, layers));
  const auto& r = p.rootfs;
  if (!r.users.empty() || r.root_password.kind != profiles::Password::Kind::kNone)
    add(UsersStage(p, o, layers));
  if (!r.files.empty()) add(FilesStage(p, o, layers));
  if (!r.services.enable.empty() || !r.services.disable.empty()) add(ServicesStage(p, o, layers));
  if (!r.run.empty()) add(ScriptsStage(p, o, layers));
  auto wants = [&p](profiles::Format f) {
    return std::find(p.output.formats.begin(), p.output.formats.end(), f) != p.output.formats.end();
  };
  for (auto f : p.output.formats)
    if (f == profiles::Format::kRaw)
      return Error{p.Where("output.formats").ToString() + ": output.formats: '" +
                   profiles::NameOf(f) +
                   "' is not implemented yet (available: iso, tar, squashfs, oci, oci-archive)"};
  if (wants(profiles::Format::kTar)) pipeline->Add(OutputStage(p, o, layers, kTarOutput));
  if (wants(profiles::Format::kOci) || wants(profiles::Format::kOciArchive)) {
    auto stage = OciOutputStage(p, o, layers, wants(profiles::Format::kOciArchive));
    if (!stage) return stage.take_error();
    pipeline->Add(std::move(*stage));
  }
  bool iso = wants(profiles::Format::kIso);
  if (wants(profiles::Format::kSquashfs) || iso)
    pipeline->Add(OutputStage(p, o, layers, kSquashfsOutput));
  if (iso) {
    if (p.distribution.family != profiles::Family::kDebian || p.distribution.arch != "amd64")
      return Error{p.Where("output.formats").ToString() +
                   ": output.formats: iso is implemented for Debian amd64 profiles only so far "
                   "(use tar or squashfs)"};
    if (!p.boot.bios && !p.boot.uefi)
      return Error{p.Where("boot").ToString() +
                   ": boot: an iso needs boot.bios or boot.uefi (or both)"};
    Medium medium = LiveMedium(p);
    const std::vector<std::string> target = layers;  // has the kernel
    if (auto st = PlanInstaller(p, o, &layers, pipeline, &medium); !st) return st.take_error();
    // The images' keys identify the build: the initramfs accepts only this medium (one image: its
    // key as it is, so a live ISO keeps the identity it had before media could stack images).
    auto keys = pipeline->Keys();
    if (!keys) return keys.take_error();
    std::string image_key;
    for (const auto& image : medium.images)
      for (const auto& [name, key] : *keys)
        if (name == image.stage) image_key += key;
    if (medium.images.size() > 1) image_key = Sha256Hex(image_key);
    BootIdentity id = MakeBootIdentity(p, image_key, o.source_date_epoch);
    pipeline->Add(ToolsStage(p, o));
    pipeline->Add(InitramfsStage(p, o, target, id, medium));
    pipeline->Add(BootloaderStage(p, o, id));
    pipeline->Add(IsoStage(p, o, id, medium));
  }
  return layers;
}

Result<BuildResult> Build(const Profile& p, const BuildOptions& o, ProgressSink& progress) {
  Cache::Options cache_options;
  cache_options.remove_tree = [idmap = o.idmap](const std::string& path) {
    return sandbox::RemoveTreeInSandbox(idmap, path);  // layers may hold subordinate owners
  };
  auto cache = Cache::Open(o.cache_dir, Cache::Access::kBuild, cache_options);
  if (!cache) return cache.take_error();
  Pipeline pipeline(
      *cache, progress,
      {.log_dir = o.out_dir + "/logs",
       .profile = p.name,
       .rebuild = o.rebuild,
       .common_inputs = {KeyInput::Value(
           "idmode", o.idmap.mode == sandbox::IdMode::kSingle ? "single" : "range")}});
  BuildResult result;
  auto layers = PlanBuild(p, o, &pipeline);
  if (!layers) return layers.take_error();
  result.layers = *layers;
  auto report = pipeline.Run();
  if (!report) return report.take_error();
  result.report = *report;
  // What the profile asked for, from the cache into the output directory.
  std::vector<std::pair<std::string, std::string>> publish;  // stage, file
  for (auto f : p.output.formats) {
    if (f == profiles::Format::kTar) publish.push_back({kTarOutput.stage, p.name + ".tar.gz"});
    if (f == profiles::Format::kOci) publish.push_back({kOciStage, OciDirName(p)});
    if (f == profiles::Format::kOciArchive) publish.push_back({kOciStage, OciArchiveName(p)});
    if (f == profiles::Format::kSquashfs)
      publish.push_back({kSquashfsOutput.stage, p.name + ".squashfs"});
    if (f == profiles::Format::kIso) {
      publish.push_back({"iso", p.name + ".iso"});
      if (p.output.checksum == profiles::Checksum::kSha256)
        publish.push_back({"iso", "SHA256SUMS"});
    }
  }
  for (const auto& [stage, name] : publish) {
    const StageReport* s = report->Find(stage);
    if (!s) return Error{"internal: no stage " + stage + " ran for " + name};
    auto st = name == OciDirName(p) ? PublishTree(s->dir + "/" + name, o.out_dir + "/" + name)
                                    : Publish(s->dir + "/" + name, o.out_dir + "/" + name);
    if (!st) return st.take_error();
    result.outputs.push_back(o.out_dir + "/" + name);
  }
  return result;
}

}  // namespace imager::stages
