// SPDX-License-Identifier: GPL-3.0-or-later
#include "stages/customize_stages.h"

#include "base/fd.h"
#include "base/strings.h"
#include "stages/customize.h"
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

}  // namespace

Stage ConfigStage(const Profile& p, const BuildOptions& o, std::vector<std::string> parents) {
  Stage s;
  s.name = "config";
  s.version = 2;
  s.inputs = {KeyInput::Value("hostname", p.rootfs.hostname),
              KeyInput::Value("timezone", p.rootfs.timezone),
              KeyInput::Value("locale", p.rootfs.locale)};
  s.parents = std::move(parents);
  s.run = [r = p.rootfs, o](StageContext& ctx) -> Status {
    std::vector<std::string> args{"configure", "--hostname", r.hostname};
    if (!r.timezone.empty()) args.insert(args.end(), {"--timezone", r.timezone});
    if (!r.locale.empty()) args.insert(args.end(), {"--locale", r.locale});
    args.push_back("/target");
    auto spec = TargetSpec(ctx, o, {}, args);
    if (!spec) return spec.take_error();
    if (auto st = RunLogged(*spec, ctx, "configure"); !st) return st;
    if (r.locale.empty() || BuiltinLocale(r.locale)) return {};
    auto gen = ImageSpec(ctx, o);
    if (!gen) return gen.take_error();
    gen->argv = {"/bin/sh", "-c", kLocaleGen, "locale", r.locale};
    return RunLogged(*gen, ctx, "generate locale " + r.locale);
  };
  return s;
}

Stage UsersStage(const Profile& p, const BuildOptions& o, std::vector<std::string> parents) {
  Stage s;
  s.name = "users";
  int64_t days = o.source_date_epoch >= 0 ? o.source_date_epoch / 86400 : 0;
  std::string spec_json = AccountsJson(p.rootfs, days);
  s.inputs = {KeyInput::Value("accounts", spec_json)};
  s.parents = std::move(parents);
  s.run = [spec_json, o](StageContext& ctx) -> Status {
    // In a file, not on the command line: the log shows command lines, and plain passwords
    // must not end up there.
    std::string file = ctx.scratch_dir() + "/accounts.json";
    if (auto st = WriteFile(file, spec_json); !st) return st;
    auto spec = TargetSpec(ctx, o, {{file, "/in/accounts.json", true}},
                           {"accounts", "/target", "/in/accounts.json"});
    if (!spec) return spec.take_error();
    return RunLogged(*spec, ctx, "add users");
  };
  return s;
}

Stage FilesStage(const Profile& p, const BuildOptions& o, std::vector<std::string> parents) {
  Stage s;
  s.name = "files";
  for (size_t i = 0; i < p.rootfs.files.size(); ++i) {
    const auto& f = p.rootfs.files[i];
    std::string n = "files[" + std::to_string(i) + "]";
    s.inputs.push_back(KeyInput::Content(n + ".from", f.from));
    s.inputs.push_back(KeyInput::Value(n + ".to", f.to + (f.from.back() == '/' ? " /" : "")));
  }
  s.parents = std::move(parents);
  s.run = [files = p.rootfs.files, o](StageContext& ctx) -> Status {
    for (size_t i = 0; i < files.size(); ++i) {
      std::string from = files[i].from;
      while (from.size() > 1 && from.back() == '/') from.pop_back();
      std::string inside = "/in/" + std::to_string(i);
      auto spec =
          TargetSpec(ctx, o, {{from, inside, true}}, {"copy-in", "/target", inside, files[i].to});
      if (!spec) return spec.take_error();
      if (auto st = RunLogged(*spec, ctx,
                              "rootfs.files[" + std::to_string(i) + "]: copy " + files[i].from +
                                  " to " + files[i].to);
          !st)
        return st;
    }
    return {};
  };
  return s;
}

Stage ServicesStage(const Profile& p, const BuildOptions& o, std::vector<std::string> parents) {
  Stage s;
  s.name = "services";
  std::string enable = Join(p.rootfs.services.enable, " ");
  std::string disable = Join(p.rootfs.services.disable, " ");
  s.inputs = {KeyInput::Value("enable", enable), KeyInput::Value("disable", disable)};
  s.parents = std::move(parents);
  s.run = [enable, disable, o](StageContext& ctx) -> Status {
    auto spec = ImageSpec(ctx, o);
    if (!spec) return spec.take_error();
    spec->env.push_back("ENABLE=" + enable);
    spec->env.push_back("DISABLE=" + disable);
    spec->argv = {"/bin/sh", "-c", kServices, "services"};
    return RunLogged(*spec, ctx, "enable and disable services");
  };
  return s;
}

Stage ScriptsStage(const Profile& p, const BuildOptions& o, std::vector<std::string> parents) {
  Stage s;
  s.name = "scripts";
  for (size_t i = 0; i < p.rootfs.run.size(); ++i)
    s.inputs.push_back(KeyInput::Content("script" + std::to_string(i), p.rootfs.run[i]));
  s.parents = std::move(parents);
  s.run = [scripts = p.rootfs.run, o](StageContext& ctx) -> Status {
    for (size_t i = 0; i < scripts.size(); ++i) {
      auto spec = ImageSpec(ctx, o);
      if (!spec) return spec.take_error();
      // Under /tmp, a tmpfs: the mount point does not end up in the layer.
      std::string inside = "/tmp/.imager-run-" + std::to_string(i);
      spec->binds.push_back({scripts[i], inside, true});
      spec->argv = {inside};
      if (auto st = RunLogged(*spec, ctx, "script " + scripts[i]); !st) return st;
    }
    return {};
  };
  return s;
}

}  // namespace imager::stages
