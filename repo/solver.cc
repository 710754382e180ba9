// SPDX-License-Identifier: GPL-3.0-or-later
#include "repo/solver.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>
#include <unordered_map>

#include "base/strings.h"
#include "repo/solver_run.h"

// libsolv's pool headers name a struct member `requires`, a C++20 keyword; renaming it in this
// translation unit changes no layout.
#define requires solv_requires
#include <solv/knownid.h>
#include <solv/pool.h>
#include <solv/poolarch.h>
#include <solv/repo.h>
#include <solv/repodata.h>
extern "C" {  // libsolvext's headers lack C++ guards
#include <solv/repo_deb.h>
#include <solv/solv_xfopen.h>
}
#include <solv/solvable.h>
#include <solv/solver.h>
#include <solv/transaction.h>
#undef requires

namespace imager::repo {
namespace {

enum DebPriority : uint8_t { kPrioOther = 0, kPrioRequired, kPrioImportant, kPrioStandard };

// What repo_add_debpackages does not keep: Priority, Essential, Size.
struct DebExtra {
  DebPriority priority = kPrioOther;
  bool essential = false;
  int64_t size = -1;
};

DebPriority ParsePriority(std::string_view v) {
  if (v == "required") return kPrioRequired;
  if (v == "important") return kPrioImportant;
  if (v == "standard") return kPrioStandard;
  return kPrioOther;
}

// Reads a whole (possibly compressed) file through libsolv's decompressing fopen.
Result<std::string> ReadIndex(const std::string& path) {
  FILE* fp = solv_xfopen(path.c_str(), "r");
  if (!fp) return ErrnoError("open " + path);
  std::string text;
  char buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, fp)) > 0) text.append(buf, n);
  bool failed = ferror(fp);
  fclose(fp);
  if (failed) return Error{"read " + path + ": read or decompression error"};
  return text;
}

// "name\0version\0arch" -> extras, from the stanzas of a Packages text.
std::unordered_map<std::string, DebExtra> ScanExtras(std::string_view text) {
  std::unordered_map<std::string, DebExtra> out;
  std::string name, version, arch;
  DebExtra extra;
  auto flush = [&] {
    if (!name.empty()) out[name + '\0' + version + '\0' + (arch.empty() ? "all" : arch)] = extra;
    name.clear();
    version.clear();
    arch.clear();
    extra = DebExtra();
  };
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (Trim(line).empty()) {
      flush();
      continue;
    }
    if (line[0] == ' ' || line[0] == '\t') continue;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = line.substr(0, colon), value = Trim(line.substr(colon + 1));
    if (key == "Package") name = value;
    if (key == "Version") version = value;
    if (key == "Architecture") arch = value;
    if (key == "Priority") extra.priority = ParsePriority(value);
    if (key == "Essential") extra.essential = value == "yes";
    if (key == "Size") extra.size = std::strtoll(std::string(value).c_str(), nullptr, 10);
  }
  flush();
  return out;
}

}  // namespace

struct Pool::Impl {
  ::Pool* pool = nullptr;
  profiles::Family family;
  std::string arch;
  std::unordered_map<::Repo*, std::string> base_urls;
  std::unordered_map<Id, DebExtra> deb;  // by solvable id
  bool dirty = true;                     // whatprovides must be (re)built
  std::vector<Id> file_deps;             // every file path a dependency names

  void Prepare() {
    if (!dirty) return;
    Queue files;
    queue_init(&files);
    pool_addfileprovides_queue(pool, &files, nullptr);
    file_deps.assign(files.elements, files.elements + files.count);
    queue_free(&files);
    pool_createwhatprovides(pool);
    dirty = false;
  }
  Id NameId(const std::string& name) const { return pool_str2id(pool, name.c_str(), 0); }
  bool HasPackageNamed(Id name) const;
  bool HasProvider(Id name) const;
  std::vector<std::string> CloseNames(const std::string& name) const;
  Result<SolvedPackage> Describe(Id p) const;
  std::set<Id> FirstAlternatives(const std::vector<Id>& installed, bool recommends) const;
};

bool Pool::Impl::HasPackageNamed(Id name) const {
  Id p, pp;
  FOR_PROVIDES(p, pp, name) {
    if (pool->solvables[p].name == name) return true;
  }
  return false;
}

bool Pool::Impl::HasProvider(Id name) const {
  Id p, pp;
  FOR_PROVIDES(p, pp, name) { return true; }
  return false;
}

Result<SolvedPackage> Pool::Impl::Describe(Id p) const {
  Solvable* s = pool_id2solvable(pool, p);
  SolvedPackage pkg;
  pkg.name = pool_id2str(pool, s->name);
  pkg.version = pool_id2str(pool, s->evr);
  pkg.arch = pool_id2str(pool, s->arch);
  std::string what = pkg.name + " " + pkg.version;
  const char* loc = solvable_lookup_location(s, nullptr);
  if (!loc) return Error{"package " + what + " has no file name (Filename) in its index"};
  auto base = base_urls.find(s->repo);
  pkg.url = (base == base_urls.end() ? std::string() : base->second) + "/" + loc;
  Id type = 0;
  const char* sum = solvable_lookup_checksum(s, SOLVABLE_CHECKSUM, &type);
  if (!sum || type != REPOKEY_TYPE_SHA256)
    return Error{"package " + what + " has no SHA256 checksum in its index"};
  pkg.sha256 = sum;
  auto it = deb.find(p);
  if (it != deb.end()) pkg.size = it->second.size;
  if (pkg.size < 0) {
    unsigned long long n = solvable_lookup_num(s, SOLVABLE_DOWNLOADSIZE, 0);
    pkg.size = n ? static_cast<int64_t>(n) : -1;
  }
  return pkg;
}

std::vector<std::string> Pool::Impl::CloseNames(const std::string& name) const {
  std::set<std::string> names;
  for (Id p = 2; p < pool->nsolvables; ++p) {
    Solvable* s = pool->solvables + p;
    if (s->repo) names.insert(pool_id2str(pool, s->name));
  }
  std::vector<std::string> all(names.begin(), names.end()), close;
  std::string best = ClosestMatch(name, all);
  if (!best.empty()) close.push_back(best);
  for (const auto& n : all) {
    if (close.size() >= 3) break;
    if (n != best && (StartsWith(n, name + "-") || StartsWith(n, name + "1") ||
                      (name.size() > 3 && StartsWith(n, name) && n.size() <= name.size() + 3)))
      close.push_back(n);
  }
  return close;
}

// apt satisfies "a | b" with a unless b is already chosen; libsolv ranks alternatives by name.
// The first alternative of every OR dependency of the chosen packages is therefore favoured in
// the next round, which changes only choices that were free.
std::set<Id> Pool::Impl::FirstAlternatives(const std::vector<Id>& installed,
                                           bool recommends) const {
  std::set<Id> out;
  for (Id p : installed) {
    Solvable* s = pool->solvables + p;
    for (Offset deps : {s->solv_requires, recommends ? s->recommends : Offset{0}}) {
      if (!deps) continue;
      for (Id* dp = s->repo->idarraydata + deps; *dp; ++dp) {
        Id d = *dp;
        if (d == SOLVABLE_PREREQMARKER || !ISRELDEP(d)) continue;
        Reldep* rd = GETRELDEP(pool, d);
        if (rd->flags != REL_OR) continue;
        while (ISRELDEP(d) && GETRELDEP(pool, d)->flags == REL_OR) d = GETRELDEP(pool, d)->name;
        while (ISRELDEP(d)) d = GETRELDEP(pool, d)->name;  // "a (>= 1)" -> a
        if (HasPackageNamed(d)) out.insert(d);
      }
    }
  }
  return out;
}

Pool::Pool(profiles::Family family, const std::string& arch) : impl_(std::make_unique<Impl>()) {
  impl_->pool = pool_create();
  impl_->family = family;
  impl_->arch = arch;
  if (family == profiles::Family::kDebian) {
    pool_setdisttype(impl_->pool, DISTTYPE_DEB);
    // Only ARCH and all: a Debian architecture does not install another one's packages.
    pool_setarchpolicy(impl_->pool, arch.c_str());
  } else {
    // As dnf's pool is set up (`dnf --debugsolver` writes it into testcase.t: "poolflags
    // implicitobsoleteusescolors whatprovideswithdisabled"): ARCH with its compatible
    // architectures (x86_64 takes i686, ranked below its own, so i686 comes only when asked for
    // or when nothing else provides a dependency), and foo.x86_64 and foo.i686 may be installed
    // side by side (their colors differ).
    pool_setdisttype(impl_->pool, DISTTYPE_RPM);
    pool_setarch(impl_->pool, arch.c_str());
    pool_set_flag(impl_->pool, POOL_FLAG_IMPLICITOBSOLETEUSESCOLORS, 1);
    pool_set_flag(impl_->pool, POOL_FLAG_WHATPROVIDESWITHDISABLED, 1);
  }
}

Pool::~Pool() { pool_free(impl_->pool); }

s_Pool* Pool::raw() { return impl_->pool; }

s_Repo* Pool::AddRepo(const std::string& name, const std::string& base_url) {
  ::Repo* repo = repo_create(impl_->pool, name.c_str());
  std::string base = base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  impl_->base_urls[repo] = base;
  impl_->dirty = true;
  return repo;
}

Status Pool::AddDebianPackages(const std::string& path, const std::string& base_url) {
  auto text = ReadIndex(path);
  if (!text) return text.take_error();
  ::Repo* repo = AddRepo(path, base_url);
  if (text->empty()) return {};
  FILE* fp = fmemopen(text->data(), text->size(), "r");
  if (!fp) return ErrnoError("fmemopen");
  Id first = impl_->pool->nsolvables;
  int rc = repo_add_debpackages(repo, fp, 0);
  fclose(fp);
  if (rc != 0) return Error{"load " + path + ": " + std::string(pool_errstr(impl_->pool))};
  auto extras = ScanExtras(*text);
  ::Pool* pool = impl_->pool;
  for (Id p = first; p < pool->nsolvables; ++p) {
    Solvable* s = pool->solvables + p;
    if (s->repo != repo) continue;
    std::string key = std::string(pool_id2str(pool, s->name)) + '\0' + pool_id2str(pool, s->evr) +
                      '\0' + pool_id2str(pool, s->arch);
    auto it = extras.find(key);
    if (it != extras.end()) impl_->deb[p] = it->second;
  }
  return {};
}

void Pool::Extended() { impl_->dirty = true; }

std::vector<std::string> Pool::UnprovidedFiles(const std::vector<std::string>& names) {
  impl_->Prepare();
  std::set<std::string> out;
  for (Id file : impl_->file_deps)
    if (!impl_->HasProvider(file)) out.insert(pool_id2str(impl_->pool, file));
  for (const auto& n : names)
    if (StartsWith(n, "/") && !DnfSelect(impl_->pool, n).how) out.insert(n);
  return {out.begin(), out.end()};
}

std::vector<std::string> Pool::Names() const {
  std::set<std::string> names;
  ::Pool* pool = impl_->pool;
  for (Id p = 2; p < pool->nsolvables; ++p)
    if (pool->solvables[p].repo) names.insert(pool_id2str(pool, pool->solvables[p].name));
  return {names.begin(), names.end()};
}

std::vector<std::string> Pool::VariantNames(profiles::Variant variant) const {
  using profiles::Variant;
  std::set<std::string> names;
  if (variant == Variant::kNone) return {};
  ::Pool* pool = impl_->pool;
  for (const auto& [p, extra] : impl_->deb) {
    Solvable* s = pool->solvables + p;
    if (!s->repo || pool_arch2score(pool, s->arch) == 0) continue;
    bool in = extra.essential;
    if (variant != Variant::kEssential) in = in || extra.priority == kPrioRequired;
    if (variant == Variant::kImportant) in = in || extra.priority == kPrioImportant;
    if (in) names.insert(pool_id2str(pool, s->name));
  }
  return {names.begin(), names.end()};
}

Result<Solution> Pool::Solve(const SolveRequest& request) {
  impl_->Prepare();
  ::Pool* pool = impl_->pool;
  const bool dnf = impl_->family == profiles::Family::kRpm;
  Solution out;
  std::set<std::string> exclude(request.exclude.begin(), request.exclude.end());
  std::vector<std::string> problems;
  // name -> why ("include", "variant minbase"); requested names are read as dnf reads them.
  std::map<std::string, std::string> install;
  std::set<std::string> requested;
  std::string variant = profiles::NameOf(request.variant);
  for (const auto& n : VariantNames(request.variant))
    if (!exclude.count(n)) install.emplace(n, "variant " + variant);
  for (const auto& n : request.keep)
    if (!exclude.count(n)) install.emplace(n, "the target's packages");
  for (const auto& n : request.include) {
    if (exclude.count(n))
      problems.push_back("'" + n + "' is both in " + request.include_field +
                         " and packages.exclude");
    install[n] = request.include_field;
    requested.insert(n);
  }
  JobList jobs;
  for (const auto& [name, why] : install) {
    JobOrigin origin{JobOrigin::kInstall, name, why};
    Id id = impl_->NameId(name);
    if (dnf && requested.count(name)) {
      if (Selection sel = DnfSelect(pool, name); sel.how) {
        jobs.Add(SOLVER_INSTALL | sel.how, sel.what, std::move(origin));
        continue;
      }
    } else if (id && impl_->HasPackageNamed(id)) {
      jobs.Add(SOLVER_INSTALL | SOLVER_SOLVABLE_NAME, id, std::move(origin));
      continue;
    } else if (id && impl_->HasProvider(id)) {
      jobs.Add(SOLVER_INSTALL | SOLVER_SOLVABLE_PROVIDES, id, std::move(origin));
      continue;
    }
    auto close = impl_->CloseNames(name);
    std::string hint = close.empty() ? "" : "; did you mean " + Join(close, ", ") + "?";
    problems.push_back(dnf ? "No match for argument: " + name + " (" + why + ")" + hint
                           : "unknown package '" + name + "' (" + why + ")" + hint);
  }
  for (const auto& name : exclude) {
    Id id = impl_->NameId(name);
    if (!id || !impl_->HasPackageNamed(id)) {
      out.warnings.push_back("packages.exclude: no package is named '" + name + "'");
      continue;
    }
    jobs.Add(SOLVER_LOCK | SOLVER_SOLVABLE_NAME, id,
             JobOrigin{JobOrigin::kExclude, name, "packages.exclude"});
  }
  if (!problems.empty()) return Error{Join(problems, "\n")};
  if (dnf) AddDnfInstallOnly(pool, &jobs);

  // apt's choice of the first alternative needs more rounds; dnf leaves every choice to libsolv.
  SolverSetup setup{.recommends = request.recommends, .dnf = dnf};
  std::set<Id> favored;
  std::vector<Id> installed;
  for (int round = 0; round < 4; ++round) {
    auto r = RunSolver(pool, jobs, favored, setup, &installed);
    if (!r) return r.take_error();
    if (dnf) break;
    std::set<Id> more = impl_->FirstAlternatives(installed, request.recommends);
    if (std::includes(favored.begin(), favored.end(), more.begin(), more.end())) break;
    favored.insert(more.begin(), more.end());
  }
  for (Id p : installed) {
    auto pkg = impl_->Describe(p);
    if (!pkg) return pkg.take_error();
    out.packages.push_back(std::move(*pkg));
  }
  return out;
}

}  // namespace imager::repo
