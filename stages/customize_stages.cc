// SPDX-License-Identifier: GPL-3.0-or-later
#include "stages/customize_stages.h"

#include "base/fd.h"
#include "base/strings.h"
#include "inside/customize.h"
#include "stages/stage_util.h"

namespace imager::stages {
namespace {

using profiles::Profile;

bool BuiltinLocale(const std::string& l) { return l == "C" || l == "C.UTF-8" || l == "POSIX"; }

// Generates a locale the C library does not carry itself, with the image's locale-gen.
constexpr const char* kLocaleGen = R"sh(set -e
if ! command -v locale-gen >/dev/null; then
  echo "rootfs.locale: '$1' needs the locales package in the image (add it to packages.include)"
  exit 1
fi
line=$(grep -m1 "^$1 " /usr/share/i18n/SUPPORTED) || {
  echo "rootfs.locale: '$1' is not a supported locale (see /usr/share/i18n/SUPPORTED)"; exit 1; }
grep -qx "$line" /etc/locale.gen 2>/dev/null || echo "$line" >> /etc/locale.gen
locale-gen
)sh";

constexpr const char* kServices = R"sh(set -e
if ! command -v systemctl >/dev/null; then
  echo "rootfs.services: systemctl is not in the image (enabling services needs systemd)"
  exit 1
fi
preset=/etc/systemd/system-preset/00-imager.preset
mkdir -p /etc/systemd/system-preset
: > $preset
for u in $ENABLE; do echo "enable $u" >> $preset; done
for u in $DISABLE; do echo "disable $u" >> $preset; done
systemctl preset $ENABLE $DISABLE
)sh";

struct ConfigOptions {
  std::string hostname, timezone, locale;
  static constexpr auto kFields = std::tuple{Field("hostname", &ConfigOptions::hostname),
                                             Field("timezone", &ConfigOptions::timezone),
                                             Field("locale", &ConfigOptions::locale)};
};

Status RunConfig(StageContext& ctx, const ConfigOptions& r) {
  std::vector<std::string> args{"configure", "--hostname", r.hostname};
  if (!r.timezone.empty()) args.insert(args.end(), {"--timezone", r.timezone});
  if (!r.locale.empty()) args.insert(args.end(), {"--locale", r.locale});
  args.push_back("/target");
  auto spec = TargetSpec(ctx, {}, args);
  if (!spec) return spec.take_error();
  if (auto st = RunLogged(*spec, ctx, "configure"); !st) return st;
  if (r.locale.empty() || BuiltinLocale(r.locale)) return {};
  auto gen = ImageSpec(ctx);
  if (!gen) return gen.take_error();
  gen->argv = {"/bin/sh", "-c", kLocaleGen, "locale", r.locale};
  return RunLogged(*gen, ctx, "generate locale " + r.locale);
}

// The accounts as JSON: the users, their groups and password hashes (salted from the input).
struct UsersOptions {
  std::string accounts;
  static constexpr auto kFields = std::tuple{Field("accounts", &UsersOptions::accounts)};
};

Status RunUsers(StageContext& ctx, const UsersOptions& o) {
  // In a file, not on the command line: the log shows command lines, and plain passwords
  // must not end up there.
  std::string file = ctx.scratch_dir() + "/accounts.json";
  if (auto st = WriteFile(file, o.accounts); !st) return st;
  auto spec = TargetSpec(ctx, {{file, "/in/accounts.json", true}},
                         {"accounts", "/target", "/in/accounts.json"});
  if (!spec) return spec.take_error();
  return RunLogged(*spec, ctx, "add users");
}

struct FileCopy {
  ContentPath from;  // a trailing '/' copies a directory's contents
  std::string to;
  static constexpr auto kFields =
      std::tuple{Field("from", &FileCopy::from), Field("to", &FileCopy::to)};
};

struct FilesOptions {
  std::vector<FileCopy> files;
  static void Encode(KeyInputs& k, const std::string& name, const std::vector<FileCopy>& files) {
    for (size_t i = 0; i < files.size(); ++i) {
      std::string n = name + "[" + std::to_string(i) + "]";
      const std::string& from = files[i].from.path;
      engine::AppendKey(k, n + ".from", files[i].from);
      k.Value(n + ".to", files[i].to + (!from.empty() && from.back() == '/' ? " /" : ""));
    }
  }
  static constexpr auto kFields = std::tuple{Field("files", &FilesOptions::files, &Encode)};
};

Status RunFiles(StageContext& ctx, const FilesOptions& o) {
  for (size_t i = 0; i < o.files.size(); ++i) {
    std::string from = o.files[i].from.path;
    while (from.size() > 1 && from.back() == '/') from.pop_back();
    std::string inside = "/in/" + std::to_string(i);
    auto spec =
        TargetSpec(ctx, {{from, inside, true}}, {"copy-in", "/target", inside, o.files[i].to});
    if (!spec) return spec.take_error();
    if (auto st = RunLogged(*spec, ctx,
                            "rootfs.files[" + std::to_string(i) + "]: copy " +
                                o.files[i].from.path + " to " + o.files[i].to);
        !st)
      return st;
  }
  return {};
}

struct ServicesOptions {
  std::vector<std::string> enable, disable;
  static void Encode(KeyInputs& k, const std::string& name, const std::vector<std::string>& units) {
    k.Value(name, Join(units, " "));  // unit names have no spaces
  }
  static constexpr auto kFields = std::tuple{Field("enable", &ServicesOptions::enable, &Encode),
                                             Field("disable", &ServicesOptions::disable, &Encode)};
};

Status RunServices(StageContext& ctx, const ServicesOptions& o) {
  auto spec = ImageSpec(ctx);
  if (!spec) return spec.take_error();
  spec->env.push_back("ENABLE=" + Join(o.enable, " "));
  spec->env.push_back("DISABLE=" + Join(o.disable, " "));
  spec->argv = {"/bin/sh", "-c", kServices, "services"};
  return RunLogged(*spec, ctx, "enable and disable services");
}

struct ScriptsOptions {
  std::vector<ContentPath> scripts;
  static void Encode(KeyInputs& k, const std::string&, const std::vector<ContentPath>& scripts) {
    for (size_t i = 0; i < scripts.size(); ++i)
      engine::AppendKey(k, "script" + std::to_string(i), scripts[i]);
  }
  static constexpr auto kFields = std::tuple{Field("scripts", &ScriptsOptions::scripts, &Encode)};
};

Status RunScripts(StageContext& ctx, const ScriptsOptions& o) {
  for (size_t i = 0; i < o.scripts.size(); ++i) {
    auto spec = ImageSpec(ctx);
    if (!spec) return spec.take_error();
    // Under /tmp, a tmpfs: the mount point does not end up in the layer.
    std::string inside = "/tmp/.imager-run-" + std::to_string(i);
    spec->binds.push_back({o.scripts[i].path, inside, true});
    spec->argv = {inside};
    if (auto st = RunLogged(*spec, ctx, "script " + o.scripts[i].path); !st) return st;
  }
  return {};
}

}  // namespace

Stage ConfigStage(const Profile& p, std::vector<std::string> parents) {
  const auto& r = p.rootfs;
  return MakeStage({.name = "config", .version = 2, .parents = std::move(parents)},
                   ConfigOptions{r.hostname, r.timezone, r.locale}, RunConfig);
}

Stage UsersStage(const Profile& p, int64_t source_date_epoch, std::vector<std::string> parents) {
  int64_t days = source_date_epoch >= 0 ? source_date_epoch / 86400 : 0;
  return MakeStage({.name = "users", .parents = std::move(parents)},
                   UsersOptions{inside::AccountsJson(p.rootfs, days)}, RunUsers);
}

Stage FilesStage(const Profile& p, std::vector<std::string> parents) {
  FilesOptions o;
  for (const auto& f : p.rootfs.files) o.files.push_back({{f.from}, f.to});
  return MakeStage({.name = "files", .parents = std::move(parents)}, std::move(o), RunFiles);
}

Stage ServicesStage(const Profile& p, std::vector<std::string> parents) {
  return MakeStage({.name = "services", .parents = std::move(parents)},
                   ServicesOptions{p.rootfs.services.enable, p.rootfs.services.disable},
                   RunServices);
}

Stage ScriptsStage(const Profile& p, std::vector<std::string> parents) {
  ScriptsOptions o;
  for (const auto& script : p.rootfs.run) o.scripts.push_back({script});
  return MakeStage({.name = "scripts", .parents = std::move(parents)}, std::move(o), RunScripts);
}

}  // namespace imager::stages
