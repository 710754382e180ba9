// SPDX-License-Identifier: GPL-3.0-or-later
// imager oci: move root filesystems between imager and container tooling. `export` writes a
// directory or tarball as an OCI image layout (or oci-archive tar); `import` verifies an image
// and unpacks it into a directory or tarball. File work runs in the sandbox's id mapping, so the
// caller's files are root's in the image and the image's owners land on subordinate ids.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>

#include "base/fd.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/strings.h"
#include "cmd/verbs.h"
#include "oci/archive.h"
#include "oci/layers.h"
#include "oci/layout.h"
#include "sandbox/idmap.h"
#include "sandbox/launch.h"
#include "sandbox/tools.h"

namespace imager::cmd {
namespace {

struct OciOptions {
  std::string source, layout, dest;
  std::string tag = "latest";
  std::string arch = "amd64";
  std::string compression = "gzip";
  int64_t source_date_epoch = -1;
};

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool IsTarball(const std::string& path) {
  for (const char* s : {".tar", ".tar.gz", ".tgz", ".tar.xz", ".tar.zst"})
    if (EndsWith(path, s)) return true;
  return false;
}

std::string Absolute(const std::string& path) {
  if (StartsWith(path, "/")) return path;
  char cwd[4096];
  return getcwd(cwd, sizeof cwd) ? std::string(cwd) + "/" + path : path;
}

std::string Parent(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

// `imager internal ARGS` in a tools sandbox with `binds`; an error names `what`.
Status RunInternal(const sandbox::IdMap& idmap, std::vector<sandbox::BindSpec> binds,
                   const std::vector<std::string>& args, const std::string& what) {
  auto spec = sandbox::InternalSpec(idmap, std::move(binds), {}, args);
  if (!spec) return spec.take_error();
  spec->stdin_null = true;
  // The helpers' reports (entries, skipped device nodes) only with --verbose; errors always.
  UniqueFd devnull(open("/dev/null", O_WRONLY | O_CLOEXEC));
  if (log::GetLevel() < log::Level::kVerbose && devnull.valid()) spec->stdout_fd = devnull.get();
  auto st = sandbox::Launch(*spec);
  if (!st) return Wrap(what, st.error());
  if (st->signaled || st->code != 0) return Error{what + ": " + st->Describe()};
  return {};
}

std::vector<std::string> EpochArgs(int64_t sde) {
  if (sde < 0) return {};
  return {"--source-date-epoch", std::to_string(sde)};
}

Status Export(const OciOptions& o, const sandbox::IdMap& idmap) {
  std::string src = Absolute(o.source), out = Absolute(o.layout);
  bool archive = EndsWith(out, ".tar");
  struct stat st;
  if (lstat(out.c_str(), &st) == 0) return Error{"export to " + out + ": it already exists"};
  auto platform = oci::PlatformOf(o.arch);
  if (!platform) return platform.take_error();
  auto comp = oci::ParseCompression(o.compression);
  if (!comp) return comp.take_error();
  auto work = MakeTempDir(Parent(out), ".imager-oci-");
  if (!work) return work.take_error();
  std::string root = src;
  auto run = [&]() -> Status {
    if (IsTarball(src)) {  // unpacked inside the id mapping, keeping the tarball's owners
      root = *work + "/root";
      if (mkdir(root.c_str(), 0755) != 0) return ErrnoError("create " + root);
      if (auto s = RunInternal(
              idmap, {{src, "/in/src", true}, {root, "/out", false, /*record_owners=*/true}},
              {"extract-tar", "/in/src", "/out"}, "unpack " + src);
          !s)
        return s;
    } else if (stat(src.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return Error{"export " + src +
                   ": not a directory or tarball (.tar, .tar.gz, .tar.xz, .tar.zst)"};
    }
    std::string layer = std::string("layer") + oci::LayerSuffix(*comp);
    std::vector<std::string> args{"write-tar", "/in/root", "/out/" + layer};
    for (const auto& a : EpochArgs(o.source_date_epoch)) args.push_back(a);
    if (auto s = RunInternal(idmap, {{root, "/in/root", true}, {*work, "/out", false}}, args,
                             "write the layer of " + src);
        !s)
      return s;
    oci::WriteOptions w;
    w.config.platform = *platform;
    w.config.created = o.source_date_epoch >= 0 ? o.source_date_epoch : 0;
    w.config.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
    w.config.cmd = {"/bin/sh"};
    w.ref_name = o.tag;
    w.layer_media_type = oci::LayerMediaType(*comp);
    w.history = {"imager oci export"};
    w.annotations["org.opencontainers.image.created"] = oci::Rfc3339(w.config.created);
    std::string dir = archive ? *work + "/layout" : out;
    auto m = oci::Write(dir, {*work + "/" + layer}, w);
    if (!m) return m.take_error();
    if (archive)
      if (auto s = oci::WriteArchive(dir, out, w.config.created); !s) return s;
    std::cout << "manifest " << m->digest << "\n" << out << "\n";
    return {};
  };
  Status result = run();
  if (auto rm = sandbox::RemoveTreeInSandbox(idmap, *work); !rm && result) return rm;
  return result;
}

Status Import(const OciOptions& o, const sandbox::IdMap& idmap) {
  std::string path, tag;
  oci::SplitReference(o.layout, &path, &tag);
  path = Absolute(path);
  std::string dest = Absolute(o.dest);
  struct stat st;
  if (lstat(dest.c_str(), &st) == 0 && (IsTarball(dest) || !S_ISDIR(st.st_mode)))
    return Error{"import to " + dest + ": it already exists"};
  std::vector<std::string> unpack{"oci-unpack", "/in/oci", "/out"};
  if (!tag.empty()) unpack.insert(unpack.end(), {"--tag", tag});
  if (!IsTarball(dest)) {
    if (auto s = MakeDirs(dest); !s) return s;
    auto st2 = RunInternal(idmap, {{path, "/in/oci", true}, {dest, "/out", false}}, unpack,
                           "import " + o.layout);
    if (st2) std::cout << dest << "\n";
    return st2;
  }
  auto work = MakeTempDir(Parent(dest), ".imager-oci-");
  if (!work) return work.take_error();
  std::string root = *work + "/root";
  Status result;
  if (mkdir(root.c_str(), 0755) != 0) result = ErrnoError("create " + root);
  if (result)
    result =
        RunInternal(idmap, {{path, "/in/oci", true}, {root, "/out", false, /*record_owners=*/true}},
                    unpack, "import " + o.layout);
  std::string name = dest.substr(dest.rfind('/') + 1);
  std::vector<std::string> args{"write-tar", "/in/root", "/out/" + name};
  for (const auto& a : EpochArgs(o.source_date_epoch)) args.push_back(a);
  if (result)
    result = RunInternal(idmap, {{root, "/in/root", true}, {Parent(dest), "/out", false}}, args,
                         "write " + dest);
  if (auto rm = sandbox::RemoveTreeInSandbox(idmap, *work); !rm && result) return rm;
  if (result) std::cout << dest << "\n";
  return result;
}

}  // namespace

Action SetupOci(CLI::App* app, const GlobalOptions*) {
  auto o = std::make_shared<OciOptions>();
  if (const char* sde = std::getenv("SOURCE_DATE_EPOCH")) o->source_date_epoch = std::atoll(sde);
  auto* ex = app->add_subcommand("export", "Write a directory or tarball as an OCI image layout");
  ex->add_option("source", o->source, "a directory or a .tar[.gz|.xz|.zst] root filesystem")
      ->required();
  ex->add_option("layout", o->layout, "the new layout directory, or NAME.tar for an oci-archive")
      ->required();
  ex->add_option("--tag", o->tag, "the image's ref name")->capture_default_str();
  ex->add_option("--arch", o->arch, "the image's architecture (Debian or RPM name)")
      ->capture_default_str();
  ex->add_option("--compression", o->compression, "gzip or zstd")->capture_default_str();
  ex->add_option("--source-date-epoch", o->source_date_epoch,
                 "every time in the image (default: $SOURCE_DATE_EPOCH, else 0 for the config)");
  auto* im = app->add_subcommand("import", "Verify an OCI image and unpack it");
  im->add_option("layout", o->layout, "LAYOUT[:TAG], an OCI image layout directory")->required();
  im->add_option("dest", o->dest, "a directory, or a .tar[.gz|.xz|.zst] to write")->required();
  im->add_option("--source-date-epoch", o->source_date_epoch, "clamp the tarball's times");
  app->require_subcommand(1);
  app->footer(R"(Examples:
  imager oci export rootfs.tar.gz img.oci --tag v1    # a layout directory
  imager oci export ./tree img.oci.tar                # an oci-archive (skopeo oci-archive:)
  imager oci import img.oci:v1 rootfs/                # unpack, owners kept (subordinate ids)
  imager oci import img.oci:v1 rootfs.tar.gz          # as a tarball with the image's owners)");
  return [o, ex]() -> int {
    sandbox::IdMap idmap = sandbox::DetectIdMap(nullptr, nullptr);
    Status st = ex->parsed() ? Export(*o, idmap) : Import(*o, idmap);
    if (!st) {
      log::Err(st.error());
      return kExitFailed;
    }
    return kExitOk;
  };
}

}  // namespace imager::cmd
