// SPDX-License-Identifier: GPL-3.0-or-later
#include "stages/oci_stages.h"

#include <sys/stat.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/fs.h"
#include "oci/archive.h"
#include "oci/layers.h"
#include "oci/layout.h"
#include "sandbox/tools.h"
#include "stages/stage_util.h"

namespace imager::stages {
namespace {

oci::WriteOptions ImageOptions(const profiles::Profile& p, const oci::Platform& platform,
                               int64_t source_date_epoch) {
  oci::WriteOptions w;
  w.config.platform = platform;
  w.config.created = source_date_epoch >= 0 ? source_date_epoch : 0;
  w.config.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
  w.config.cmd = {"/bin/sh"};
  w.ref_name = "latest";
  w.annotations["org.opencontainers.image.created"] = oci::Rfc3339(w.config.created);
  w.annotations["org.opencontainers.image.title"] = p.name;
  if (!p.description.empty()) w.annotations["org.opencontainers.image.description"] = p.description;
  std::string version = p.installer.branding.version;
  if (version.empty()) version = p.distribution.release;
  if (!version.empty()) w.annotations["org.opencontainers.image.version"] = version;
  return w;
}

// Copies regular files (hard links when possible) and directories of `from` into `to`.
Status CopyLinked(const std::string& from, const std::string& to) {
  if (mkdir(to.c_str(), 0755) != 0) return ErrnoError("create " + to);
  auto names = ListDir(from);
  if (!names) return names.take_error();
  for (const auto& n : *names) {
    std::string src = from + "/" + n, dst = to + "/" + n;
    struct stat st;
    if (lstat(src.c_str(), &st) != 0) return ErrnoError("stat " + src);
    if (S_ISDIR(st.st_mode)) {
      if (auto s = CopyLinked(src, dst); !s) return s;
    } else if (!S_ISREG(st.st_mode)) {
      return Error{"publish " + src + ": not a regular file or directory"};
    } else if (link(src.c_str(), dst.c_str()) != 0) {
      auto data = ReadFile(src);
      if (!data) return data.take_error();
      if (auto s = WriteFile(dst, *data); !s) return s;
    }
  }
  return {};
}

std::vector<std::string> EpochArgs(int64_t source_date_epoch) {
  if (source_date_epoch < 0) return {};
  return {"--source-date-epoch", std::to_string(source_date_epoch)};
}

// The merged tree as one layer, written inside the id mapping like the tar output.
Result<std::vector<std::string>> WriteSquashedLayer(StageContext& ctx, int64_t sde,
                                                    oci::Compression c) {
  std::vector<sandbox::BindSpec> binds{{ctx.output_dir(), "/out", false}};
  std::vector<sandbox::OverlaySpec> ovls;
  MountLayers(Layers(ctx), "/rootfs", &binds, &ovls);
  std::string name = std::string("layer") + oci::LayerSuffix(c);
  std::vector<std::string> args{"write-tar", "/rootfs", "/out/" + name};
  for (const auto& a : EpochArgs(sde)) args.push_back(a);
  auto spec = sandbox::InternalSpec(ctx.idmap(), binds, ovls, args);
  if (!spec) return spec.take_error();
  if (auto st = RunLogged(*spec, ctx, "write the OCI layer"); !st) return st.take_error();
  return std::vector<std::string>{ctx.output_dir() + "/" + name};
}

// One layer per pipeline layer: each upper directory bound read-only on its own, its overlay
// whiteouts turned into OCI ones, inside the id mapping.
Result<std::vector<std::string>> WritePipelineLayers(StageContext& ctx, int64_t sde,
                                                     oci::Compression c) {
  std::vector<sandbox::BindSpec> binds{{ctx.output_dir(), "/out", false}};
  std::vector<std::string> args{"write-oci-layers", "/out", "--compression",
                                c == oci::Compression::kZstd ? "zstd" : "gzip"};
  for (const auto& a : EpochArgs(sde)) args.push_back(a);
  std::vector<std::string> files;
  auto layers = Layers(ctx);
  for (size_t i = 0; i < layers.size(); ++i) {
    std::string at = "/layers/" + std::to_string(i);
    binds.push_back({layers[i].dir, at, true});
    args.push_back(at);
    files.push_back(ctx.output_dir() + "/layer-" + std::to_string(i) + oci::LayerSuffix(c));
  }
  auto spec = sandbox::InternalSpec(ctx.idmap(), binds, {}, args);
  if (!spec) return spec.take_error();
  if (auto st = RunLogged(*spec, ctx, "write the OCI layers"); !st) return st.take_error();
  return files;
}

struct BaseOciOptions {
  std::string dir, tag;
  std::string manifest;  // the digest the tag resolves to
  static constexpr auto kFields =
      std::tuple{Unkeyed("dir", &BaseOciOptions::dir, "the image is keyed by its manifest digest"),
                 Unkeyed("tag", &BaseOciOptions::tag, "the image is keyed by its manifest digest"),
                 Field("oci-manifest", &BaseOciOptions::manifest)};
};

Status RunBaseOci(StageContext& ctx, const BaseOciOptions& o) {
  std::vector<std::string> args{"oci-unpack", "/in/oci", "/out"};
  if (!o.tag.empty()) args.insert(args.end(), {"--tag", o.tag});
  auto spec = sandbox::InternalSpec(
      ctx.idmap(), {{o.dir, "/in/oci", true}, {ctx.output_dir(), "/out", false, true}}, {}, args);
  if (!spec) return spec.take_error();
  return RunLogged(*spec, ctx, "unpack OCI image " + o.dir + (o.tag.empty() ? "" : ":" + o.tag));
}

struct OciOptions {
  std::string dir;      // the layout's directory in the output
  std::string archive;  // the oci-archive's file name, or empty
  std::string architecture, variant;
  bool per_layer = false;  // one layer per pipeline layer, or one squashed layer
  bool zstd = false;       // layer compression: zstd, or gzip
  int64_t source_date_epoch = -1;
  std::vector<std::string> env, cmd;
  std::string ref_name;
  std::map<std::string, std::string> annotations;
  static constexpr auto kFields =
      std::tuple{Field("dir", &OciOptions::dir),
                 Field("archive", &OciOptions::archive),
                 Field("arch", &OciOptions::architecture),
                 Field("variant", &OciOptions::variant),
                 Field("per_layer", &OciOptions::per_layer),
                 Field("zstd", &OciOptions::zstd),
                 Field("source_date_epoch", &OciOptions::source_date_epoch),
                 Field("env", &OciOptions::env),
                 Field("cmd", &OciOptions::cmd),
                 Field("ref_name", &OciOptions::ref_name),
                 Field("annotations", &OciOptions::annotations)};
};

Status RunOci(StageContext& ctx, const OciOptions& o) {
  auto compression = o.zstd ? oci::Compression::kZstd : oci::Compression::kGzip;
  auto files = o.per_layer ? WritePipelineLayers(ctx, o.source_date_epoch, compression)
                           : WriteSquashedLayer(ctx, o.source_date_epoch, compression);
  if (!files) return files.take_error();
  oci::WriteOptions image;
  image.config.platform = {o.architecture, o.variant};
  image.config.created = o.source_date_epoch >= 0 ? o.source_date_epoch : 0;
  image.config.env = o.env;
  image.config.cmd = o.cmd;
  image.ref_name = o.ref_name;
  image.annotations = o.annotations;
  image.layer_media_type = oci::LayerMediaType(compression);
  if (o.per_layer)
    for (const auto& l : Layers(ctx)) image.history.push_back("imager build: " + l.name);
  // The layout around the layers, outside the sandbox: only digests and JSON.
  auto m = oci::Write(ctx.output_dir() + "/" + o.dir, *files, image);
  if (!m) return m.take_error();
  ctx.log("manifest " + m->digest);
  if (o.archive.empty()) return {};
  return oci::WriteArchive(ctx.output_dir() + "/" + o.dir, ctx.output_dir() + "/" + o.archive,
                           image.config.created);
}

}  // namespace

std::string OciDirName(const profiles::Profile& p) { return p.name + ".oci"; }
std::string OciArchiveName(const profiles::Profile& p) { return p.name + ".oci.tar"; }

Result<Stage> BaseOciStage(const profiles::Profile& p) {
  auto manifest = oci::ResolveTag(p.base.path, p.base.tag);
  if (!manifest) return Error{p.Where("base").ToString() + ": base.oci: " + manifest.error()};
  return MakeStage({.name = "base"}, BaseOciOptions{p.base.path, p.base.tag, manifest->digest},
                   RunBaseOci);
}

Result<Stage> OciOutputStage(const profiles::Profile& p, int64_t source_date_epoch,
                             std::vector<std::string> layers, bool archive) {
  auto platform = oci::PlatformOf(p.distribution.arch);
  if (!platform)
    return Error{p.Where("distribution.arch").ToString() +
                 ": output.formats oci: " + platform.error()};
  oci::WriteOptions w = ImageOptions(p, *platform, source_date_epoch);
  OciOptions o{.dir = OciDirName(p),
               .archive = archive ? OciArchiveName(p) : "",
               .architecture = platform->architecture,
               .variant = platform->variant,
               .per_layer = p.output.oci.layers == profiles::OciLayers::kPipeline,
               .zstd = p.output.oci.compression == profiles::LayerCompression::kZstd,
               .source_date_epoch = source_date_epoch,
               .env = w.config.env,
               .cmd = w.config.cmd,
               .ref_name = w.ref_name,
               .annotations = w.annotations};
  return MakeStage(
      {.name = kOciStage, .output = OutputKind::kArtifact, .parents = std::move(layers)},
      std::move(o), RunOci);
}

Status PublishTree(const std::string& from, const std::string& to) {
  std::string tmp = to + ".part", old = to + ".old";
  struct stat st;
  if (lstat(tmp.c_str(), &st) == 0)
    if (auto s = RemoveTree(tmp); !s) return s;
  if (auto s = CopyLinked(from, tmp); !s) return s;
  bool had_old = lstat(to.c_str(), &st) == 0;
  if (had_old) {
    if (lstat(old.c_str(), &st) == 0)
      if (auto s = RemoveTree(old); !s) return s;
    if (rename(to.c_str(), old.c_str()) != 0) return ErrnoError("rename " + to);
  }
  if (rename(tmp.c_str(), to.c_str()) != 0) return ErrnoError("rename " + tmp);
  if (had_old) return RemoveTree(old);
  return {};
}

}  // namespace imager::stages
