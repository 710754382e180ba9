// SPDX-License-Identifier: GPL-3.0-or-later
#include "profiles/catalog.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "base/strings.h"
#include "profiles/loader.h"

namespace imager::profiles {

namespace fs = std::filesystem;

std::vector<std::string> ShippedProfileDirs(const std::string& exe) {
  std::vector<std::string> dirs;
  fs::path bin = fs::path(exe).parent_path();
  for (const fs::path& d :
       {bin / ".." / "profiles", bin / ".." / "share" / "imager" / "profiles"}) {
    std::error_code ec;
    if (fs::is_directory(d, ec)) dirs.push_back(d.lexically_normal().string());
  }
  return dirs;
}

namespace {

ShippedProfile Describe(const fs::path& file) {
  ShippedProfile sp{file.string(), file.stem().string(), "", ""};
  auto p = LoadProfile(file.string());
  if (!p) {
    sp.error = Split(p.error(), '\n')[0];
    return sp;
  }
  sp.name = p->name;
  sp.description = p->description;
  return sp;
}

}  // namespace

std::vector<ShippedProfile> ListShippedProfiles(const std::vector<std::string>& dirs) {
  std::vector<ShippedProfile> out;
  for (const auto& dir : dirs) {
    std::vector<fs::path> files;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".yaml" && e.is_regular_file(ec)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      ShippedProfile sp = Describe(f);
      bool dup = std::any_of(out.begin(), out.end(),
                             [&](const ShippedProfile& o) { return o.name == sp.name; });
      if (!dup) out.push_back(sp);
    }
  }
  std::stable_sort(out.begin(), out.end(), [](const ShippedProfile& a, const ShippedProfile& b) {
    return a.name < b.name;
  });
  return out;
}

std::string FindProfile(const std::string& arg, const std::vector<std::string>& dirs) {
  std::error_code ec;
  fs::path p(arg);
  bool pathlike =
      arg.find('/') != std::string::npos || p.extension() == ".yaml" || p.extension() == ".yml";
  if (pathlike || fs::exists(p, ec)) return arg;
  for (const auto& d : dirs) {
    fs::path candidate = fs::path(d) / (arg + ".yaml");
    if (fs::is_regular_file(candidate, ec)) return candidate.string();
  }
  return arg;
}

}  // namespace imager::profiles
