// SPDX-License-Identifier: GPL-3.0-or-later
// Debian Packages indexes: loaded into a libsolv pool as resolution loads them (with imager's own
// scan for Priority, Essential and Size), and one stanza read as a control paragraph with its
// dependency fields.
#include <string>

#include "formats/deb.h"
#include "fuzz/fuzz_util.h"
#include "repo/solver.h"

using namespace imager;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  repo::Pool pool(profiles::Family::kDebian, "amd64");
  if (pool.AddDebianPackages(fuzz::TempFile("Packages", text), "http://mirror.invalid/debian")) {
    (void)pool.Names();
    (void)pool.VariantNames(profiles::Variant::kImportant);
    (void)pool.UnprovidedFiles({"/bin/sh"});
  }
  auto fields = formats::deb::ParseControl(text);
  for (const char* f : {"Depends", "Pre-Depends", "Provides"})
    if (auto it = fields.find(f); it != fields.end())
      (void)formats::deb::ParseRelations(it->second);
  return 0;
}
