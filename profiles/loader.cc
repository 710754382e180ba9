// SPDX-License-Identifier: GPL-3.0-or-later
#include "profiles/loader.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <tuple>

#include "base/strings.h"
#include "profiles/checker.h"
#include "profiles/validate.h"
#include "profiles/yaml_tree.h"
#include "repo/apt_sources.h"

namespace imager::profiles {

namespace fs = std::filesystem;

namespace {

std::string Identity(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(path, ec);
  return ec ? fs::absolute(path, ec).lexically_normal().string() : p.string();
}

// Takes the `extends:` entry out of a profile's map and returns the path it names, resolved
// against the profile's directory ("" when there is none).
Result<std::string> TakeExtends(Node* tree, const std::string& path) {
  if (tree->kind != Node::Kind::kMap) return std::string();
  auto it = std::find_if(tree->entries.begin(), tree->entries.end(),
                         [](const auto& e) { return e.first == "extends"; });
  if (it == tree->entries.end()) return std::string();
  Node ext = it->second;
  tree->entries.erase(it);
  if (ext.kind != Node::Kind::kScalar || ext.scalar.empty())
    return Error{ext.loc.ToString() + ": extends: expected the path of a profile file, got " +
                 ext.KindName()};
  std::string parent = (fs::path(path).parent_path() / ext.scalar).lexically_normal().string();
  std::error_code ec;
  if (!fs::is_regular_file(parent, ec))
    return Error{ext.loc.ToString() + ": extends: '" + parent +
                 "' is not a file (paths are relative to the profile's file)"};
  return parent;
}

// Reads PATH merged over everything it extends; `chain` receives the files, PATH first.
Result<Node> LoadMerged(const std::string& path, std::vector<std::string>* chain,
                        std::vector<std::string>* identities) {
  chain->push_back(path);
  identities->push_back(Identity(path));
  auto tree = ReadYamlFile(path);
  if (!tree) return tree.take_error();
  const SourceLocation at = tree->kind == Node::Kind::kMap && tree->Find("extends")
                                ? tree->Find("extends")->loc
                                : tree->loc;
  auto parent = TakeExtends(&*tree, path);
  if (!parent) return parent.take_error();
  if (parent->empty()) return tree;
  if (std::find(identities->begin(), identities->end(), Identity(*parent)) != identities->end())
    return Error{at.ToString() + ": extends: cycle " + Join(*chain, " -> ") + " -> " + *parent};
  auto base = LoadMerged(*parent, chain, identities);
  if (!base) return base.take_error();
  return Merge(std::move(*base), *tree);
}

// Diagnostics in file order: the given file first, then each file it extends.
std::vector<std::string> Ordered(std::vector<Diagnostic> diags,
                                 const std::vector<std::string>& chain) {
  auto rank = [&chain](const Diagnostic& d) {
    return std::find(chain.begin(), chain.end(), d.loc.file) - chain.begin();
  };
  std::stable_sort(diags.begin(), diags.end(), [&](const Diagnostic& a, const Diagnostic& b) {
    return std::tuple(rank(a), a.loc.line, a.loc.column) <
           std::tuple(rank(b), b.loc.line, b.loc.column);
  });
  std::vector<std::string> out;
  for (const auto& d : diags) out.push_back(d.ToString());
  return out;
}

}  // namespace

Result<Profile> LoadProfile(const std::string& path) {
  std::vector<std::string> errors;
  auto p = LoadProfile(path, &errors);
  if (p && !errors.empty()) return Error{Join(errors, "\n")};
  return p;
}

Result<Profile> LoadProfile(const std::string& path, std::vector<std::string>* errors) {
  Profile p;
  p.source = path;
  std::vector<std::string> identities;
  auto tree = LoadMerged(path, &p.chain, &identities);
  if (!tree) return tree.take_error();
  if (p.chain.size() > 1) p.extends = identities[1];
  Checker c(&p.locations, tree->loc);
  ReadProfile(*tree, &c, &p);
  p.warnings = Ordered(c.warnings(), p.chain);
  *errors = Ordered(c.errors(), p.chain);
  return p;
}

Status ResolveAutoMirrors(Profile* p, const std::string& etc_apt) {
  std::vector<std::string> errors;
  for (size_t i = 0; i < p->repositories.size(); ++i) {
    Repository& r = p->repositories[i];
    if (r.type != RepoType::kDeb || r.mirror != "auto") continue;
    auto uri = repo::AutoMirror(r.suite, etc_apt);
    if (uri) {
      r.mirror = *uri;
      continue;
    }
    std::string item = "repositories[" + std::to_string(i) + "]";
    std::string field = item + ".mirror";
    SourceLocation at = p->locations.count(field) ? p->Where(field) : p->Where(item);
    errors.push_back(at.ToString() + ": " + field + ": auto: " + uri.error() + "; set " + field +
                     " to a URL");
  }
  if (!errors.empty()) return Error{Join(errors, "\n")};
  return {};
}

}  // namespace imager::profiles
