// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The libsolv run behind Pool::Solve: a job list that remembers why each job exists, one solver
/// pass set up as apt (Debian) or dnf (rpm) would choose, and the translation of libsolv's problems
/// and solutions into words about packages and profile fields (dnf's own words for rpm). Internal
/// to repo/solver.cc; ids are libsolv Ids. The dnf half lives in solver_dnf.cc.

#include <set>
#include <string>
#include <vector>

#include "base/result.h"

struct s_Pool;
struct s_Solver;

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

/// How the solver chooses. As dnf: libdnf's solver flags (vendor changes allowed, obsoletes of
/// package splits as yum has them, SOLVER_FLAG_BEST_OBEY_POLICY), and problems told in libdnf's
/// words ("nothing provides X needed by P").
struct SolverSetup {
  bool recommends = false;  // install weak dependencies (Recommends, Supplements)
  bool dnf = false;
};

/// Solves JOBS (plus a SOLVER_FAVOR job per `favored` name) in a prepared pool and fills
/// `installed` with the chosen solvables in install order; an unsatisfiable request fails with
/// every problem explained and the possible fixes listed.
Status RunSolver(s_Pool* pool, const JobList& jobs, const std::set<int>& favored,
                 const SolverSetup& setup, std::vector<int>* installed);

/// A job's selection: (SOLVER_SOLVABLE_... flags, what); `how` 0 when nothing matched.
struct Selection {
  int how = 0;
  int what = 0;
};

/// What `dnf install SPEC` selects, read as dnf's subject does: a package name, then name.arch,
/// name-version[-release][.arch], then a provide ("webserver", "foo >= 2"), then a file path;
/// "(a if b)" is a rich dependency. A bare name also selects every package that obsoletes it,
/// so that the obsoleting package wins as in dnf. Among what is selected, libsolv's policy picks
/// (best architecture, then best version), so x86_64 never gets i686 unless SPEC says .i686.
Selection DnfSelect(s_Pool* pool, const std::string& spec);

/// dnf's installonlypkgs (kernels): SOLVER_MULTIVERSION jobs for those the pool knows.
void AddDnfInstallOnly(s_Pool* pool, JobList* jobs);

/// One problem of an unsatisfiable request in libdnf's words: its rules one per line after the
/// first, each once ("package a-1-1.noarch conflicts with b provided by b-1-1.noarch").
std::vector<std::string> DnfProblemRules(s_Solver* solver, int problem, const JobList& jobs);

/// A dependency in Debian notation: "b (>= 2)", "a | b".
std::string DepText(s_Pool* pool, int dep);

}  // namespace imager::repo
