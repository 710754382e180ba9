// SPDX-License-Identifier: GPL-3.0-or-later
// Archive extraction as imager extracts base tarballs: libarchive reads any format it knows
// (tar, pax, cpio newc/odc, ar, ...) and any compression, so the corpus holds tar and cpio
// archives. Unpacks into a fresh directory and aborts when anything lands outside it (fuzz::Jail).
#include <string>

#include "formats/tar.h"
#include "fuzz/fuzz_util.h"

using namespace imager;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::Jail jail;
  const std::string& dest = jail.Fresh();
  std::string archive =
      fuzz::TempFile("archive", std::string_view(reinterpret_cast<const char*>(data), size));
  auto report = formats::tar::Extract(archive, dest);
  fuzz::Note(report ? std::to_string(report->entries) + " entries" : report.error());
  jail.Check();
  return 0;
}
