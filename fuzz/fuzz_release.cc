// SPDX-License-Identifier: GPL-3.0-or-later
// Debian Release/InRelease text: the Release fields and dates, the ASCII armor of keys and
// signatures, and gpgv's status lines that decide whether a signature counts. Each parser gets
// the whole input.
#include <string>

#include "repo/debian.h"
#include "repo/openpgp.h"

using namespace imager;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto r = repo::ParseRelease(text, "Release"); r.ok()) (void)repo::ParseReleaseDate(r->date);
  (void)repo::ParseReleaseDate(text);
  (void)repo::Dearmor(text, "InRelease");
  (void)repo::InterpretGpgvStatus(text, "InRelease", "keyring.gpg");
  return 0;
}
