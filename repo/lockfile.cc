// SPDX-License-Identifier: GPL-3.0-or-later
#include "repo/lockfile.h"

#include "families/family.h"
#include "installer/installer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "base/fd.h"
#include "base/strings.h"

namespace imager::repo {
namespace {

using nlohmann::json;

std::vector<std::string> SortedUnique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

std::string VariantName(profiles::Variant v) {
  return v == profiles::Variant::kNone ? "none" : profiles::NameOf(v);
}

json RequestJson(const LockRequest& r) {
  json repos = json::array();
  for (const auto& x : r.repositories)
    repos.push_back({{"type", x.type}, {"suite", x.suite}, {"components", x.components}});
  json j = {{"family", r.family},   {"arch", r.arch},       {"variant", r.variant},
            {"include", r.include}, {"exclude", r.exclude}, {"recommends", r.recommends},
            {"repositories", repos}};
  // Locks of profiles without tools or an installer stay as they were.
  if (!r.tools.empty()) j["tools"] = r.tools;
  if (!r.installer.empty()) j["installer"] = r.installer;
  if (!r.offline.empty()) j["offline"] = r.offline;
  return j;
}

json PackagesJson(const std::vector<LockedPackage>& packages) {
  json pkgs = json::array();
  for (const auto& p : packages)
    pkgs.push_back({{"name", p.name},
                    {"version", p.version},
                    {"architecture", p.arch},
                    {"url", p.url},
                    {"sha256", p.sha256},
                    {"size", p.size}});
  return pkgs;
}

std::vector<LockedPackage> ParsePackages(const json& list) {
  std::vector<LockedPackage> out;
  for (const auto& x : list)
    out.push_back({x.at("name").get<std::string>(), x.at("version").get<std::string>(),
                   x.at("architecture").get<std::string>(), x.at("url").get<std::string>(),
                   x.at("sha256").get<std::string>(), x.at("size").get<int64_t>()});
  return out;
}

std::string Show(const std::vector<std::string>& v) { return "[" + Join(v, ", ") + "]"; }

std::string ShowRepos(const std::vector<LockRequest::Repo>& repos) {
  std::vector<std::string> parts;
  for (const auto& r : repos)
    parts.push_back(r.type + " " + r.suite + (r.components.empty() ? "" : " ") +
                    Join(r.components, " "));
  return Show(parts);
}

// "the profile adds [x], drops [y]" for two sorted lists.
std::string ListDiff(const std::vector<std::string>& lock, const std::vector<std::string>& now) {
  std::vector<std::string> added, dropped;
  std::set_difference(now.begin(), now.end(), lock.begin(), lock.end(), std::back_inserter(added));
  std::set_difference(lock.begin(), lock.end(), now.begin(), now.end(),
                      std::back_inserter(dropped));
  std::vector<std::string> parts;
  if (!added.empty()) parts.push_back("the profile adds " + Show(added));
  if (!dropped.empty())
    parts.push_back((added.empty() ? "the profile drops " : "drops ") + Show(dropped));
  return Join(parts, ", ");
}

}  // namespace

int64_t Lock::TotalSize() const {
  int64_t total = 0;
  for (const auto* list : {&packages, &tools, &installer, &offline})
    for (const auto& p : *list) total += std::max<int64_t>(p.size, 0);
  return total;
}

LockRequest RequestOf(const profiles::Profile& profile) {
  LockRequest r;
  r.family = profiles::NameOf(profile.distribution.family);
  r.arch = profile.distribution.arch;
  r.variant = VariantName(profile.packages.variant);
  r.include = profile.packages.include;
  for (auto& n : families::InstalledSystemPackages(profile)) r.include.push_back(std::move(n));
  r.include = SortedUnique(std::move(r.include));
  r.exclude = SortedUnique(profile.packages.exclude);
  r.recommends = profile.packages.recommends;
  r.tools = families::ToolPackages(profile);
  r.installer = installer::LivePackages(profile);
  r.offline = SortedUnique(profile.installer.offline_packages);
  for (const auto& repo : profile.repositories) {
    LockRequest::Repo x;
    x.type = profiles::NameOf(repo.type);
    x.suite = repo.type == profiles::RepoType::kDeb ? repo.suite : repo.url;
    x.components = repo.components;
    r.repositories.push_back(std::move(x));
  }
  return r;
}

namespace {

bool WritableDir(const std::string& dir) {
  return ::access(dir.empty() ? "." : dir.c_str(), W_OK) == 0;
}

}  // namespace

LockPlace LockPlaceFor(const profiles::Profile& profile, const LockPlaceOptions& o) {
  if (!o.explicit_path.empty()) return {o.explicit_path, ""};
  std::filesystem::path source(profile.source);
  std::string file = source.stem().string() + ".lock";
  std::string dir = source.parent_path().string();
  bool (*writable)(const std::string&) = o.writable ? o.writable : WritableDir;
  if (writable(dir) || o.out_dir.empty()) return {(std::filesystem::path(dir) / file).string(), ""};
  std::string path = (std::filesystem::path(o.out_dir) / file).string();
  return {path, (dir.empty() ? std::string(".") : dir) +
                    " (the profile's directory) is not writable: the lock file is " + path};
}

std::string LockToJson(const Lock& lock) {
  json repos = json::array();
  for (const auto& r : lock.repositories)
    repos.push_back({{"url", r.url},
                     {"suite", r.suite},
                     {"date", r.date},
                     {"release", r.release},
                     {"sha256", r.sha256}});
  json j = {{"lockfile-version", lock.version},
            {"request", RequestJson(lock.request)},
            {"repositories", repos},
            {"packages", PackagesJson(lock.packages)}};
  if (!lock.tools.empty()) j["tools"] = PackagesJson(lock.tools);
  if (!lock.installer.empty()) j["installer"] = PackagesJson(lock.installer);
  if (!lock.offline.empty()) j["offline"] = PackagesJson(lock.offline);
  return j.dump(2) + "\n";  // nlohmann::json keeps object keys sorted
}

Result<Lock> ParseLock(const std::string& text, const std::string& origin) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Error{origin + ": not a JSON object"};
  try {
    Lock lock;
    lock.version = j.at("lockfile-version").get<int>();
    if (lock.version != 1)
      return Error{origin + ": lockfile-version " + std::to_string(lock.version) +
                   " is not supported (this imager reads version 1)"};
    const json& r = j.at("request");
    lock.request.family = r.at("family").get<std::string>();
    lock.request.arch = r.at("arch").get<std::string>();
    lock.request.variant = r.at("variant").get<std::string>();
    lock.request.include = r.at("include").get<std::vector<std::string>>();
    lock.request.exclude = r.at("exclude").get<std::vector<std::string>>();
    lock.request.recommends = r.at("recommends").get<bool>();
    for (const auto& x : r.at("repositories"))
      lock.request.repositories.push_back({x.at("type").get<std::string>(),
                                           x.at("suite").get<std::string>(),
                                           x.at("components").get<std::vector<std::string>>()});
    for (auto [key, list] :
         {std::pair{"tools", &lock.request.tools}, std::pair{"installer", &lock.request.installer},
          std::pair{"offline", &lock.request.offline}})
      if (r.contains(key)) *list = r.at(key).get<std::vector<std::string>>();
    for (const auto& x : j.at("repositories"))
      lock.repositories.push_back({x.at("url").get<std::string>(), x.at("suite").get<std::string>(),
                                   x.at("date").get<std::string>(),
                                   x.at("release").get<std::string>(),
                                   x.at("sha256").get<std::string>()});
    lock.packages = ParsePackages(j.at("packages"));
    for (auto [key, list] :
         {std::pair{"tools", &lock.tools}, std::pair{"installer", &lock.installer},
          std::pair{"offline", &lock.offline}})
      if (j.contains(key)) *list = ParsePackages(j.at(key));
    return lock;
  } catch (const json::exception& e) {
    return Error{origin + ": malformed lock file: " + e.what()};
  }
}

Result<Lock> ReadLock(const std::string& path) {
  auto text = ReadFile(path);
  if (!text) return text.take_error();
  return ParseLock(*text, path);
}

Status WriteLock(const std::string& path, const Lock& lock) {
  std::string tmp = path + ".tmp" + std::to_string(getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoError("create " + tmp);
  if (!WriteAll(fd.get(), LockToJson(lock)) || fsync(fd.get()) != 0) {
    Status st = ErrnoError("write " + tmp);
    ::unlink(tmp.c_str());
    return st;
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status st = ErrnoError("rename " + tmp + " to " + path);
    ::unlink(tmp.c_str());
    return st;
  }
  return {};
}

Status Matches(const Lock& lock, const LockRequest& request) {
  const LockRequest& l = lock.request;
  std::vector<std::string> diffs;
  auto cmp = [&](const char* field, const std::string& a, const std::string& b) {
    if (a != b) diffs.push_back(std::string(field) + ": lock has " + a + ", profile has " + b);
  };
  cmp("distribution.family", l.family, request.family);
  cmp("distribution.arch", l.arch, request.arch);
  cmp("packages.variant", l.variant, request.variant);
  for (auto [field, a, b] :
       {std::tuple{"packages.include", &l.include, &request.include},
        std::tuple{"packages.exclude", &l.exclude, &request.exclude},
        std::tuple{"tools (for output.formats and boot)", &l.tools, &request.tools},
        std::tuple{"installer (for installer.type and installer.packages)", &l.installer,
                   &request.installer},
        std::tuple{"installer.offline_packages", &l.offline, &request.offline}})
    if (*a != *b) diffs.push_back(std::string(field) + ": " + ListDiff(*a, *b));
  cmp("packages.recommends", l.recommends ? "true" : "false",
      request.recommends ? "true" : "false");
  cmp("repositories", ShowRepos(l.repositories), ShowRepos(request.repositories));
  if (diffs.empty()) return {};
  return Error{
      "the lock file no longer matches the profile (run 'imager resolve' to refresh "
      "it):\n  " +
      Join(diffs, "\n  ")};
}

}  // namespace imager::repo
