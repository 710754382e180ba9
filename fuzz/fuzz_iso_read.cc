// SPDX-License-Identifier: GPL-3.0-or-later
// ISO images as `imager iso` reads them: the input is the image file. Inspect (volume
// descriptors, El Torito catalog, MBR, GPT, layout, SHA256SUMS and isomd5sum verified), a listing
// of the root, and an extraction into a fresh directory that must not leak out of it
// (fuzz::Jail). The seeds (make_corpus.py, xorriso) hold Rock Ridge names '..' and 'a/c' and
// symlinks to '..' and '/proc/self/cwd/..'.
#include <string>

#include "formats/iso_inspect.h"
#include "formats/iso_read.h"
#include "fuzz/fuzz_util.h"

using namespace imager;
namespace iso = formats::iso;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::Jail jail;
  const std::string& dest = jail.Fresh();
  std::string image =
      fuzz::TempFile("image.iso", std::string_view(reinterpret_cast<const char*>(data), size));
  auto reader = iso::Reader::Open(image);
  if (!reader) {
    fuzz::Note(reader.error());
    return 0;
  }
  auto in = iso::Inspect(**reader, {});
  fuzz::Note(in ? "layout " + in->layout + ", " + std::to_string(in->boot_entries.size()) +
                      " boot entries"
                : in.error());
  auto list = (*reader)->List("/");
  fuzz::Note(list ? std::to_string(list->size()) + " entries in /" : list.error());
  auto report = iso::Extract(**reader, dest, {});
  fuzz::Note(report ? std::to_string(report->files) + " files extracted" : report.error());
  jail.Check();
  return 0;
}
