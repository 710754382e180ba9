// SPDX-License-Identifier: GPL-3.0-or-later
// rpm-md metadata. Parts cut at "--8<--" lines: repomd.xml, then primary.xml, then comps.xml;
// repomd.xml goes to imager's parser, primary and comps into a pool as resolution loads them,
// and the groups are expanded as `@group` requests are.
#include <string>

#include "fuzz/fuzz_util.h"
#include "repo/rpmmd.h"

using namespace imager;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parts = fuzz::SplitParts(data, size);
  if (auto md = repo::ParseRepoMd(parts[0], "repomd.xml"); md.ok())
    for (const char* type : {"primary", "group", "group_gz", "filelists"}) (void)md->Find(type);
  if (parts.size() < 2) return 0;
  repo::RpmMdMetadata md;
  md.url = "http://mirror.invalid/repo";
  md.primary.path = fuzz::TempFile("primary.xml", parts[1]);
  if (parts.size() > 2) {
    md.comps.emplace();
    md.comps->path = fuzz::TempFile("comps.xml", parts[2]);
  }
  repo::Pool pool(profiles::Family::kRpm, "x86_64");
  if (!repo::AddRpmMd(pool, md)) return 0;
  (void)pool.Names();
  std::vector<std::string> warnings;
  (void)repo::ExpandGroups(pool, {"@core", "@core --optional", "@Core"}, &warnings);
  return 0;
}
