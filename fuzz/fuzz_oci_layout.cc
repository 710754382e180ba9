// SPDX-License-Identifier: GPL-3.0-or-later
// OCI image layouts: index.json, the manifest, the config and the layers, read and verified as
// `base: oci` reads them, then unpacked into a fresh directory (aborts when anything lands
// outside it, fuzz::Jail). Parts cut at "--8<--" lines: index.json, manifest, config, then one
// part per layer. Digests cannot be fuzzed into matching, so the target stores every blob under
// its real digest and fills placeholders first: @LAYERn@, @LAYERn_SIZE@ and @LAYERn_DIFFID@ (n
// from 0) in the config and manifest, @CONFIG@ and @CONFIG_SIZE@ in the manifest, @MANIFEST@ and
// @MANIFEST_SIZE@ in index.json.
#include <string>
#include <utility>
#include <vector>

#include "base/sha256.h"
#include "fuzz/fuzz_util.h"
#include "oci/layout.h"
#include "oci/unpack.h"

using namespace imager;

namespace {

using Substitutions = std::vector<std::pair<std::string, std::string>>;

std::string Fill(std::string_view text, const Substitutions& subs) {
  std::string out(text);
  for (const auto& [from, to] : subs)
    for (size_t at = out.find(from); at != std::string::npos; at = out.find(from, at + to.size()))
      out.replace(at, from.size(), to);
  return out;
}

// Stores `blob` in the layout and adds NAME -> digest and NAME_SIZE -> size to `subs`.
std::string Put(const std::string& dir, const std::string& name, const std::string& blob,
                Substitutions* subs) {
  std::string digest = "sha256:" + Sha256Hex(blob);
  fuzz::Write(oci::BlobPath(dir, digest), blob);
  // Longer names first, so that @LAYER1_SIZE@ is not taken for @LAYER1@ + "_SIZE@".
  subs->insert(subs->begin(), {"@" + name + "_SIZE@", std::to_string(blob.size())});
  subs->push_back({"@" + name + "@", digest});
  return digest;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static fuzz::Jail jail;
  auto parts = fuzz::SplitParts(data, size);
  if (parts.size() < 3) return 0;
  std::string dir = fuzz::Scratch() + "/layout";
  fuzz::RemoveAll(dir);
  for (const auto& d : {dir, dir + "/blobs", dir + "/blobs/sha256"})
    if (mkdir(d.c_str(), 0755) != 0) fuzz::Die("mkdir " + d);
  fuzz::Write(dir + "/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}\n");

  Substitutions subs;
  for (size_t i = 3; i < parts.size(); ++i) {
    std::string name = "LAYER" + std::to_string(i - 3);
    std::string digest = Put(dir, name, std::string(parts[i]), &subs);
    if (auto diff_id = oci::DiffId(oci::BlobPath(dir, digest)); diff_id.ok())
      subs.insert(subs.begin(), {"@" + name + "_DIFFID@", *diff_id});
  }
  Put(dir, "CONFIG", Fill(parts[2], subs), &subs);
  Put(dir, "MANIFEST", Fill(parts[1], subs), &subs);
  fuzz::Write(dir + "/index.json", Fill(parts[0], subs));

  (void)oci::ResolveTag(dir, "latest");
  auto image = oci::Read(dir, "");
  if (!image) {
    fuzz::Note(image.error());
    return 0;
  }
  auto report = oci::Unpack(*image, jail.Fresh());
  fuzz::Note(report ? "unpacked " + std::to_string(report->entries) + " entries" : report.error());
  jail.Check();
  return 0;
}
