// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Small shared pieces of the libarchive readers and writers: an owning pointer and an error
/// that carries libarchive's own message.

#include <archive.h>
#include <archive_entry.h>

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

/// The entry's path. libarchive gives none (nullptr) for an entry with an empty name or with one
/// it cannot convert to the locale's charset; such an entry is an error, not a crash.
inline Result<std::string> EntryPath(archive_entry* e, const std::string& origin) {
  const char* name = archive_entry_pathname(e);
  if (!name) return Error{origin + ": an entry without a name, or with one that is not text"};
  return std::string(name);
}

}  // namespace imager::formats
