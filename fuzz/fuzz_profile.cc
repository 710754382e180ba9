// SPDX-License-Identifier: GPL-3.0-or-later
// Profiles: the YAML tree parser and the whole loader (extends, schema, validation). The input is
// the profile; a part after a "--8<--" line becomes base.yaml beside it, for `extends: base.yaml`.
#include <string>

#include "fuzz/fuzz_util.h"
#include "profiles/loader.h"
#include "profiles/yaml_tree.h"

using namespace imager;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parts = fuzz::SplitParts(data, size);
  std::string text(parts[0]);
  if (auto tree = profiles::ParseYaml(text, "fuzz.yaml"); tree.ok()) profiles::Merge(*tree, *tree);
  fuzz::TempFile("base.yaml", parts.size() > 1 ? parts[1] : std::string_view());
  std::vector<std::string> errors;
  (void)profiles::LoadProfile(fuzz::TempFile("profile.yaml", text), &errors);
  return 0;
}
