// SPDX-License-Identifier: GPL-3.0-or-later
#include "profiles/catalog.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "base/strings.h"
#include "profiles/loader.h"

namespace imager::profiles {

namespace fs = std::filesystem;

SearchEnv ProcessSearchEnv() {
  SearchEnv env;
  if (const char* x = getenv("XDG_CONFIG_HOME"); x && *x == '/') env.xdg_config_home = x;
  if (const char* h = getenv("HOME"); h && *h == '/') env.home = h;
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) env.exe = exe.string();
  return env;
}

std::string UserProfileDir(const SearchEnv& env) {
  if (!env.xdg_config_home.empty()) return env.xdg_config_home + "/imager/profiles";
  if (!env.home.empty()) return env.home + "/.config/imager/profiles";
  return "";
}

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

std::vector<ProfileDir> ProfileSearchPath(const SearchEnv& env) {
  std::vector<ProfileDir> dirs = {{".", "current directory"}};
  if (std::string user = UserProfileDir(env); !user.empty()) dirs.push_back({user, "user"});
  for (const auto& d : env.system_dirs)
    dirs.push_back({d, d.starts_with("/etc/") ? "system" : "package"});
  if (!env.exe.empty())
    for (const auto& d : ShippedProfileDirs(env.exe)) dirs.push_back({d, "shipped"});
  // Each directory once: an installed /usr/bin/imager's own directory is the package's.
  std::vector<ProfileDir> out;
  std::vector<fs::path> seen;
  for (auto& d : dirs) {
    std::error_code ec;
    fs::path key = fs::weakly_canonical(fs::absolute(d.path, ec), ec);
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) continue;
    seen.push_back(key);
    out.push_back(std::move(d));
  }
  return out;
}

namespace {

ListedProfile Describe(const fs::path& file, const std::string& origin) {
  ListedProfile lp{file.string(), file.stem().string(), "", origin, ""};
  auto p = LoadProfile(file.string());
  if (!p) {
    lp.error = Split(p.error(), '\n')[0];
    return lp;
  }
  lp.description = p->description;
  return lp;
}

}  // namespace

std::vector<ListedProfile> ListProfiles(const std::vector<ProfileDir>& dirs) {
  std::vector<ListedProfile> out;
  for (const auto& dir : dirs) {
    std::vector<fs::path> files;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir.path, ec))
      if (e.path().extension() == ".yaml" && e.is_regular_file(ec)) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::string name = f.stem().string();
      bool dup = std::any_of(out.begin(), out.end(),
                             [&](const ListedProfile& o) { return o.name == name; });
      if (!dup) out.push_back(Describe(f, dir.origin));
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const ListedProfile& a, const ListedProfile& b) { return a.name < b.name; });
  return out;
}

Result<std::string> FindProfile(const std::string& arg, const std::vector<ProfileDir>& dirs) {
  fs::path p(arg);
  bool pathlike =
      arg.find('/') != std::string::npos || p.extension() == ".yaml" || p.extension() == ".yml";
  if (pathlike) return arg;
  std::vector<std::string> searched;
  for (const auto& d : dirs) {
    std::error_code ec;
    fs::path candidate = fs::path(d.path) / (arg + ".yaml");
    if (fs::is_regular_file(candidate, ec))
      return d.path == "." ? arg + ".yaml" : candidate.string();
    searched.push_back(d.path);
  }
  return Error{"no profile named '" + arg + "' (looked for " + arg + ".yaml in " +
               Join(searched, ", ") +
               "; 'imager profile list' shows the profiles found, a path is used as it is)"};
}

Result<std::string> ResolveProfileArg(const std::string& arg) {
  return FindProfile(arg, ProfileSearchPath(ProcessSearchEnv()));
}

}  // namespace imager::profiles
