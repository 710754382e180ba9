// SPDX-License-Identifier: GPL-3.0-or-later
#include "sandbox/tools.h"

#include <unistd.h>

#include "base/fd.h"
#include "base/fs.h"
#include "sandbox/launch.h"

extern char** environ;

namespace imager::sandbox {

Result<std::string> SelfExe() { return Canonical("/proc/self/exe"); }

Result<SandboxSpec> InternalSpec(const IdMap& idmap, std::vector<BindSpec> binds,
                                 std::vector<OverlaySpec> overlays,
                                 const std::vector<std::string>& args) {
  auto self = SelfExe();
  if (!self) return self.take_error();
  SandboxSpec spec;
  spec.idmap = idmap;
  spec.root.kind = RootSpec::Kind::kTmpfs;
  spec.symlinks = {
      {"/bin", "usr/bin"}, {"/sbin", "usr/sbin"}, {"/lib", "usr/lib"}, {"/lib64", "usr/lib64"}};
  spec.binds = {{"/usr", "/usr", true}, {*self, kSelfInSandbox, true}};
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
