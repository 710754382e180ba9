// SPDX-License-Identifier: GPL-3.0-or-later
// What a registry client reads from the network or from auth files: registry references,
// WWW-Authenticate challenges, auth.json credentials, Link headers, Location URLs and error
// bodies. Each parser gets the whole input; a reference that parses must print back to itself.
#include <string>

#include "fuzz/fuzz_util.h"
#include "oci/registry.h"

using namespace imager;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  if (auto ref = oci::ParseRegistryRef(text); ref.ok()) {
    auto again = oci::ParseRegistryRef(ref->ToString());
    if (!again.ok() || again->ToString() != ref->ToString())
      fuzz::Die("reference " + text + " does not round-trip through " + ref->ToString());
  }
  for (const auto& challenge : oci::ParseWwwAuthenticate(text))
    if (challenge.scheme.empty()) fuzz::Die("a challenge without a scheme");
  (void)oci::FindCredentials(text, "reg.example.com:5000", "imager/cache");
  (void)oci::DecodeBase64(text);
  std::string next = oci::NextLink(text);
  (void)oci::ResolveUrl("https://reg.example.com/v2/a/tags/list?n=1", next);
  (void)oci::ResolveUrl(text, "/v2/");
  (void)oci::RegistryErrorText(text);
  (void)oci::UrlEncode(text);
  return 0;
}
