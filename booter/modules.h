// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Module loading at boot: the files of the build-time closure (modclosure.h), in the given
/// order, with finit_module; xz and zstd compressed modules are handed to the kernel to
/// decompress when it can, else decompressed here and loaded with init_module.

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace imager::booter {

enum class Compression { kNone, kXz, kZstd, kGzip };

/// The compression of a module file, from its name (".ko", ".ko.xz", ".ko.zst", ".ko.gz").
Compression CompressionOf(std::string_view path);

/// Decompresses a whole xz or zstd stream held in memory.
Result<std::string> Decompress(std::string_view data, Compression c);

struct LoadReport {
  unsigned loaded = 0;
  unsigned already = 0;             // EEXIST: built in or loaded before
  std::vector<std::string> errors;  // one per module that failed; loading goes on
};

/// Loads each module in order; relative paths are taken under `dir` (/lib/modules/RELEASE).
LoadReport LoadModules(const std::vector<std::string>& paths, const std::string& dir);

}  // namespace imager::booter
