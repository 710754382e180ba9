// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The libsolv run behind Pool::Solve: a job list that remembers why each job exists, one solver
/// pass, and the translation of libsolv's problems and solutions into plain words about packages
/// and profile fields. Internal to repo/solver.cc; ids are libsolv Ids.

#include <set>
#include <string>
#include <vector>

#include "base/result.h"

struct s_Pool;

namespace imager::repo {

/// Why a job is there, to phrase the fixes libsolv offers ("remove X from packages.include").
struct JobOrigin {
  enum Kind { kInstall, kExclude };
  Kind kind = kInstall;
  std::string name;
  std::string why;  // "packages.include", "variant minbase", "packages.exclude"
};

/// A libsolv job queue as (how, what) pairs plus each pair's origin.
class JobList {
 public:
  void Add(int how, int what, JobOrigin origin) {
    elements_.push_back(how);
    elements_.push_back(what);
    origins_.push_back(std::move(origin));
  }
  const std::vector<int>& elements() const { return elements_; }
  /// The origin of the job whose `how` sits at element index `index`.
  const JobOrigin* OriginAt(int index) const {
    size_t i = static_cast<size_t>(index) / 2;
    return index >= 0 && i < origins_.size() ? &origins_[i] : nullptr;
  }

 private:
  std::vector<int> elements_;
  std::vector<JobOrigin> origins_;
};

/// Solves JOBS (plus a SOLVER_FAVOR job per `favored` name) in a prepared pool and fills
/// `installed` with the chosen solvables in install order; an unsatisfiable request fails with
/// every problem explained and the possible fixes listed.
Status RunSolver(s_Pool* pool, const JobList& jobs, const std::set<int>& favored, bool recommends,
                 std::vector<int>* installed);

/// A dependency in Debian notation: "b (>= 2)", "a | b".
std::string DepText(s_Pool* pool, int dep);

}  // namespace imager::repo
