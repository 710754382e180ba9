// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Specs for in-namespace work done by imager itself (unpacking, writing tarballs...): the
/// host's /usr read-only as the userland, imager run from a pinned descriptor, work directories
/// bound in, so files get the image's owners through the id mapping without using the image's
/// userland.

#include <functional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/tree_index.h"
#include "sandbox/spec.h"

namespace imager::sandbox {

/// The name imager's own binary runs under inside a tools sandbox (argv[0]; the binary itself is
/// run from a descriptor, see PinSelfExe).
inline constexpr const char* kSelfInSandbox = "/.imager/imager";

/// Opens the running executable once, at start-up: the tools sandboxes run their helpers from
/// that descriptor, so replacing or deleting the binary during a build (a rebuild of imager)
/// does not break the build. Idempotent.
void PinSelfExe();

/// The running executable's path on the host (where it was started from, also after it was
/// replaced or deleted there).
Result<std::string> SelfExe();

/// A sandbox that runs `imager internal ARGS...` with the given binds and overlays.
Result<SandboxSpec> InternalSpec(const IdMap& idmap, std::vector<BindSpec> binds,
                                 std::vector<OverlaySpec> overlays,
                                 const std::vector<std::string>& args);

/// Removes `path` from inside the id mapping, where files a sandboxed build gave to other users
/// (subordinate ids) can be deleted; the caller alone could not.
Status RemoveTreeInSandbox(const IdMap& idmap, const std::string& path);

/// IndexTree(path, previous) from inside the id mapping, where the files that subordinate ids
/// own can be read; owners appear as the image sees them (0 for root).
Result<TreeIndex> IndexTreeInSandbox(const IdMap& idmap, const std::string& path,
                                     const TreeIndex* previous);

/// The cache's index function for builds with `idmap` (engine::IndexFunction): outside the
/// mapping first, and inside it when the tree holds files the caller cannot read or `*in_ids`
/// asks for it (the entry was indexed there: owners must be seen the same way).
std::function<Result<TreeIndex>(const std::string&, const TreeIndex*, bool*)> CacheIndexer(
    const IdMap& idmap);

}  // namespace imager::sandbox
