// SPDX-License-Identifier: GPL-3.0-or-later
#include "sandbox/tools.h"

#include <unistd.h>

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

}  // namespace imager::sandbox
