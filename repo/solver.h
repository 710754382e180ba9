// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Pool wraps a libsolv pool for one distribution family and architecture: repositories are
/// loaded into it (Debian Packages indexes here; other formats through AddRepo and the raw pool),
/// every package remembers where it downloads from, and Solve turns a request (a variant's
/// package set, names to include and exclude, recommends or not) into the exact set of packages
/// in install order. Choices are deterministic: jobs are sorted; for Debian an OR dependency
/// prefers its first alternative (as apt does), and naming another alternative in `include`
/// overrides that; for rpm every choice is the one `dnf install` makes (libdnf's pool and solver
/// setup, dnf's reading of install arguments, installonly kernels), and errors use dnf's words.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"
#include "profiles/profile.h"

struct s_Pool;
struct s_Repo;

namespace imager::repo {

/// A package the solver chose, with what fetching and checking it needs.
struct SolvedPackage {
  std::string name;
  std::string version;
  std::string arch;
  std::string url;  // repository base URL + "/" + its location (Debian: Filename)
  std::string sha256;
  int64_t size = -1;
};

struct SolveRequest {
  profiles::Variant variant = profiles::Variant::kNone;  // Debian package sets, see VariantNames
  /// Debian: package names (or names that packages provide). rpm: dnf's install arguments
  /// (name, name.arch, name-version, provide, file path, "(a if b)"); see DnfSelect.
  std::vector<std::string> include;
  std::vector<std::string> exclude;  // never installed
  bool recommends = false;
  /// The profile field `include` comes from, for errors ("installer.packages").
  std::string include_field = "packages.include";
  /// Installed too, as a system that already has them (a target the request is added to).
  std::vector<std::string> keep;
};

struct Solution {
  std::vector<SolvedPackage> packages;  // in install (dependency) order
  std::vector<std::string> warnings;    // e.g. an excluded name no package has
};

class Pool {
 public:
  Pool(profiles::Family family, const std::string& arch);
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  /// Loads a Debian Packages index (plain, .gz or .xz); its packages download from
  /// BASE_URL/Filename. Priority, Essential and Size are kept for variants and the lockfile.
  Status AddDebianPackages(const std::string& path, const std::string& base_url);

  /// A new empty repository whose packages download from BASE_URL/location, for loaders of
  /// other formats (repo_add_rpmmd ...), which fill it through raw().
  s_Repo* AddRepo(const std::string& name, const std::string& base_url);
  s_Pool* raw();

  /// Tells the pool that a loader extended one of its repositories through raw() (file lists).
  void Extended();

  /// Every package name in the pool, sorted and unique.
  std::vector<std::string> Names() const;

  /// The file paths no loaded package provides although a package depends on them (rich
  /// dependencies included) or one of NAMES (install arguments) is that path. Sorted.
  std::vector<std::string> UnprovidedFiles(const std::vector<std::string>& names);

  /// The names a Debian variant installs besides what it pulls in, as mmdebstrap defines them:
  /// essential = Essential: yes; minbase = required = essential + Priority: required (which
  /// includes apt); important = required + Priority: important. Sorted; kNone gives none.
  std::vector<std::string> VariantNames(profiles::Variant variant) const;

  /// Solves REQUEST against everything loaded. An unknown name fails with close names from the
  /// pool; an unsatisfiable request fails with each problem in plain words (naming the packages)
  /// and the fixes libsolv offers.
  Result<Solution> Solve(const SolveRequest& request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace imager::repo
