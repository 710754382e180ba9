// SPDX-License-Identifier: GPL-3.0-or-later
#include "sandbox/tools.h"

#include <fcntl.h>
#include <unistd.h>

#include <string_view>

#include "base/fd.h"
#include "base/fs.h"
#include "sandbox/launch.h"

extern char** environ;

namespace imager::sandbox {

namespace {
int self_fd = -1;
}  // namespace

void PinSelfExe() {
  if (self_fd < 0) self_fd = open("/proc/self/exe", O_PATH | O_CLOEXEC);
}

Result<std::string> SelfExe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n < 0) return ErrnoError("readlink /proc/self/exe");
  std::string path(buf, static_cast<size_t>(n));
  constexpr std::string_view kDeleted = " (deleted)";
  if (path.size() > kDeleted.size() && path.ends_with(kDeleted))
    path.resize(path.size() - kDeleted.size());
  return path;
}

Result<SandboxSpec> InternalSpec(const IdMap& idmap, std::vector<BindSpec> binds,
                                 std::vector<OverlaySpec> overlays,
                                 const std::vector<std::string>& args) {
  PinSelfExe();
  if (self_fd < 0) return ErrnoError("open /proc/self/exe");
  SandboxSpec spec;
  spec.idmap = idmap;
  spec.root.kind = RootSpec::Kind::kTmpfs;
  spec.symlinks = {
      {"/bin", "usr/bin"}, {"/sbin", "usr/sbin"}, {"/lib", "usr/lib"}, {"/lib64", "usr/lib64"}};
  spec.binds = {{"/usr", "/usr", true}};
  spec.exec_fd = self_fd;
  if (access("/etc/ld.so.cache", R_OK) == 0)
    spec.binds.push_back({"/etc/ld.so.cache", "/etc/ld.so.cache", true});
  for (auto& b : binds) spec.binds.push_back(std::move(b));
  spec.overlays = std::move(overlays);
  spec.capabilities = DefaultCapabilities();
  spec.env = DefaultEnvironment(environ);
  spec.argv = {kSelfInSandbox, "internal"};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  return spec;
}

Status RemoveTreeInSandbox(const IdMap& idmap, const std::string& path) {
  if (RemoveTree(path)) return {};  // nothing foreign in it: no sandbox needed
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return Error{"refusing to remove " + path};
  auto spec = InternalSpec(idmap, {{path.substr(0, slash), "/parent", false}}, {},
                           {"rm", "/parent/" + path.substr(slash + 1)});
  if (!spec) return spec.take_error();
  spec->stdin_null = true;
  auto st = Launch(*spec);
  if (!st) return Wrap("remove " + path, st.error());
  if (st->signaled || st->code != 0) return Error{"remove " + path + ": " + st->Describe()};
  return {};
}

Result<TreeIndex> IndexTreeInSandbox(const IdMap& idmap, const std::string& path,
                                     const TreeIndex* previous) {
  const char* tmp = getenv("TMPDIR");
  auto work = MakeTempDir(tmp && *tmp ? tmp : "/tmp", "imager-index.");
  if (!work) return work.take_error();
  struct Cleanup {
    std::string dir;
    ~Cleanup() { (void)RemoveTree(dir); }
  } cleanup{*work};
  std::vector<std::string> args = {"tree-index", "/tree", "--out", "/work/index"};
  if (previous) {
    if (auto st = WriteFile(*work + "/previous", previous->Serialize()); !st)
      return st.take_error();
    args.insert(args.end(), {"--previous", "/work/previous"});
  }
  auto spec = InternalSpec(idmap, {{path, "/tree", true}, {*work, "/work", false}}, {}, args);
  if (!spec) return spec.take_error();
  spec->stdin_null = true;
  auto st = Launch(*spec);
  if (!st) return Wrap("index " + path, st.error());
  if (st->signaled || st->code != 0) return Error{"index " + path + ": " + st->Describe()};
  auto text = ReadFile(*work + "/index");
  if (!text) return text.take_error();
  return TreeIndex::Parse(*text);
}

std::function<Result<TreeIndex>(const std::string&, const TreeIndex*, bool*)> CacheIndexer(
    const IdMap& idmap) {
  return [idmap](const std::string& dir, const TreeIndex* previous,
                 bool* in_ids) -> Result<TreeIndex> {
    if (!*in_ids) {
      auto index = IndexTree(dir, previous);
      if (index || !IsPermissionError(index.error())) return index;
      *in_ids = true;
    }
    return IndexTreeInSandbox(idmap, dir, previous);
  };
}

}  // namespace imager::sandbox
