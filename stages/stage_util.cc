// SPDX-License-Identifier: GPL-3.0-or-later
#include "stages/stage_util.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "base/fd.h"
#include "base/fs.h"
#include "base/strings.h"
#include "engine/pipeline.h"
#include "sandbox/launch.h"
#include "sandbox/tools.h"

namespace imager::stages {

namespace {

// What the end of a failed command's log says about the sandbox's limits: a hint naming the limit
// and the setting that raises it, or "". Programs word these failures in their own ways; these
// are the strerror texts and the messages of the common runtimes.
std::string LimitHint(const std::string& log_path, const sandbox::SandboxSpec& spec) {
  std::string tail = LogTail(log_path, 200);
  auto has = [&](std::initializer_list<const char*> words) {
    for (const char* w : words)
      if (tail.find(w) != std::string::npos) return true;
    return false;
  };
  if (has({"Cannot allocate memory", "MemoryError", "std::bad_alloc", "out of memory",
           "Out of memory", "memory exhausted"}))
    return "; a process ran out of memory: each may have " + std::to_string(spec.max_memory >> 20) +
           " MiB of data (raise build.memory_limit_mib in the profile if it needs more)";
  if (has({"fork: Resource temporarily unavailable", "fork: retry: Resource temporarily",
           "Cannot fork", "can't fork"}))
    return "; a process could not fork: the sandbox allows " + std::to_string(spec.max_processes) +
           " processes";
  // A full cache filesystem is the pipeline's hint (engine::NearlyFull); this one is the tmpfs.
  if (has({"No space left on device"}) && !engine::NearlyFull(log_path))
    return "; a filesystem was full: the sandbox's /tmp, /run and /dev/shm hold " +
           std::to_string(spec.tmpfs_bytes >> 20) + " MiB each (the cache's filesystem has room)";
  return "";
}

}  // namespace

Status RunLogged(sandbox::SandboxSpec spec, StageContext& ctx, const std::string& what) {
  spec.stdout_fd = ctx.log_fd();
  spec.stderr_fd = ctx.log_fd();
  spec.stdin_null = true;
  spec.seccomp.noop_fsync = true;  // the cache commit syncs once at the end
  spec.timeout_seconds = ctx.seconds_left();
  if (ctx.memory_limit()) spec.max_memory = ctx.memory_limit();
  ctx.log("$ " + Join(spec.argv, " "));
  auto start = std::chrono::steady_clock::now();
  auto st = sandbox::Launch(spec);
  if (!st) return Error{what + ": sandbox: " + st.error()};
  if (!st->message.empty()) ctx.log(st->message);
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  char line[64];
  snprintf(line, sizeof line, "(%.1f s)", took.count());
  ctx.log(std::string("imager: ") + what + ": " + st->Describe() + " " + line);
  if (st->timed_out)
    return Error{what + ": did not finish within the stage's time limit of " +
                 std::to_string(ctx.time_limit()) +
                 " s and was killed (raise build.stage_timeout in the profile if it needs more)"};
  if (st->signaled || st->code != 0)
    return Error{what + " " + st->Describe() + LimitHint(ctx.log_path(), spec)};
  return {};
}

void MountLayers(const std::vector<StageOutput>& layers, const std::string& target,
                 std::vector<sandbox::BindSpec>* binds, std::vector<sandbox::OverlaySpec>* ovls) {
  if (layers.size() == 1) {
    binds->push_back({layers[0].dir, target, true});
    return;
  }
  sandbox::OverlaySpec o;
  for (const auto& l : layers) o.lowers.push_back(l.dir);
  o.target = target;
  ovls->push_back(o);
}

std::vector<StageOutput> Layers(const StageContext& ctx) {
  std::vector<StageOutput> out;
  for (const auto& p : ctx.parents())
    if (p.kind == OutputKind::kLayer) out.push_back(p);
  return out;
}

Result<sandbox::SandboxSpec> ImageSpec(StageContext& ctx) {
  sandbox::SandboxSpec spec;
  spec.idmap = ctx.idmap();
  spec.root.kind = sandbox::RootSpec::Kind::kOverlay;
  for (const auto& l : Layers(ctx)) spec.root.lowers.push_back(l.dir);
  spec.root.upper = ctx.output_dir();
  spec.root.work = ctx.scratch_dir() + "/work";
  spec.root.record_owners = true;
  if (mkdir(spec.root.work.c_str(), 0700) != 0 && errno != EEXIST)
    return ErrnoError("create " + spec.root.work);
  spec.capabilities = sandbox::DefaultCapabilities();
  spec.env = sandbox::DefaultEnvironment(nullptr);
  return spec;
}

Result<sandbox::SandboxSpec> TargetSpec(StageContext& ctx, std::vector<sandbox::BindSpec> binds,
                                        const std::vector<std::string>& args) {
  auto layers = Layers(ctx);
  if (layers.empty()) {  // the bottom layer: its directory is the whole image
    binds.push_back({ctx.output_dir(), "/target", false, /*record_owners=*/true});
    return sandbox::InternalSpec(ctx.idmap(), std::move(binds), {}, args);
  }
  sandbox::OverlaySpec target;
  for (const auto& l : layers) target.lowers.push_back(l.dir);
  target.upper = ctx.output_dir();
  target.work = ctx.scratch_dir() + "/work";
  target.target = "/target";
  target.record_owners = true;
  if (mkdir(target.work.c_str(), 0700) != 0 && errno != EEXIST)
    return ErrnoError("create " + target.work);
  return sandbox::InternalSpec(ctx.idmap(), std::move(binds), {target}, args);
}

void KeyOnlyYes(KeyInputs& k, const std::string& name, const bool& value) {
  if (value) k.Value(name, "yes");
}

void KeyOnlyNo(KeyInputs& k, const std::string& name, const bool& value) {
  if (!value) k.Value(name, "no");
}

namespace {

Status RunImageFile(StageContext& ctx, const ImageWriter& w) {
  std::vector<sandbox::BindSpec> binds{{ctx.output_dir(), "/out", false}};
  std::vector<sandbox::OverlaySpec> ovls;
  MountLayers(Layers(ctx), "/rootfs", &binds, &ovls);
  std::vector<std::string> args{w.writer, "/rootfs", "/out/" + w.file};
  if (w.source_date_epoch >= 0) {
    args.push_back("--source-date-epoch");
    args.push_back(std::to_string(w.source_date_epoch));
  }
  if (w.overlay_layer) args.push_back("--overlay-layer");
  auto spec = sandbox::InternalSpec(ctx.idmap(), binds, ovls, args);
  if (!spec) return spec.take_error();
  // The squashfs writer compresses on every core; the stages beside it are mostly one process
  // (the distribution's initramfs, a tarball's gzip) and, behind it, the build's end. Yielding
  // to them keeps both cores busy: on 2 cores an [iso, tar] build's initramfs and tarball then
  // no longer wait on the squashfs's threads. The bytes do not depend on it.
  if (w.writer == "write-squashfs") spec->nice = 10;
  return RunLogged(*spec, ctx, "write " + w.file);
}

}  // namespace

Stage ImageFileStage(const std::string& stage, std::vector<std::string> layers, ImageWriter writer,
                     int version) {
  return MakeStage({.name = stage,
                    .version = version,
                    .output = OutputKind::kArtifact,
                    .parents = std::move(layers)},
                   std::move(writer), RunImageFile);
}

Status CopyFile(const std::string& from, const std::string& to, mode_t mode) {
  auto data = ReadFile(from);
  if (!data) return data.take_error();
  if (auto st = MakeDirs(std::filesystem::path(to).parent_path().string()); !st) return st;
  if (auto st = WriteFile(to, *data); !st) return st;
  if (chmod(to.c_str(), mode) != 0) return ErrnoError("chmod " + to);
  return {};
}

Status LinkOrCopy(const std::string& from, const std::string& to) {
  if (auto st = MakeDirs(std::filesystem::path(to).parent_path().string()); !st) return st;
  ::unlink(to.c_str());
  if (::link(from.c_str(), to.c_str()) == 0) return {};
  struct stat st;
  if (stat(from.c_str(), &st) != 0) return ErrnoError("stat " + from);
  return CopyFile(from, to, st.st_mode & 0777);
}

Result<std::vector<std::string>> FilesBelow(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
    if (it->is_regular_file()) out.push_back(std::filesystem::relative(it->path(), dir).string());
  if (ec) return Error{"list " + dir + ": " + ec.message()};
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace imager::stages
