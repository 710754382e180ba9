// SPDX-License-Identifier: GPL-3.0-or-later
// The dnf half of the solver run (repo/solver_run.h): how dnf reads an install argument, its
// installonly packages, and its words for problems, after libdnf 0.69 (libdnf/goal/Goal.cpp,
// dnf's hawkey Subject).
#include <algorithm>

#include "repo/solver_run.h"

// libsolv's pool headers name a struct member `requires`, a C++20 keyword; renaming it in this
// translation unit changes no layout.
#define requires solv_requires
#include <solv/bitmap.h>
#include <solv/pool.h>
extern "C" {  // no C++ guards in this header
#include <solv/pool_parserpmrichdep.h>
}
#include <solv/poolarch.h>
#include <solv/problems.h>
#include <solv/rules.h>
#include <solv/selection.h>
#include <solv/solver.h>
#undef requires

namespace imager::repo {
namespace {

// A libsolv Queue freed with its owner.
struct OwnedQueue {
  Queue q;
  OwnedQueue() { queue_init(&q); }
  ~OwnedQueue() { queue_free(&q); }
  OwnedQueue(const OwnedQueue&) = delete;
  OwnedQueue& operator=(const OwnedQueue&) = delete;
};

// libdnf's default installonlypkgs.
constexpr const char* kInstallOnly[] = {"kernel",
                                        "kernel-PAE",
                                        "installonlypkg(kernel)",
                                        "installonlypkg(kernel-module)",
                                        "installonlypkg(vm)",
                                        "multiversion(kernel)"};

// The packages FLAGS select for SPEC (selection_make), or none.
void Select(Pool* pool, const std::string& spec, int flags, Queue* out) {
  OwnedQueue sel;
  queue_empty(out);
  if (selection_make(pool, &sel.q, spec.c_str(), flags)) selection_solvables(pool, &sel.q, out);
}

// Adds to PKGS every package that obsoletes one of them (dnf's query filter obsoletes=...):
// an obsoletes dependency matches a package by name and version, not by what it provides.
void AddObsoleters(Pool* pool, Queue* pkgs) {
  Map targets;
  map_init(&targets, pool->nsolvables);
  for (int i = 0; i < pkgs->count; ++i) MAPSET(&targets, pkgs->elements[i]);
  for (Id p = 2; p < pool->nsolvables; ++p) {
    Solvable* s = pool->solvables + p;
    if (!s->repo || !s->obsoletes || !pool_installable(pool, s)) continue;
    bool obsoletes = false;
    for (Id* obs = s->repo->idarraydata + s->obsoletes; *obs && !obsoletes; ++obs) {
      Id q, qq;
      FOR_PROVIDES(q, qq, *obs) {
        if (MAPTST(&targets, q) && pool_match_nevr(pool, pool->solvables + q, *obs)) {
          obsoletes = true;
          break;
        }
      }
    }
    if (obsoletes) queue_pushunique(pkgs, p);
  }
  map_free(&targets);
}

Selection OneOf(Pool* pool, Queue* pkgs) {
  if (pkgs->count == 0) return {};
  return {SOLVER_SOLVABLE_ONE_OF | SOLVER_SETARCH | SOLVER_SETEVR,
          pool_queuetowhatprovides(pool, pkgs)};
}

std::string Nevra(Pool* pool, Id p) { return pool_solvid2str(pool, p); }

// A problem rule in libdnf's words (libdnf_problemruleinfo2str); a job rule names the profile
// entry it comes from.
std::string DnfRuleText(Solver* solv, SolverRuleinfo type, Id source, Id target, Id dep,
                        const JobOrigin* origin) {
  Pool* pool = solv->pool;
  auto dep_str = [&] { return std::string(pool_dep2str(pool, dep)); };
  switch (type) {
    case SOLVER_RULE_JOB:
      if (origin && origin->kind == JobOrigin::kExclude)
        return "package " + origin->name + " is filtered out by exclude filtering (" + origin->why +
               ")";
      return "conflicting requests" +
             (origin ? " (" + origin->name + " in " + origin->why + ")" : std::string());
    case SOLVER_RULE_JOB_NOTHING_PROVIDES_DEP:
      return "nothing provides requested " + dep_str();
    case SOLVER_RULE_JOB_UNKNOWN_PACKAGE:
      return "package " + dep_str() + " does not exist";
    case SOLVER_RULE_JOB_PROVIDED_BY_SYSTEM:
      return dep_str() + " is provided by the system";
    case SOLVER_RULE_PKG:
      return "some dependency problem";
    case SOLVER_RULE_BEST:
      return source > 0
                 ? "cannot install the best update candidate for package " + Nevra(pool, source)
                 : "cannot install the best candidate for the job";
    case SOLVER_RULE_PKG_NOT_INSTALLABLE: {
      Solvable* s = pool->solvables + source;
      if (pool_disabled_solvable(pool, s))
        return "package " + Nevra(pool, source) + " is filtered out by exclude filtering";
      if (pool_badarch_solvable(pool, s))
        return "package " + Nevra(pool, source) + " does not have a compatible architecture";
      return "package " + Nevra(pool, source) + " is not installable";
    }
    case SOLVER_RULE_PKG_NOTHING_PROVIDES_DEP:
      return "nothing provides " + dep_str() + " needed by " + Nevra(pool, source);
    case SOLVER_RULE_PKG_SAME_NAME:
      return "cannot install both " + Nevra(pool, source) + " and " + Nevra(pool, target);
    case SOLVER_RULE_PKG_CONFLICTS:
      return "package " + Nevra(pool, source) + " conflicts with " + dep_str() + " provided by " +
             Nevra(pool, target);
    case SOLVER_RULE_PKG_OBSOLETES:
      return "package " + Nevra(pool, source) + " obsoletes " + dep_str() + " provided by " +
             Nevra(pool, target);
    case SOLVER_RULE_PKG_INSTALLED_OBSOLETES:
      return "installed package " + Nevra(pool, source) + " obsoletes " + dep_str() +
             " provided by " + Nevra(pool, target);
    case SOLVER_RULE_PKG_IMPLICIT_OBSOLETES:
      return "package " + Nevra(pool, source) + " implicitly obsoletes " + dep_str() +
             " provided by " + Nevra(pool, target);
    case SOLVER_RULE_PKG_REQUIRES:
      return "package " + Nevra(pool, source) + " requires " + dep_str() +
             ", but none of the providers can be installed";
    case SOLVER_RULE_PKG_SELF_CONFLICT:
      return "package " + Nevra(pool, source) + " conflicts with " + dep_str() +
             " provided by itself";
    case SOLVER_RULE_YUMOBS:
      return "both package " + Nevra(pool, source) + " and " + Nevra(pool, target) + " obsolete " +
             dep_str();
    default:
      return solver_problemruleinfo2str(solv, type, source, target, dep);
  }
}

}  // namespace

Selection DnfSelect(s_Pool* pool, const std::string& spec) {
  if (spec.empty()) return {};
  if (spec[0] == '(') {  // a rich dependency, as dnf installs a comps group's conditionals
    Id dep = pool_parserpmrichdep(pool, spec.c_str());
    return dep ? Selection{SOLVER_SOLVABLE_PROVIDES, dep} : Selection{};
  }
  OwnedQueue pkgs;
  Select(pool, spec, SELECTION_NAME, &pkgs.q);
  if (pkgs.q.count) {
    AddObsoleters(pool, &pkgs.q);
    return OneOf(pool, &pkgs.q);
  }
  Select(pool, spec, SELECTION_NAME | SELECTION_DOTARCH | SELECTION_CANON, &pkgs.q);
  if (!pkgs.q.count) Select(pool, spec, SELECTION_PROVIDES | SELECTION_REL, &pkgs.q);
  // A path, or a glob of paths (dnf matches "/boot/efi/EFI/*/shimx64.efi" with fnmatch, whose
  // '*' also crosses '/'), against the file lists.
  if (!pkgs.q.count && spec[0] == '/')
    Select(
        pool, spec,
        SELECTION_FILELIST | (spec.find_first_of("*?[") != std::string::npos ? SELECTION_GLOB : 0),
        &pkgs.q);
  return OneOf(pool, &pkgs.q);
}

void AddDnfInstallOnly(s_Pool* pool, JobList* jobs) {
  for (const char* name : kInstallOnly)
    if (Id id = pool_str2id(pool, name, 0))
      jobs->Add(SOLVER_MULTIVERSION | SOLVER_SOLVABLE_PROVIDES, id,
                JobOrigin{JobOrigin::kInstall, name, "dnf's installonlypkgs"});
}

std::vector<std::string> DnfProblemRules(s_Solver* solv, int problem, const JobList& jobs) {
  std::vector<std::string> out;
  OwnedQueue rules, infos;
  solver_findallproblemrules(solv, problem, &rules.q);
  for (int i = 0; i < rules.q.count; ++i) {
    Id rid = rules.q.elements[i];
    const JobOrigin* origin = solver_ruleclass(solv, rid) == SOLVER_RULE_JOB
                                  ? jobs.OriginAt(solver_rule2jobidx(solv, rid))
                                  : nullptr;
    solver_allruleinfos(solv, rid, &infos.q);
    for (int j = 0; j + 3 < infos.q.count; j += 4) {
      std::string text = DnfRuleText(solv, static_cast<SolverRuleinfo>(infos.q.elements[j]),
                                     infos.q.elements[j + 1], infos.q.elements[j + 2],
                                     infos.q.elements[j + 3], origin);
      if (std::find(out.begin(), out.end(), text) == out.end()) out.push_back(std::move(text));
    }
  }
  return out;
}

}  // namespace imager::repo
