// SPDX-License-Identifier: GPL-3.0-or-later
// The Debian package stage: the essential set is unpacked by imager (libarchive, inside the id
// mapping), then dpkg inside the image installs and configures everything in the solver's order,
// with no network, services kept from starting (policy-rc.d) and fsync made a no-op.
#include <sys/stat.h>

#include <charconv>
#include <map>
#include <optional>
#include <set>

#include "base/fs.h"
#include "base/inroot.h"
#include "base/strings.h"
#include "formats/deb.h"
#include "inside/rpm_install.h"
#include "sandbox/tools.h"
#include "stages/deb_plan.h"
#include "stages/iso_stages.h"
#include "stages/lost_owners.h"
#include "stages/rootfs.h"
#include "stages/stage_util.h"

namespace imager::stages {
namespace {

constexpr const char* kPkgsInside = "/tmp/.imager-pkgs";

// What dpkg's environment says about the build: `initrd` false means the distribution's
// initramfs is not generated; `source_date_epoch` (>= 0) is the build's time, which
// maintainer scripts that honour SOURCE_DATE_EPOCH (mkinitramfs, ...) stamp their output with.
struct DpkgEnv {
  bool initrd = true;
  int64_t source_date_epoch = -1;
};

// `initrd` false: the distribution's initramfs is not generated (imager's booter boots the
// kernel); kernel hooks honour INITRD=No, and update-initramfs -u then finds nothing to update.
std::vector<std::string> DpkgEnvironment(const DpkgEnv& de) {
  auto env = sandbox::DefaultEnvironment(nullptr);
  if (de.source_date_epoch >= 0)
    env.push_back("SOURCE_DATE_EPOCH=" + std::to_string(de.source_date_epoch));
  for (auto& e : env)
    if (StartsWith(e, "LANG=")) e = "LANG=C.UTF-8";
  env.insert(env.end(), {"LC_ALL=C.UTF-8", "LANGUAGE=C.UTF-8", "DEBIAN_FRONTEND=noninteractive",
                         "DEBCONF_NONINTERACTIVE_SEEN=true", "DPKG_COLORS=never"});
  if (!de.initrd) env.push_back("INITRD=No");
  return env;
}

// A sandbox with the image as "/" (its own layer, or the layers below plus it) and the package
// cache at kPkgsInside; no network.
Result<sandbox::SandboxSpec> DpkgSpec(StageContext& ctx, const PackageBinds& pm,
                                      const DpkgEnv& de) {
  sandbox::SandboxSpec spec;
  if (Layers(ctx).empty()) {
    spec.idmap = ctx.idmap();
    spec.root.kind = sandbox::RootSpec::Kind::kDir;
    spec.root.dir = ctx.output_dir();
    spec.root.record_owners = true;
    spec.capabilities = sandbox::DefaultCapabilities();
  } else {
    auto s = ImageSpec(ctx);
    if (!s) return s.take_error();
    spec = std::move(*s);
  }
  spec.env = DpkgEnvironment(de);
  spec.tmpfs_run = false;  // base-files and systemd create /run/lock; it belongs to the image
  spec.binds.push_back(pm.bind);
  return spec;
}

// The packages dpkg reported as failing, from the stage's log.
std::string FailedPackages(const std::string& log_path) {
  std::string tail = LogTail(log_path, 200), out;
  std::set<std::string> seen;
  for (const auto& line : Split(tail, '\n')) {
    const std::string marker = "dpkg: error processing package ";
    size_t at = line.find(marker);
    if (at == std::string::npos) continue;
    std::string rest = line.substr(at + marker.size());
    std::string name = rest.substr(0, rest.find(' '));
    if (seen.insert(name).second) out += (out.empty() ? "" : ", ") + name;
  }
  return out;
}

Status RunDpkg(StageContext& ctx, const PackageBinds& pm, const DpkgEnv& de,
               std::vector<std::string> argv, const std::string& what) {
  auto spec = DpkgSpec(ctx, pm, de);
  if (!spec) return spec.take_error();
  spec->argv = std::move(argv);
  auto st = RunLogged(*spec, ctx, what);
  if (st) return st;
  std::string failed = FailedPackages(ctx.log_path());
  if (failed.empty()) return st;
  return Error{what + ": dpkg could not install " + failed +
               " (a maintainer script failed; its output is in the log below)"};
}

// The control fields the planner needs, of every package in `files`.
Result<std::vector<DebInfo>> ReadInfos(const PackageSet& files) {
  std::vector<DebInfo> infos;
  for (size_t i = 0; i < files.paths.size(); ++i) {
    auto c = formats::deb::ReadControl(files.paths[i]);
    if (!c) return Wrap("package " + files.packages[i].name, c.error());
    infos.push_back(DebInfo::FromControl(*c));
  }
  return infos;
}

// One `dpkg --install` per batch (progress counted on from `done` of `total`), then
// `dpkg --configure --pending`.
Status InstallBatches(StageContext& ctx, const PackageBinds& pm, const DpkgEnv& de,
                      const std::vector<DebInfo>& infos,
                      const std::vector<std::vector<size_t>>& batches, size_t done, size_t total) {
  for (size_t b = 0; b < batches.size(); ++b) {
    std::vector<std::string> argv{"/usr/bin/dpkg", "--install", "--force-depends"};
    for (size_t i : batches[b]) argv.push_back(pm.inside[i]);
    std::string what = "install batch " + std::to_string(b + 1) + "/" +
                       std::to_string(batches.size()) + " (" + infos[batches[b].front()].name +
                       "...)";
    if (auto st = RunDpkg(ctx, pm, de, argv, what); !st) return st;
    done += batches[b].size();
    ctx.progress(done, total, "packages");
  }
  return RunDpkg(ctx, pm, de, {"/usr/bin/dpkg", "--configure", "--pending"},
                 "configure what is pending");
}

// Debian's "deb URL SUITE COMPONENTS" for the image's apt, from the lock.
std::string SourcesList(const profiles::Profile& p,
                        const std::vector<repo::LockedRepository>& repos) {
  std::string out;
  for (size_t i = 0; i < repos.size() && i < p.repositories.size(); ++i) {
    const auto& r = p.repositories[i];
    if (r.type != profiles::RepoType::kDeb) continue;
    out += "deb " + repos[i].url + " " + repos[i].suite + " " + Join(r.components, " ") + "\n";
  }
  return out;
}

// apt's record of what was installed only as a dependency, as mmdebstrap leaves it: the essential
// set and apt (with what they need) are installed first and the profile's packages by name,
// so everything else is marked automatic.
std::string ExtendedStates(const std::vector<DebInfo>& infos, const PackageSet& files,
                           const std::vector<std::string>& roots,
                           const std::vector<std::string>& include) {
  std::vector<bool> base = DebClosure(infos, roots, /*with_essential=*/true);
  std::set<std::string> asked(include.begin(), include.end());
  std::string out;
  for (size_t i = 0; i < infos.size(); ++i) {
    if (asked.count(infos[i].name) || base[i]) continue;
    out += "Package: " + infos[i].name + "\nArchitecture: " + files.packages[i].arch +
           "\nAuto-Installed: 1\n\n";
  }
  return out;
}

// The end of both finishes: dpkg's database must show every package installed completely.
constexpr const char* kDpkgCheck = R"(audit=$(dpkg --audit)
if [ -n "$audit" ]; then echo "dpkg --audit:"; echo "$audit"; exit 1; fi
bad=$(dpkg-query -W -f='${db:Status-Abbrev} ${binary:Package}\n' | grep -v '^ii ' || true)
if [ -n "$bad" ]; then echo "packages not installed completely:"; echo "$bad"; exit 1; fi
)";

// What mmdebstrap also removes so that two builds of the same packages are alike; the apt and
// dpkg state stays.
constexpr const char* kFinish = R"(set -e
rm -f /usr/sbin/policy-rc.d /var/log/dpkg.log /var/log/alternatives.log \
  /var/log/apt/history.log /var/log/apt/term.log /var/cache/ldconfig/aux-cache \
  /var/lib/dbus/machine-id /var/cache/apt/pkgcache.bin /var/cache/apt/srcpkgcache.bin
rm -rf /var/lib/apt/lists/auxfiles
if [ -e /etc/machine-id ]; then rm -f /etc/machine-id; : > /etc/machine-id; fi
find /run -mindepth 1 -maxdepth 1 ! -name lock -exec rm -rf {} +
if getent passwd _apt >/dev/null; then
  for d in /var/cache/apt/archives/partial /var/lib/apt/lists/partial; do
    mkdir -p $d && chown _apt:root $d && chmod 0700 $d
  done
fi
printf '%s' "$2" > /var/lib/apt/extended_states
mkdir -p /etc/apt
printf '%s' "$1" > /etc/apt/sources.list
)";

// The finish for packages added to an installed system: services kept from starting while
// dpkg runs ($1: "start") and then allowed again ("finish", which also appends $2 to apt's
// extended_states and checks dpkg's database).
constexpr const char* kAddFinish = R"(set -e
if [ "$1" = start ]; then
  mkdir -p /usr/sbin
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 0755 /usr/sbin/policy-rc.d
  exit 0
fi
rm -f /usr/sbin/policy-rc.d /var/log/dpkg.log /var/log/alternatives.log \
  /var/cache/ldconfig/aux-cache /var/cache/apt/pkgcache.bin /var/cache/apt/srcpkgcache.bin
find /run -mindepth 1 -maxdepth 1 ! -name lock -exec rm -rf {} +
printf '%s' "$2" >> /var/lib/apt/extended_states
)";

// dpkg-statoverride's database: "OWNER GROUP MODE PATH" per line, owners as names or #ids.
struct StatOverride {
  std::string owner, group, path;
};
std::vector<StatOverride> ReadStatOverrides(const std::string& tree) {
  std::vector<StatOverride> out;
  // Resolved inside the image: a statoverride that is a symlink must not lead to a host file.
  auto text = ReadInRoot(tree, "/var/lib/dpkg/statoverride");
  if (!text) return out;  // none in this layer
  for (const auto& line : Split(*text, '\n')) {
    std::vector<std::string> f;
    for (auto& w : Split(line, ' '))
      if (!w.empty()) f.push_back(std::move(w));
    if (f.size() == 4) out.push_back({f[0], f[1], f[3]});
  }
  return out;
}
bool IsRoot(const std::string& name) { return name == "root" || name == "#0" || name == "0"; }

// An owner name of the image (passwd or group, from the topmost layer that has the file) or
// "#ID" as dpkg-statoverride writes numbers; nullopt when the image has no such name.
std::optional<uint32_t> IdOf(const std::string& name, const std::vector<std::string>& layers,
                             const char* database) {
  if (IsRoot(name)) return 0;
  if (StartsWith(name, "#")) {
    uint32_t id = 0;
    auto [end, ec] = std::from_chars(name.data() + 1, name.data() + name.size(), id);
    if (ec != std::errc() || end != name.data() + name.size()) return std::nullopt;
    return id;
  }
  for (const auto& l : layers)
    if (auto text = ReadInRoot(l, database)) {
      for (const auto& [n, id] : inside::ParseIdFile(*text))
        if (n == name) return id;
      return std::nullopt;
    }
  return std::nullopt;
}

// Single-id mode: an owner the packages' data.tar or dpkg-statoverride give to someone other
// than root is in the image only where the sandbox recorded it (base/owner_record.h); the others
// were lost, and their set-id bits are taken off (stages/lost_owners.h: chage is root:shadow
// 2755; unrecorded, it would be setgid root). Says how many of each, lists them in the log.
Status HandleLostOwners(StageContext& ctx, const PackageSet& files) {
  std::vector<std::string> layers{ctx.output_dir()};  // top first
  auto below = Layers(ctx);
  for (auto it = below.rbegin(); it != below.rend(); ++it) layers.push_back(it->dir);
  std::vector<AskedOwner> asked;
  for (size_t i = 0; i < files.paths.size(); ++i) {
    // Reading every package's data.tar costs seconds; a package whose files carry no set-id bit
    // cannot grant an id through a lost owner, and what the sandbox could not record it says in
    // the log ("not kept").
    auto setid = PackageHasSetIdFile(layers, files.packages[i].name, files.packages[i].arch);
    if (!setid) return Wrap("package " + files.packages[i].name, setid.error());
    if (!*setid) continue;
    auto owned = formats::deb::ListOwned(files.paths[i]);
    if (!owned) return Wrap("package " + files.packages[i].name, owned.error());
    for (const auto& e : *owned)
      asked.push_back({files.packages[i].name, "/" + e.path,
                       std::to_string(e.uid) + ":" + std::to_string(e.gid), e.uid, e.gid});
  }
  for (const auto& o : ReadStatOverrides(ctx.output_dir())) {
    if (IsRoot(o.owner) && IsRoot(o.group)) continue;
    asked.push_back({"dpkg-statoverride", o.path, o.owner + ":" + o.group,
                     IdOf(o.owner, layers, "/etc/passwd"), IdOf(o.group, layers, "/etc/group")});
  }
  auto check = CheckAskedOwners(layers, asked);
  if (!check) return check.take_error();
  for (const auto& l : check->lost) ctx.log("ownership not kept: " + l);
  for (const auto& l : check->stripped) ctx.log("set-id bit removed (its owner was lost): " + l);
  ctx.log("single-id mode: the owners packages give to " + std::to_string(check->recorded) +
          " files of packages with set-id programs are recorded");
  if (!check->lost.empty())
    ctx.note("single-id mode: " + std::to_string(check->lost.size()) +
             " owners the packages give were lost (listed in " + ctx.log_path() +
             "); 'imager check' says how to get a subordinate id range");
  if (!check->stripped.empty())
    ctx.note("single-id mode: " + std::to_string(check->stripped.size()) +
             " set-id bits removed from files whose owner was lost (they would have granted "
             "root's id; listed in " +
             ctx.log_path() + ")");
  return {};
}

struct DebPackagesOptions {
  PackageSet files;
  std::string arch;
  std::string sources;             // the image's /etc/apt/sources.list
  int64_t source_date_epoch = -1;  // SOURCE_DATE_EPOCH for maintainer scripts (-1: none)
  /// apt's extended_states: what the essential set and these roots need is not automatic,
  /// nor are the packages asked for by name.
  std::vector<std::string> auto_roots;
  std::vector<std::string> asked;
  static constexpr auto kFields =
      std::tuple{Field("package", &DebPackagesOptions::files, &KeyPackages),
                 Field("arch", &DebPackagesOptions::arch),
                 Field("sources", &DebPackagesOptions::sources),
                 Field("source_date_epoch", &DebPackagesOptions::source_date_epoch),
                 Field("auto_roots", &DebPackagesOptions::auto_roots),
                 Field("asked", &DebPackagesOptions::asked)};
};

Status RunDebPackages(StageContext& ctx, const DebPackagesOptions& o) {
  const PackageSet& files = o.files;
  const DpkgEnv de{false, o.source_date_epoch};
  if (files.paths.empty()) return Error{"packages: the lock lists no packages to install"};
  auto pm = BindPackages(files.paths, kPkgsInside);
  // Which packages are unpacked by hand and how the rest is batched, from their control files.
  auto read = ReadInfos(files);
  if (!read) return read.take_error();
  const std::vector<DebInfo>& infos = *read;
  DebPlan plan = PlanDebInstall(infos);
  if (plan.essential.empty())
    return Error{
        "no Essential: yes package in the package set; dpkg cannot run in the image "
        "(add the essential set, e.g. packages.variant: minbase)"};
  ctx.log("essential: " + std::to_string(plan.essential.size()) + " packages, then " +
          std::to_string(plan.batches.size()) + " dpkg runs");
  size_t done = 0, total = files.paths.size();
  ctx.progress(0, total, "packages");

  // 1. The essential set, unpacked into the layer inside the id mapping.
  std::vector<std::string> essential_paths, essential_inside;
  for (size_t i : plan.essential) {
    essential_paths.push_back(files.paths[i]);
    essential_inside.push_back(pm.inside[i]);
  }
  auto tools = BindPackages(essential_paths, "/pkgs");
  std::vector<std::string> args{"deb-unpack", "--arch", o.arch, "/target"};
  args.insert(args.end(), tools.inside.begin(), tools.inside.end());
  auto unpack = TargetSpec(ctx, {tools.bind}, args);
  if (!unpack) return unpack.take_error();
  if (auto st = RunLogged(*unpack, ctx, "unpack the essential packages"); !st) return st;

  // 2. dpkg installs the essential set properly (Pre-Depends are not ordered by dpkg: the
  //    files are already there, hence --force-depends), then each batch.
  std::vector<std::string> argv{"/usr/bin/dpkg", "--install", "--force-depends"};
  argv.insert(argv.end(), essential_inside.begin(), essential_inside.end());
  if (auto st = RunDpkg(ctx, pm, de, argv, "install the essential packages"); !st) return st;
  done += plan.essential.size();
  ctx.progress(done, total, "packages");
  if (auto st = InstallBatches(ctx, pm, de, infos, plan.batches, done, total); !st) return st;

  // 3. Clean up like mmdebstrap, point apt at the mirror, and check dpkg's database.
  auto fin = DpkgSpec(ctx, pm, de);
  if (!fin) return fin.take_error();
  fin->argv = {"/bin/sh", "-c",      std::string(kFinish) + kDpkgCheck,
               "finish",  o.sources, ExtendedStates(infos, files, o.auto_roots, o.asked)};
  if (auto st = RunLogged(*fin, ctx, "check the installation"); !st) return st;
  if (ctx.idmap().mode == sandbox::IdMode::kSingle) return HandleLostOwners(ctx, files);
  return {};
}

struct DebAddPackagesOptions {
  PackageSet files;
  std::vector<std::string> asked;  // installed by name; the rest is marked automatic for apt
  int64_t source_date_epoch = -1;
  static void EncodeAsked(KeyInputs& k, const std::string& name,
                          const std::vector<std::string>& asked) {
    k.Value(name, Join(asked, " "));  // package names have no spaces
  }
  static constexpr auto kFields =
      std::tuple{Field("package", &DebAddPackagesOptions::files, &KeyPackages),
                 Field("asked", &DebAddPackagesOptions::asked, &EncodeAsked),
                 Field("source_date_epoch", &DebAddPackagesOptions::source_date_epoch)};
};

Status RunDebAddPackages(StageContext& ctx, const DebAddPackagesOptions& o) {
  const PackageSet& files = o.files;
  if (files.paths.empty())
    return Error{ctx.stage() +
                 ": the lock lists no packages for this layer (run 'imager resolve')"};
  auto pm = BindPackages(files.paths, kPkgsInside);
  auto read = ReadInfos(files);
  if (!read) return read.take_error();
  const std::vector<DebInfo>& infos = *read;
  // The system below has dpkg and the essential set: every package goes through dpkg, in
  // batches that keep each Pre-Depends configured before what needs it.
  DebPlan plan = PlanDebInstall(infos);
  std::vector<std::vector<size_t>> batches;
  if (!plan.essential.empty()) batches.push_back(plan.essential);
  batches.insert(batches.end(), plan.batches.begin(), plan.batches.end());
  auto script = [&](std::vector<std::string> args, const std::string& what) -> Status {
    auto spec = DpkgSpec(ctx, pm, DpkgEnv{false, o.source_date_epoch});
    if (!spec) return spec.take_error();
    spec->argv = {"/bin/sh", "-c", std::string(kAddFinish) + kDpkgCheck, "finish"};
    spec->argv.insert(spec->argv.end(), args.begin(), args.end());
    return RunLogged(*spec, ctx, what);
  };
  if (auto st = script({"start"}, "keep services from starting"); !st) return st;
  ctx.progress(0, files.paths.size(), "packages");
  if (auto st = InstallBatches(ctx, pm, DpkgEnv{false, o.source_date_epoch}, infos, batches, 0,
                               files.paths.size());
      !st)
    return st;
  std::set<std::string> by_name(o.asked.begin(), o.asked.end());
  std::string states;
  for (size_t i = 0; i < infos.size(); ++i)
    if (!by_name.count(infos[i].name))
      states += "Package: " + infos[i].name + "\nArchitecture: " + files.packages[i].arch +
                "\nAuto-Installed: 1\n\n";
  if (auto st = script({"finish", states}, "check the installation"); !st) return st;
  if (ctx.idmap().mode == sandbox::IdMode::kSingle) return HandleLostOwners(ctx, files);
  return {};
}

// What the kernel package's postinst does when INITRD is not "No" (the packages stage set it),
// for each installed kernel: the /initrd.img links (linux-update-symlinks) and the initramfs, by
// whichever generator's kernel hook the image has (initramfs-tools, dracut).
constexpr const char* kMakeInitrd = R"(set -e
found=
for image in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -V); do
  version=${image#/boot/vmlinuz-}
  [ -d "/lib/modules/$version" ] || continue
  found=1
  if command -v linux-update-symlinks >/dev/null; then
    linux-update-symlinks install "$version" "$image"
  fi
  made=
  for hook in initramfs-tools dracut; do
    if [ -x "/etc/kernel/postinst.d/$hook" ]; then
      echo "imager: $hook: the initramfs of $version"
      "/etc/kernel/postinst.d/$hook" "$version" "$image"
      made=1
    fi
  done
  [ -n "$made" ] || echo "imager: no initramfs generator in the image (initramfs-tools, dracut): $version boots without one"
done
[ -n "$found" ] || echo "imager: no kernel in the image (/boot/vmlinuz-*): no initramfs to make"
)";

struct DebInitrdOptions {
  int64_t source_date_epoch = -1;  // mkinitramfs stamps the archive with it
  static constexpr auto kFields =
      std::tuple{Field("source_date_epoch", &DebInitrdOptions::source_date_epoch)};
};

Status RunDebInitrd(StageContext& ctx, const DebInitrdOptions& o) {
  auto spec = ImageSpec(ctx);
  if (!spec) return spec.take_error();
  spec->env = DpkgEnvironment({true, o.source_date_epoch});
  spec->argv = {"/bin/sh", "-c", kMakeInitrd, "initrd"};
  return RunLogged(*spec, ctx, "make the initramfs");
}

}  // namespace

Stage DebPackagesStage(const profiles::Profile& p, const PackageFiles& files,
                       std::vector<std::string> parents) {
  DebPackagesOptions o{.files = SetOf(files),
                       .arch = p.distribution.arch,
                       .sources = SourcesList(p, files.repositories),
                       .source_date_epoch = files.source_date_epoch,
                       .auto_roots = {},
                       .asked = p.packages.include};
  using V = profiles::Variant;
  V v = p.packages.variant;
  if (v == V::kMinbase || v == V::kRequired || v == V::kImportant) o.auto_roots.push_back("apt");
  // Version 2: single-id mode removes set-id bits whose owner was lost; 3: not where the
  // sandbox recorded the owner (base/owner_record.h); 4: never the distribution's initramfs
  // (DebInitrdStage makes it where an output boots with it).
  return MakeStage({.name = "packages", .version = 4, .parents = std::move(parents)}, std::move(o),
                   RunDebPackages);
}

Stage DebAddPackagesStage(const profiles::Profile&, const PackageFiles& files,
                          std::vector<std::string> parents, const std::string& name,
                          const std::vector<std::string>& asked) {
  return MakeStage(
      {.name = name, .version = 4, .parents = std::move(parents)},
      DebAddPackagesOptions{SetOf(files), asked, files.source_date_epoch}, RunDebAddPackages);
}

Stage DebInitrdStage(const profiles::Profile&, int64_t source_date_epoch,
                     std::vector<std::string> parents) {
  return MakeStage({.name = kInitrdStage, .parents = std::move(parents)},
                   DebInitrdOptions{source_date_epoch}, RunDebInitrd);
}

}  // namespace imager::stages
