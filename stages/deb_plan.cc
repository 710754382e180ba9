// SPDX-License-Identifier: GPL-3.0-or-later
#include "stages/deb_plan.h"

#include <map>
#include <optional>
#include <set>

namespace imager::stages {
namespace {

using Index = std::map<std::string, size_t>;

// The package of the set that satisfies a clause: the first alternative present by name, else
// the first one some package provides.
std::optional<size_t> Satisfier(const std::vector<std::string>& alts, const Index& by_name,
                                const Index& by_provides) {
  for (const auto& a : alts)
    if (auto it = by_name.find(a); it != by_name.end()) return it->second;
  for (const auto& a : alts)
    if (auto it = by_provides.find(a); it != by_provides.end()) return it->second;
  return std::nullopt;
}

// Package positions by name, and by every name they provide.
std::pair<Index, Index> Indexes(const std::vector<DebInfo>& pkgs) {
  Index by_name, by_provides;
  for (size_t i = 0; i < pkgs.size(); ++i) {
    by_name.emplace(pkgs[i].name, i);
    for (const auto& p : pkgs[i].provides) by_provides.emplace(p, i);
  }
  return {by_name, by_provides};
}

}  // namespace

DebInfo DebInfo::FromControl(const formats::deb::Fields& c) {
  auto get = [&](const char* k) {
    auto it = c.find(k);
    return it == c.end() ? std::string() : it->second;
  };
  DebInfo d;
  d.name = get("Package");
  d.essential = get("Essential") == "yes";
  d.depends = formats::deb::ParseRelations(get("Depends"));
  d.pre_depends = formats::deb::ParseRelations(get("Pre-Depends"));
  for (const auto& clause : formats::deb::ParseRelations(get("Provides")))
    d.provides.insert(d.provides.end(), clause.begin(), clause.end());
  return d;
}

std::vector<bool> DebClosure(const std::vector<DebInfo>& pkgs,
                             const std::vector<std::string>& roots, bool with_essential) {
  auto [by_name, by_provides] = Indexes(pkgs);
  std::vector<bool> in(pkgs.size(), false);
  std::vector<size_t> todo;
  for (size_t i = 0; i < pkgs.size(); ++i)
    if (with_essential && pkgs[i].essential) todo.push_back(i);
  for (const auto& r : roots)
    if (auto it = by_name.find(r); it != by_name.end()) todo.push_back(it->second);
  while (!todo.empty()) {
    size_t i = todo.back();
    todo.pop_back();
    if (in[i]) continue;
    in[i] = true;
    for (const auto* rels : {&pkgs[i].depends, &pkgs[i].pre_depends})
      for (const auto& clause : *rels)
        if (auto s = Satisfier(clause, by_name, by_provides); s && !in[*s]) todo.push_back(*s);
  }
  return in;
}

DebPlan PlanDebInstall(const std::vector<DebInfo>& pkgs) {
  auto [by_name, by_provides] = Indexes(pkgs);
  std::vector<bool> in_essential = DebClosure(pkgs, {}, true);
  DebPlan plan;
  std::set<size_t> filling;  // the batch being filled
  for (size_t i = 0; i < pkgs.size(); ++i) {
    if (in_essential[i]) {
      plan.essential.push_back(i);
      continue;
    }
    bool needs_flush = false;
    for (const auto& clause : pkgs[i].pre_depends)
      if (auto s = Satisfier(clause, by_name, by_provides); s && filling.count(*s))
        needs_flush = true;
    if (needs_flush || plan.batches.empty()) {
      plan.batches.emplace_back();
      filling.clear();
    }
    plan.batches.back().push_back(i);
    filling.insert(i);
  }
  return plan;
}

}  // namespace imager::stages
