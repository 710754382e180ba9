// SPDX-License-Identifier: GPL-3.0-or-later
#include "repo/solver_run.h"

#include <algorithm>
#include <memory>

#include "base/strings.h"

// libsolv's pool headers name a struct member `requires`, a C++20 keyword; renaming it in this
// translation unit changes no layout.
#define requires solv_requires
#include <solv/pool.h>
#include <solv/problems.h>
#include <solv/rules.h>
#include <solv/solver.h>
#include <solv/transaction.h>
#undef requires

namespace imager::repo {
namespace {

struct SolverDeleter {
  void operator()(Solver* s) const { solver_free(s); }
};
struct TransactionDeleter {
  void operator()(Transaction* t) const { transaction_free(t); }
};

// A libsolv Queue freed with its owner.
struct OwnedQueue {
  Queue q;
  OwnedQueue() { queue_init(&q); }
  ~OwnedQueue() { queue_free(&q); }
  OwnedQueue(const OwnedQueue&) = delete;
  OwnedQueue& operator=(const OwnedQueue&) = delete;
};

std::string SolvText(Pool* pool, Id p) {
  Solvable* s = pool_id2solvable(pool, p);
  return std::string(pool_id2str(pool, s->name)) + " " + pool_id2str(pool, s->evr);
}

// The package names a dependency mentions: "a (>= 1) | b" -> a, b.
void DepNames(Pool* pool, Id dep, std::vector<Id>* out) {
  if (!ISRELDEP(dep)) {
    out->push_back(dep);
    return;
  }
  Reldep* rd = GETRELDEP(pool, dep);
  DepNames(pool, rd->name, out);
  if (rd->flags == REL_OR) DepNames(pool, rd->evr, out);
}

// "only b 1.0 is available", "no package is named b", for each name of DEP.
std::string Availability(Pool* pool, Id dep) {
  std::vector<Id> names;
  DepNames(pool, dep, &names);
  std::vector<std::string> parts;
  for (Id name : names) {
    std::vector<std::string> versions, providers;
    Id p, pp;
    FOR_PROVIDES(p, pp, name) {
      Solvable* s = pool->solvables + p;
      if (s->name == name)
        versions.push_back(pool_id2str(pool, s->evr));
      else
        providers.push_back(SolvText(pool, p));
    }
    std::string n = pool_id2str(pool, name);
    if (!versions.empty()) {
      std::sort(versions.begin(), versions.end());
      parts.push_back("only " + n + " " + Join(versions, ", ") +
                      (versions.size() > 1 ? " are" : " is") + " available");
    } else if (!providers.empty()) {
      parts.push_back(n + " is only provided (without a version) by " + Join(providers, ", "));
    } else {
      parts.push_back("no package is named " + n + " or provides it");
    }
  }
  return Join(parts, "; ");
}

std::string JobText(const JobOrigin* o) {
  if (!o) return "a request";
  if (o->kind == JobOrigin::kExclude) return o->name + " is excluded (" + o->why + ")";
  return o->name + " is requested (" + o->why + ")";
}

const JobOrigin* JobOfRule(Solver* solv, Id rid, const JobList& jobs) {
  if (solver_ruleclass(solv, rid) != SOLVER_RULE_JOB) return nullptr;
  return jobs.OriginAt(solver_rule2jobidx(solv, rid));
}

// One rule of a problem, in words about packages.
std::string RuleText(Solver* solv, Id rid, const JobList& jobs) {
  Pool* pool = solv->pool;
  Id source = 0, target = 0, dep = 0;
  SolverRuleinfo type = solver_ruleinfo(solv, rid, &source, &target, &dep);
  std::string s = source ? "package " + SolvText(pool, source) : "";
  switch (type) {
    case SOLVER_RULE_PKG_NOTHING_PROVIDES_DEP:
      return s + " depends on " + DepText(pool, dep) + ", but " + Availability(pool, dep);
    case SOLVER_RULE_PKG_REQUIRES: {
      std::vector<std::string> cands;
      Id p, pp;
      FOR_PROVIDES(p, pp, dep) { cands.push_back(SolvText(pool, p)); }
      return s + " depends on " + DepText(pool, dep) + ", but " +
             (cands.empty() ? std::string("nothing provides it")
                            : Join(cands, ", ") + " cannot be installed");
    }
    case SOLVER_RULE_PKG_CONFLICTS:
      return s + " conflicts with " + DepText(pool, dep) + ", which " + SolvText(pool, target) +
             " satisfies";
    case SOLVER_RULE_PKG_SELF_CONFLICT:
      return s + " conflicts with itself (" + DepText(pool, dep) + ")";
    case SOLVER_RULE_PKG_SAME_NAME:
      return SolvText(pool, source) + " and " + SolvText(pool, target) +
             " cannot both be installed (two versions of one package)";
    case SOLVER_RULE_PKG_OBSOLETES:
    case SOLVER_RULE_PKG_IMPLICIT_OBSOLETES:
    case SOLVER_RULE_PKG_INSTALLED_OBSOLETES:
      return s + " breaks and replaces " + SolvText(pool, target) + " (" + DepText(pool, dep) + ")";
    case SOLVER_RULE_PKG_NOT_INSTALLABLE:
      return s + " cannot be installed on this architecture";
    case SOLVER_RULE_JOB:
      return JobText(JobOfRule(solv, rid, jobs));
    case SOLVER_RULE_JOB_NOTHING_PROVIDES_DEP:
      return "nothing provides " + DepText(pool, dep) + " (" + JobText(JobOfRule(solv, rid, jobs)) +
             ")";
    case SOLVER_RULE_JOB_UNKNOWN_PACKAGE:
      return "unknown package " + DepText(pool, dep);
    default:
      return solver_problemruleinfo2str(solv, type, source, target, dep);
  }
}

std::string ElementText(Solver* solv, Id p, Id rp, const JobList& jobs) {
  if (p == SOLVER_SOLUTION_JOB) {
    const JobOrigin* o = jobs.OriginAt(rp);
    if (o && o->kind == JobOrigin::kExclude)
      return "remove '" + o->name + "' from packages.exclude";
    if (o && (o->why == "packages.include" || StartsWith(o->why, "installer.")))
      return "remove '" + o->name + "' from " + o->why;
    if (o) return "add '" + o->name + "' to packages.exclude (" + o->why + " selects it)";
  }
  return solver_solutionelement2str(solv, p, rp);
}

// "\n    fix N: ..." for each solution libsolv offers to PROBLEM.
std::vector<std::string> Fixes(Solver* solv, Id problem, const JobList& jobs) {
  std::vector<std::string> out;
  Id nsol = solver_solution_count(solv, problem);
  for (Id sol = 1; sol <= nsol; ++sol) {
    std::vector<std::string> steps;
    Id p = 0, rp = 0, element = 0;
    while ((element = solver_next_solutionelement(solv, problem, sol, element, &p, &rp)) != 0)
      steps.push_back(ElementText(solv, p, rp, jobs));
    out.push_back("\n    fix " + std::to_string(sol) + ": " + Join(steps, ", and "));
  }
  return out;
}

std::string ProblemText(Solver* solv, Id problem, const JobList& jobs) {
  std::vector<std::string> lines;
  Id main_rule = solver_findproblemrule(solv, problem);
  std::string main = RuleText(solv, main_rule, jobs);
  lines.push_back(main);
  OwnedQueue rules;
  solver_findallproblemrules(solv, problem, &rules.q);
  std::vector<std::string> because;
  for (int i = 0; i < rules.q.count; ++i) {
    std::string t = RuleText(solv, rules.q.elements[i], jobs);
    if (t != main && std::find(because.begin(), because.end(), t) == because.end())
      because.push_back(t);
  }
  if (because.size() > 8) because.resize(8);
  for (const auto& b : because) lines.push_back("    and " + b);
  return Join(lines, "\n") + Join(Fixes(solv, problem, jobs), "");
}

// dnf's report of an unsatisfiable request (libdnf's formatAllProblemRules), each problem followed
// by the fixes libsolv offers in terms of the profile.
std::string DnfProblems(Solver* solv, int count, const JobList& jobs) {
  std::string out = "the package request cannot be satisfied:";
  for (Id problem = 1; problem <= count; ++problem) {
    out += count == 1 ? "\n Problem: " : "\n Problem " + std::to_string(problem) + ": ";
    out += Join(DnfProblemRules(solv, problem, jobs), "\n  - ");
    out += Join(Fixes(solv, problem, jobs), "");
  }
  return out;
}

}  // namespace

std::string DepText(s_Pool* pool, int dep) {
  if (!ISRELDEP(dep)) return pool_id2str(pool, dep);
  Reldep* rd = GETRELDEP(pool, dep);
  switch (rd->flags) {
    case REL_OR:
      return DepText(pool, rd->name) + " | " + DepText(pool, rd->evr);
    case REL_MULTIARCH:
      return DepText(pool, rd->name) + ":" + pool_id2str(pool, rd->evr);
    case REL_GT:
    case REL_GT | REL_EQ:
    case REL_EQ:
    case REL_LT:
    case REL_LT | REL_EQ:
    case REL_GT | REL_LT: {
      static const char* const kOps[] = {"", ">>", "=", ">=", "<<", "!=", "<="};
      return DepText(pool, rd->name) + " (" + kOps[rd->flags] + " " + pool_id2str(pool, rd->evr) +
             ")";
    }
    default:
      return pool_dep2str(pool, dep);
  }
}

Status RunSolver(s_Pool* pool, const JobList& jobs, const std::set<int>& favored,
                 const SolverSetup& setup, std::vector<int>* installed) {
  OwnedQueue job;
  for (int e : jobs.elements()) queue_push(&job.q, e);
  for (int f : favored) queue_push2(&job.q, SOLVER_FAVOR | SOLVER_SOLVABLE_NAME, f);
  std::unique_ptr<Solver, SolverDeleter> solv(solver_create(pool));
  solver_set_flag(solv.get(), SOLVER_FLAG_IGNORE_RECOMMENDED, setup.recommends ? 0 : 1);
  if (setup.dnf) {
    // libdnf's Goal::Impl::initSolver with dnf's defaults (allow_vendor_change), and the
    // downgrades `dnf install` allows.
    solver_set_flag(solv.get(), SOLVER_FLAG_ALLOW_VENDORCHANGE, 1);
    solver_set_flag(solv.get(), SOLVER_FLAG_DUP_ALLOW_VENDORCHANGE, 1);
    solver_set_flag(solv.get(), SOLVER_FLAG_KEEP_ORPHANS, 1);
    solver_set_flag(solv.get(), SOLVER_FLAG_BEST_OBEY_POLICY, 1);
    solver_set_flag(solv.get(), SOLVER_FLAG_YUM_OBSOLETES, 1);
    solver_set_flag(solv.get(), SOLVER_FLAG_ALLOW_DOWNGRADE, 1);
  }
  if (int n = solver_solve(solv.get(), &job.q); n > 0) {
    if (setup.dnf) return Error{DnfProblems(solv.get(), n, jobs)};
    std::vector<std::string> problems;
    for (Id p = 1; p <= n; ++p)
      problems.push_back("  " + std::to_string(p) + ". " + ProblemText(solv.get(), p, jobs));
    return Error{"the package request cannot be satisfied:\n" + Join(problems, "\n")};
  }
  std::unique_ptr<Transaction, TransactionDeleter> trans(solver_create_transaction(solv.get()));
  transaction_order(trans.get(), 0);
  installed->clear();
  for (int i = 0; i < trans->steps.count; ++i) {
    Id p = trans->steps.elements[i];
    if (transaction_type(trans.get(), p, SOLVER_TRANSACTION_SHOW_ACTIVE) ==
        SOLVER_TRANSACTION_INSTALL)
      installed->push_back(p);
  }
  return {};
}

}  // namespace imager::repo
