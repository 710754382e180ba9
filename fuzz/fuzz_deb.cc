// SPDX-License-Identifier: GPL-3.0-or-later
// Debian binary packages: the ar archive, the control fields of control.tar.*, the owners listed
// in data.tar.* and data.tar.* unpacked into a fresh directory; aborts when anything lands
// outside it (fuzz::Jail).
#include <string>

#include "formats/deb.h"
#include "fuzz/fuzz_util.h"

using namespace imager;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::Jail jail;
  std::string deb =
      fuzz::TempFile("p.deb", std::string_view(reinterpret_cast<const char*>(data), size));
  if (auto fields = formats::deb::ReadControl(deb); fields.ok())
    if (auto it = fields->find("Depends"); it != fields->end())
      (void)formats::deb::ParseRelations(it->second);
  (void)formats::deb::ListOwned(deb);
  auto report = formats::deb::ExtractData(deb, jail.Fresh());
  fuzz::Note(report ? std::to_string(report->entries) + " entries" : report.error());
  jail.Check();
  return 0;
}
