// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Small shared pieces of the libarchive readers and writers: an owning pointer and an error
/// that carries libarchive's own message.

#include <archive.h>

#include <memory>
#include <string>

#include "base/result.h"

namespace imager::formats {

using ArchivePtr = std::unique_ptr<archive, int (*)(archive*)>;

/// "WHAT: libarchive's message".
inline Error ArchiveError(const std::string& what, archive* a) {
  const char* msg = archive_error_string(a);
  return Error{what + ": " + (msg ? msg : "unknown libarchive error")};
}

}  // namespace imager::formats
