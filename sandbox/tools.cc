// SPDX-License-Identifier: GPL-3.0-or-later
#include "sandbox/tools.h"

#include <unistd.h>

#include "base/fs.h"

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

}  // namespace imager::sandbox
