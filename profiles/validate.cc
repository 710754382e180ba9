// SPDX-License-Identifier: GPL-3.0-or-later
#include "profiles/validate.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "base/strings.h"

namespace imager::profiles {
namespace {

using Kind = Node::Kind;
namespace fs = std::filesystem;

bool OnlyChars(const std::string& s, std::string_view allowed) {
  return s.find_first_not_of(allowed) == std::string::npos;
}
constexpr std::string_view kLower = "abcdefghijklmnopqrstuvwxyz";
constexpr std::string_view kDigits = "0123456789";

bool IsUrl(const std::string& s) {
  return StartsWith(s, "http://") || StartsWith(s, "https://") || StartsWith(s, "file:/");
}

bool ValidHostname(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  for (const auto& label : Split(s, '.')) {
    bool chars =
        OnlyChars(label, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-");
    if (!chars || label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
  }
  return true;
}

bool ValidUserName(const std::string& s) {
  return !s.empty() && s.size() <= 32 &&
         (std::islower(static_cast<unsigned char>(s[0])) || s[0] == '_') &&
         OnlyChars(s, std::string(kLower) + std::string(kDigits) + "_-");
}

bool ValidSerial(const std::string& s) {
  auto parts = Split(s, ',');
  const std::string& tty = parts[0];
  size_t digit = tty.find_first_of(kDigits);
  return parts.size() <= 2 && StartsWith(tty, "tty") && digit != std::string::npos && digit > 3 &&
         OnlyChars(tty.substr(digit), kDigits) &&
         (parts.size() == 1 || (!parts[1].empty() && OnlyChars(parts[1], kDigits)));
}

// The items of a list of maps that are maps (unknown keys reported); reports the others.
std::vector<Field> MapItems(Checker& c, const Field& list) {
  std::vector<Field> out;
  if (!c.List(list)) return out;
  for (size_t i = 0; i < list.node->items.size(); ++i) {
    Field item = c.Item(list, i);
    if (!item.node)
      c.Fail(list.node->items[i].loc, item.path, "expected a map, got null");
    else if (c.Map(item))
      out.push_back(item);
  }
  return out;
}

void OnlyFor(Checker& c, const Field& f, const std::string& what) {
  if (f.node) c.Fail(f.node->key_loc, f.path, "only for " + what);
}

void ReadDistribution(Checker& c, const Field& top, Distribution* d) {
  Field f = c.Get(top, "distribution");
  if (!c.Map(f) && f.node) return;
  Field family = c.Get(f, "family");
  if (c.Require(f, family, "allowed: debian, rpm")) c.Enum(family, &d->family);
  c.String(c.Get(f, "release"), &d->release);
  Field arch = c.Get(f, "arch");
  constexpr std::string_view kArchChars = "abcdefghijklmnopqrstuvwxyz0123456789_";
  if (c.String(arch, &d->arch) && (d->arch.empty() || !OnlyChars(d->arch, kArchChars)))
    c.Fail(
        arch.node->loc, arch.path,
        "'" + d->arch + "' is not an architecture (allowed: a-z, 0-9 and _, e.g. amd64, x86_64)");
  if (d->arch.empty() || !OnlyChars(d->arch, kArchChars))
    d->arch = d->family == Family::kDebian ? "amd64" : "x86_64";
}

void ReadDebRepository(Checker& c, const Field& f, const Distribution& d, Repository* r) {
  for (const char* key : {"url", "baseurl", "gpgcheck", "repo_gpgcheck"})
    OnlyFor(c, c.Get(f, key), "rpm-md repositories");
  r->mirror = "auto";
  Field mirror = c.Get(f, "mirror");
  if (c.String(mirror, &r->mirror) && r->mirror != "auto" && !IsUrl(r->mirror))
    c.Fail(mirror.node->loc, mirror.path,
           "'" + r->mirror +
               "' is neither auto nor a URL (allowed: auto, http://..., https://..., " +
               "file:/...)");
  r->suite = d.release;
  Field suite = c.Get(f, "suite");
  c.String(suite, &r->suite);
  if (r->suite.empty())
    c.Fail(f.node->loc, suite.path, "missing (required unless distribution.release is set)");
  r->components = {"main"};
  c.Strings(c.Get(f, "components"), &r->components);
  c.Require(f, c.Get(f, "keyring"), "a deb repository names the keyring that signs it");
}

// dnf's variables in a repository URL: $basearch (distribution.arch) and $releasever
// (distribution.release), also spelt ${basearch} and ${releasever}.
std::string ExpandRepoVariables(std::string url, const Distribution& d) {
  for (const auto& [name, value] : {std::pair<std::string, std::string>{"basearch", d.arch},
                                    std::pair<std::string, std::string>{"releasever", d.release}})
    for (const std::string& form : {"${" + name + "}", "$" + name})
      for (size_t at; (at = url.find(form)) != std::string::npos;)
        url.replace(at, form.size(), value);
  return url;
}

void ReadRpmRepository(Checker& c, const Field& f, const Distribution& d, Repository* r) {
  for (const char* key : {"suite", "components"}) OnlyFor(c, c.Get(f, key), "deb repositories");
  Field mirror = c.Get(f, "mirror");
  if (mirror.node)
    c.Fail(mirror.node->loc, mirror.path,
           std::string(mirror.node->scalar == "auto" ? "auto is" : "mirror is") +
               " only for deb repositories (allowed for rpm-md: url or baseurl)");
  Field url = c.Get(f, "url"), baseurl = c.Get(f, "baseurl");
  if (url.node && baseurl.node)
    c.Fail(baseurl.node->key_loc, baseurl.path, "give url or baseurl, not both");
  const Field& u = url.node ? url : baseurl;
  if (!u.node)
    c.Fail(f.node->loc, url.path, "missing (the repository's URL; baseurl is accepted too)");
  else if (c.String(u, &r->url) && !IsUrl(r->url))
    c.Fail(u.node->loc, u.path,
           "'" + r->url + "' is not a URL (allowed: http://..., https://..., file:/...)");
  else if (d.release.empty() && r->url.find("releasever") != std::string::npos)
    c.Fail(u.node->loc, u.path, "$releasever needs distribution.release");
  r->url = ExpandRepoVariables(r->url, d);
  c.Bool(c.Get(f, "gpgcheck"), &r->gpgcheck);
  if (bool b; c.Bool(c.Get(f, "repo_gpgcheck"), &b)) r->repo_gpgcheck = b;
  if (r->gpgcheck || r->ChecksRepoMd())
    c.Require(
        f, c.Get(f, "keyring"),
        std::string(r->gpgcheck ? "gpgcheck" : "repo_gpgcheck") + " is on: name the signing key");
}

// Repositories may be left out only by a profile that starts from a base image and adds no
// packages to it.
void ReadRepositories(Checker& c, const Field& top, Profile* p) {
  Field f = c.Get(top, "repositories");
  if (!f.node && p->base.kind != BaseKind::kNone && p->packages.include.empty()) return;
  if (!c.Require(top, f,
                 "at least one is required unless a base: is set and no packages are included"))
    return;
  if (!c.List(f)) return;
  if (f.node->items.empty())
    c.Fail(f.node->loc, f.path, "empty (at least one repository is required)");
  RepoType want = p->distribution.family == Family::kDebian ? RepoType::kDeb : RepoType::kRpmMd;
  for (const Field& item : MapItems(c, f)) {
    Repository r;
    r.type = want;
    Field type = c.Get(item, "type");
    if (c.Enum(type, &r.type) && r.type != want) {
      c.Fail(type.node->loc, type.path,
             "'" + NameOf(r.type) + "' does not fit distribution.family " +
                 NameOf(p->distribution.family) + " (allowed: " + NameOf(want) + ")");
      r.type = want;  // check the rest as the family's type, not as the wrong one
    }
    c.Path(c.Get(item, "keyring"), &r.keyring,
           "the build needs it: a distribution's own hosts have it (openEuler's from "
           "openEuler-gpg-keys), and its repositories publish it (openEuler's beside repodata/ of "
           "OS/$basearch)");
    if (r.type == RepoType::kDeb)
      ReadDebRepository(c, item, p->distribution, &r);
    else
      ReadRpmRepository(c, item, p->distribution, &r);
    p->repositories.push_back(r);
  }
  if (p->distribution.release.empty() && !p->repositories.empty())
    p->distribution.release = p->repositories[0].suite;
}

void ReadPackages(Checker& c, const Field& top, Family family, Packages* pk) {
  pk->variant = family == Family::kDebian ? Variant::kMinbase : Variant::kNone;
  Field f = c.Get(top, "packages");
  if (!c.Map(f) && f.node) return;
  Field variant = c.Get(f, "variant");
  if (family == Family::kRpm)
    OnlyFor(c, variant, "the debian family (rpm profiles list packages in include)");
  else
    c.Enum(variant, &pk->variant);
  c.Strings(c.Get(f, "include"), &pk->include);
  c.Strings(c.Get(f, "exclude"), &pk->exclude);
  c.Bool(c.Get(f, "recommends"), &pk->recommends);
}

// base: {oci: PATH[:TAG]}: the tag follows the last ':' when PATH alone names the layout.
bool ReadOciReference(Checker& c, const Field& f, Base* b) {
  if (f.node->kind == Kind::kScalar) {
    const std::string& text = f.node->scalar;
    size_t colon = text.rfind(':');
    if (colon != std::string::npos && colon > 0 && colon + 1 < text.size() &&
        text.find('/', colon) == std::string::npos) {
      std::error_code ec;
      fs::path dir = fs::path(f.node->loc.file).parent_path();
      fs::path whole = fs::absolute(dir.empty() ? fs::path(".") : dir, ec) / text;
      if (!fs::exists(whole, ec)) {
        Node path_only = *f.node;
        path_only.scalar = text.substr(0, colon);
        if (!c.Path(Field{&path_only, f.path}, &b->path)) return false;
        b->tag = text.substr(colon + 1);
        return true;
      }
    }
  }
  return c.Path(f, &b->path);
}

void ReadBase(Checker& c, const Field& top, Base* b) {
  Field f = c.Get(top, "base");
  if (!f.node) return;
  const std::string allowed = "allowed: none, {tar: PATH}, {oci: PATH[:TAG]}";
  if (f.node->kind != Kind::kMap) {
    if (f.node->kind != Kind::kScalar || f.node->scalar != "none")
      c.Fail(f.node->loc, f.path,
             f.node->kind == Kind::kScalar
                 ? "unknown value '" + f.node->scalar + "' (" + allowed + ")"
                 : "expected none or a map, got " + std::string(f.node->KindName()) + " (" +
                       allowed + ")");
    return;
  }
  c.Map(f);
  Field tar = c.Get(f, "tar"), oci = c.Get(f, "oci");
  if (tar.node && oci.node)
    c.Fail(f.node->loc, f.path, "give tar or oci, not both");
  else if (tar.node && c.Path(tar, &b->path))
    b->kind = BaseKind::kTar;
  else if (oci.node && ReadOciReference(c, oci, b))
    b->kind = BaseKind::kOci;
  else if (f.node->entries.empty())
    c.Fail(f.node->loc, f.path, "empty map (" + allowed + ")");
}

void ReadPassword(Checker& c, const Field& f, Password* pw, bool warn_plain) {
  if (!c.Map(f)) return;
  Field hash = c.Get(f, "hash"), plain = c.Get(f, "plain");
  if (hash.node && plain.node) {
    c.Fail(f.node->loc, f.path, "give hash or plain, not both");
  } else if (c.String(hash, &pw->value)) {
    pw->kind = Password::Kind::kHash;
    if (!StartsWith(pw->value, "$"))
      c.Fail(hash.node->loc, hash.path,
             "not a crypt(3) hash (allowed: $6$..., $y$...; make one with: openssl passwd -6)");
  } else if (c.String(plain, &pw->value)) {
    pw->kind = Password::Kind::kPlain;
    if (warn_plain)
      c.Warn(plain.node->loc, plain.path,
             "a plain-text password is kept in the profile and the build cache; prefer "
             "{hash: ...} (make one with: openssl passwd -6)");
  } else if (f.node->entries.empty()) {
    c.Fail(f.node->loc, f.path, "empty map (allowed: {hash: HASH}, {plain: TEXT})");
  }
}

void ReadUsers(Checker& c, const Field& rootfs, std::vector<User>* users) {
  Field list = c.Get(rootfs, "users");
  for (const Field& item : MapItems(c, list)) {
    User u;
    Field name = c.Get(item, "name");
    if (c.Require(item, name, "") && c.String(name, &u.name) && !ValidUserName(u.name))
      c.Fail(name.node->loc, name.path,
             "'" + u.name + "' is not a user name (allowed: a-z, 0-9, _ and -, starting with a " +
                 "letter or _, at most 32 characters)");
    for (const auto& other : *users)
      if (!u.name.empty() && other.name == u.name)
        c.Fail(name.node->loc, name.path, "duplicate user '" + u.name + "'");
    c.Strings(c.Get(item, "groups"), &u.groups);
    ReadPassword(c, c.Get(item, "password"), &u.password, false);
    int uid = 0;
    if (c.Int(c.Get(item, "uid"), 1, 65534, &uid)) u.uid = static_cast<uint32_t>(uid);
    Field shell = c.Get(item, "shell");
    if (c.String(shell, &u.shell) && !StartsWith(u.shell, "/"))
      c.Fail(shell.node->loc, shell.path, "'" + u.shell + "' is not an absolute path");
    users->push_back(u);
  }
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void ReadFilesAndScripts(Checker& c, const Field& f, Rootfs* r) {
  for (const Field& item : MapItems(c, c.Get(f, "files"))) {
    FileCopy fc;
    Field from = c.Get(item, "from"), to = c.Get(item, "to");
    bool ok = c.Require(item, from, "a host path, relative to the profile's file");
    ok = c.Require(item, to, "an absolute path in the image") && ok;
    ok = c.Path(from, &fc.from) && ok;
    if (c.String(to, &fc.to) && !StartsWith(fc.to, "/")) {
      c.Fail(to.node->loc, to.path, "'" + fc.to + "' is not an absolute path in the image");
      ok = false;
    } else if (to.node && (fc.to + "/").find("/../") != std::string::npos) {
      c.Fail(to.node->loc, to.path, "'" + fc.to + "': '..' is not allowed in an image path");
      ok = false;
    }
    if (ok) r->files.push_back(fc);
  }
  Field run = c.Get(f, "run");
  if (!c.List(run)) return;
  for (size_t i = 0; i < run.node->items.size(); ++i) {
    Field item = c.Item(run, i);
    std::string path;
    if (!item.node)
      c.Fail(run.node->items[i].loc, item.path, "expected a path, got null");
    else if (!c.Path(item, &path))
      continue;
    else if (access(path.c_str(), X_OK) != 0 || IsDirectory(path))
      c.Fail(item.node->loc, item.path,
             "'" + path +
                 "' is not an executable file (chmod +x it; it runs inside the image "
                 "with the image as /, so its #! interpreter must exist there)");
    else
      r->run.push_back(path);
  }
}

void ReadRootfs(Checker& c, const Field& top, Rootfs* r) {
  Field f = c.Get(top, "rootfs");
  if (!c.Map(f)) return;
  Field hostname = c.Get(f, "hostname");
  std::string name;
  if (c.String(hostname, &name) && !ValidHostname(name))
    c.Fail(hostname.node->loc, hostname.path,
           "'" + name + "' is not a host name (allowed: letters, digits and -, labels of at " +
               "most 63 characters separated by .)");
  else if (!name.empty())
    r->hostname = name;
  ReadPassword(c, c.Get(f, "root_password"), &r->root_password, true);
  ReadUsers(c, f, &r->users);
  ReadFilesAndScripts(c, f, r);
  Field services = c.Get(f, "services");
  if (c.Map(services)) {
    c.Strings(c.Get(services, "enable"), &r->services.enable);
    c.Strings(c.Get(services, "disable"), &r->services.disable);
  }
  c.String(c.Get(f, "locale"), &r->locale);
  c.String(c.Get(f, "timezone"), &r->timezone);
}

// The modules of Debian 12's calamares package (3.2.61): /usr/lib/x86_64-linux-gnu/calamares/
// modules/*/module.desc, with whether each is a view module (a page; it may also run jobs).
const std::vector<std::pair<std::string, bool>>& CalamaresModules() {
  static const std::vector<std::pair<std::string, bool>> kModules = {{"bootloader", false},
                                                                     {"contextualprocess", false},
                                                                     {"displaymanager", false},
                                                                     {"dracut", false},
                                                                     {"dracutlukscfg", false},
                                                                     {"dummycpp", false},
                                                                     {"dummyprocess", false},
                                                                     {"dummypython", false},
                                                                     {"finished", true},
                                                                     {"finishedq", true},
                                                                     {"fsresizer", false},
                                                                     {"fstab", false},
                                                                     {"grubcfg", false},
                                                                     {"hostinfo", false},
                                                                     {"hwclock", false},
                                                                     {"initcpio", false},
                                                                     {"initcpiocfg", false},
                                                                     {"initramfs", false},
                                                                     {"initramfscfg", false},
                                                                     {"interactiveterminal", true},
                                                                     {"keyboard", true},
                                                                     {"keyboardq", true},
                                                                     {"license", true},
                                                                     {"locale", true},
                                                                     {"localecfg", false},
                                                                     {"localeq", true},
                                                                     {"luksbootkeyfile", false},
                                                                     {"luksopenswaphookcfg", false},
                                                                     {"machineid", false},
                                                                     {"mkinitfs", false},
                                                                     {"mount", false},
                                                                     {"netinstall", true},
                                                                     {"networkcfg", false},
                                                                     {"notesqml", true},
                                                                     {"oemid", true},
                                                                     {"openrcdmcryptcfg", false},
                                                                     {"packagechooser", true},
                                                                     {"packagechooserq", true},
                                                                     {"packages", false},
                                                                     {"partition", true},
                                                                     {"plasmalnf", true},
                                                                     {"plymouthcfg", false},
                                                                     {"preservefiles", false},
                                                                     {"rawfs", false},
                                                                     {"removeuser", false},
                                                                     {"services-openrc", false},
                                                                     {"services-systemd", false},
                                                                     {"shellprocess", false},
                                                                     {"summary", true},
                                                                     {"summaryq", true},
                                                                     {"tracking", true},
                                                                     {"umount", false},
                                                                     {"unpackfs", false},
                                                                     {"users", true},
                                                                     {"usersq", true},
                                                                     {"webview", true},
                                                                     {"welcome", true},
                                                                     {"welcomeq", true},
                                                                     {"zfs", false}};
  return kModules;
}

// calamares.show lists pages (view modules); calamares.exec lists what runs: jobs, and view
// modules whose pages have jobs (partition, users, ...).
void CheckCalamaresSequence(Checker& c, const Field& list, const std::vector<std::string>& items,
                            bool pages) {
  std::vector<std::string> names;
  for (const auto& [name, view] : CalamaresModules()) names.push_back(name);
  for (size_t i = 0; i < items.size(); ++i) {
    Field item = c.Item(list, i);
    auto it = std::find_if(CalamaresModules().begin(), CalamaresModules().end(),
                           [&](const auto& m) { return m.first == items[i]; });
    if (it == CalamaresModules().end()) {
      // Debian boots with systemd: its services module is the one meant by "services".
      std::string hint =
          items[i] == "services" ? "services-systemd" : ClosestMatch(items[i], names);
      c.Fail(item.node->loc, item.path,
             "unknown Calamares module '" + items[i] + "'" +
                 (hint.empty() ? "" : "; did you mean '" + hint + "'?") +
                 " (allowed: the modules of Debian's calamares 3.2.61: " + Join(names, ", ") + ")");
    } else if (pages && !it->second) {
      c.Fail(item.node->loc, item.path,
             "'" + items[i] + "' is a job module, not a page; list it in calamares.exec");
    }
  }
}

bool HasExtension(const std::string& path, const std::vector<std::string>& exts) {
  std::string lower = path;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return std::any_of(exts.begin(), exts.end(), [&](const std::string& e) {
    return lower.size() > e.size() && lower.compare(lower.size() - e.size(), e.size(), e) == 0;
  });
}

// Branding files Calamares can show: images Qt reads (svg through the plugin of libqt5svg5,
// which calamares depends on), and a QML slideshow.
void ReadBranding(Checker& c, const Field& branding, Branding* b) {
  if (!c.Map(branding)) return;
  c.String(c.Get(branding, "product_name"), &b->product_name);
  c.String(c.Get(branding, "version"), &b->version);
  const std::vector<std::string> images = {".png", ".svg", ".jpg", ".jpeg"};
  Field logo = c.Get(branding, "logo"), slideshow = c.Get(branding, "slideshow");
  if (c.Path(logo, &b->logo) && !HasExtension(b->logo, images)) {
    c.Fail(logo.node->loc, logo.path,
           "'" + b->logo + "' is not an image Calamares shows (allowed: .png, .svg, .jpg)");
    b->logo.clear();
  }
  if (c.Path(slideshow, &b->slideshow) && !HasExtension(b->slideshow, images) &&
      !HasExtension(b->slideshow, {".qml"})) {
    c.Fail(slideshow.node->loc, slideshow.path,
           "'" + b->slideshow + "' is neither a QML slideshow nor an image (allowed: .qml, " +
               ".png, .svg, .jpg)");
    b->slideshow.clear();
  }
}

void ReadCalamares(Checker& c, const Field& calamares, CalamaresSettings* cs) {
  if (!c.Map(calamares)) return;
  Field fs = c.Get(calamares, "filesystem");
  std::string filesystem;
  const std::vector<std::string> filesystems = {"ext4", "xfs", "btrfs"};
  if (c.String(fs, &filesystem)) {
    if (std::find(filesystems.begin(), filesystems.end(), filesystem) == filesystems.end())
      c.BadValue(fs, filesystem, filesystems);
    else
      cs->filesystem = filesystem;
  }
  c.Strings(c.Get(calamares, "user_groups"), &cs->user_groups);
  Field show = c.Get(calamares, "show"), exec = c.Get(calamares, "exec");
  if (c.Strings(show, &cs->show)) CheckCalamaresSequence(c, show, cs->show, true);
  if (c.Strings(exec, &cs->exec)) CheckCalamaresSequence(c, exec, cs->exec, false);
  c.Bool(c.Get(calamares, "autostart"), &cs->autostart);
}

// The installer copies the target, kernel included, onto a disk and boots it from there.
void CheckInstallerTarget(Checker& c, const Field& type, const Profile& p) {
  const Installer& in = p.installer;
  if (in.type == InstallerType::kAnaconda && p.distribution.family == Family::kDebian)
    c.Fail(type.node->loc, type.path,
           "anaconda installs rpm distributions; a debian profile's installer is calamares "
           "(allowed: none, calamares)");
  if (in.type == InstallerType::kCalamares && p.distribution.family != Family::kDebian)
    c.Fail(type.node->loc, type.path,
           "calamares is built from Debian's packages; an installer for the " +
               NameOf(p.distribution.family) + " family is not implemented (allowed: none)");
  bool kernel =
      std::any_of(p.packages.include.begin(), p.packages.include.end(), [](const std::string& n) {
        return StartsWith(n, "linux-image-") || n == "kernel" || StartsWith(n, "kernel-core");
      });
  // A base image may bring its own kernel; only the package list can be checked here.
  if (in.type != InstallerType::kNone && !kernel && p.base.kind == BaseKind::kNone)
    c.Fail(
        type.node->loc, type.path,
        "an installer installs the image's kernel, but packages.include has none (add e.g. " +
            std::string(p.distribution.family == Family::kDebian ? "linux-image-amd64" : "kernel") +
            ")");
}

void ReadInstaller(Checker& c, const Field& top, Profile* p) {
  Installer* in = &p->installer;
  Field f = c.Get(top, "installer");
  if (!c.Map(f)) return;
  Field type = c.Get(f, "type");
  c.Enum(type, &in->type);
  Field offline = c.Get(f, "offline_packages"), branding = c.Get(f, "branding");
  Field packages = c.Get(f, "packages"), calamares = c.Get(f, "calamares");
  if (in->type == InstallerType::kNone) {
    OnlyFor(c, offline, "installer.type calamares or anaconda");
    OnlyFor(c, branding, "installer.type calamares or anaconda");
    OnlyFor(c, packages, "installer.type calamares or anaconda");
  }
  if (in->type != InstallerType::kCalamares) OnlyFor(c, calamares, "installer.type calamares");
  if (in->type == InstallerType::kNone) return;
  CheckInstallerTarget(c, type, *p);
  c.Strings(packages, &in->packages);
  c.Strings(offline, &in->offline_packages);
  if (in->type == InstallerType::kCalamares) ReadCalamares(c, calamares, &in->calamares);
  ReadBranding(c, branding, &in->branding);
}

void ReadProbes(Checker& c, const Field& probe, std::vector<std::string>* out) {
  std::vector<std::string> probes;
  if (!c.Strings(probe, &probes)) return;
  const std::vector<std::string> allowed = {"cdrom", "usb", "disk", "virtio", "nvme", "/dev/PATH"};
  bool ok = true;
  for (size_t i = 0; i < probes.size(); ++i) {
    bool known = std::find(allowed.begin(), allowed.end() - 1, probes[i]) != allowed.end() - 1;
    if (known || StartsWith(probes[i], "/dev/")) continue;
    c.BadValue(c.Item(probe, i), probes[i], allowed);
    ok = false;
  }
  if (probes.empty())
    c.Fail(probe.node->loc, probe.path,
           "empty (allowed: cdrom, usb, disk, virtio, nvme, /dev/PATH)");
  else if (ok)
    *out = probes;
}

void ReadBoot(Checker& c, const Field& top, Boot* b) {
  Field f = c.Get(top, "boot");
  if (!c.Map(f)) return;
  c.String(c.Get(f, "cmdline"), &b->cmdline);
  ReadProbes(c, c.Get(f, "probe"), &b->probe);
  c.Int(c.Get(f, "timeout"), 0, 3600, &b->timeout);
  c.Bool(c.Get(f, "toram"), &b->toram);
  c.Bool(c.Get(f, "bios"), &b->bios);
  c.Bool(c.Get(f, "uefi"), &b->uefi);
  Field serial = c.Get(f, "serial");
  if (c.String(serial, &b->serial) && !b->serial.empty() && !ValidSerial(b->serial)) {
    c.Fail(
        serial.node->loc, serial.path,
        "'" + b->serial + "' is not a serial console (allowed: ttyNAME[,BAUD], e.g. ttyS0,115200)");
    b->serial.clear();
  }
  Field signing = c.Get(f, "signing");
  if (signing.node && c.Map(signing)) {
    Field key = c.Get(signing, "key"), cert = c.Get(signing, "cert");
    c.Require(signing, key, "the private key (PEM, not encrypted) that signs");
    c.Require(signing, cert, "the certificate (PEM) of that key");
    c.Path(key, &b->signing_key);
    c.Path(cert, &b->signing_cert);
    if (!b->uefi)
      c.Fail(signing.node->loc, signing.path,
             "signs EFI binaries, but boot.uefi is false (drop boot.signing or boot under UEFI)");
  }
}

void ReadFormats(Checker& c, const Field& formats, std::vector<Format>* out) {
  if (!c.List(formats)) return;
  std::vector<Format> seen;
  for (size_t i = 0; i < formats.node->items.size(); ++i) {
    Field item = c.Item(formats, i);
    Format fmt = Format::kIso;
    if (!item.node) {
      c.Fail(formats.node->items[i].loc, item.path, "expected a format, got null");
    } else if (c.Enum(item, &fmt)) {
      if (std::find(seen.begin(), seen.end(), fmt) == seen.end())
        seen.push_back(fmt);
      else
        c.Fail(item.node->loc, item.path, "duplicate format '" + NameOf(fmt) + "'");
    }
  }
  if (formats.node->items.empty())
    c.Fail(formats.node->loc, formats.path,
           "empty (allowed: " + Join(NameList<Format>(), ", ") + ")");
  else
    *out = seen;
}

// output.oci applies whenever the oci format is built (also from the command line's --format).
void ReadOciOutput(Checker& c, const Field& f, OciOutput* o) {
  if (!c.Map(f)) return;
  c.Enum(c.Get(f, "layers"), &o->layers);
  c.Enum(c.Get(f, "compression"), &o->compression);
}

// output.disk: {size: N[K|M|G|T]} (binary units; bytes without a suffix), at least 64M; 0 is
// the default (the content plus a margin).
void ReadDiskOutput(Checker& c, const Field& f, DiskOutput* d) {
  if (!c.Map(f)) return;
  Field size = c.Get(f, "size");
  std::string text;
  if (!c.String(size, &text)) return;
  uint64_t n = 0, unit = 1;
  size_t i = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9' && n < (uint64_t{1} << 50); ++i)
    n = n * 10 + static_cast<uint64_t>(text[i] - '0');
  std::string suffix = text.substr(i);
  if (suffix == "K") unit = uint64_t{1} << 10;
  if (suffix == "M") unit = uint64_t{1} << 20;
  if (suffix == "G") unit = uint64_t{1} << 30;
  if (suffix == "T") unit = uint64_t{1} << 40;
  const bool known = suffix.empty() || unit > 1;
  if (text == "0")
    d->size = 0;
  else if (i == 0 || !known || n >= (uint64_t{1} << 50) / unit || n * unit < (uint64_t{64} << 20))
    c.Fail(size.node->loc, size.path,
           "'" + text +
               "' is not a disk size (allowed: 0, or a number with K, M, G or T, at least 64M)");
  else
    d->size = n * unit;
}

void ReadOutput(Checker& c, const Field& top, Output* o) {
  Field f = c.Get(top, "output");
  if (!c.Map(f)) return;
  ReadFormats(c, c.Get(f, "formats"), &o->formats);
  Field vol = c.Get(f, "volume_id");
  std::string id;
  if (c.String(vol, &id) &&
      (id.empty() || id.size() > 32 || !OnlyChars(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")))
    c.Fail(vol.node->loc, vol.path,
           "'" + id + "' is not a volume id (allowed: 1 to 32 of A-Z, 0-9 and _)");
  else
    o->volume_id = id;
  c.Enum(c.Get(f, "checksum"), &o->checksum);
  ReadOciOutput(c, c.Get(f, "oci"), &o->oci);
  ReadDiskOutput(c, c.Get(f, "disk"), &o->disk);
}

void ReadIdentity(Checker& c, const Field& top, Profile* p) {
  Field version = c.Get(top, "version");
  if (version.node && (version.node->kind != Kind::kScalar || version.node->scalar != "1"))
    c.Fail(version.node->loc, version.path,
           "unsupported version '" + version.node->scalar + "' (allowed: 1)");
  Field name = c.Get(top, "name");
  if (c.Require(top, name, "required") && c.String(name, &p->name) &&
      (p->name.empty() ||
       !OnlyChars(p->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")))
    c.Fail(name.node->loc, name.path,
           "'" + p->name + "' is not a profile name (allowed: letters, digits, ., _ and -)");
  c.String(c.Get(top, "description"), &p->description);
}

}  // namespace

std::string DefaultVolumeId(const std::string& name) {
  std::string id;
  for (char ch : name.substr(0, 32)) {
    char u = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    id +=
        (std::isupper(static_cast<unsigned char>(u)) || std::isdigit(static_cast<unsigned char>(u)))
            ? u
            : '_';
  }
  return id.empty() ? "IMAGER" : id;
}

void ReadProfile(const Node& root, Checker* c, Profile* p) {
  Field top{&root, ""};
  if (root.kind != Kind::kMap) {
    c->Fail(root.loc, "profile", std::string("expected a map of settings, got ") + root.KindName());
    return;
  }
  c->Map(top);
  ReadIdentity(*c, top, p);
  ReadDistribution(*c, top, &p->distribution);
  ReadPackages(*c, top, p->distribution.family, &p->packages);
  ReadBase(*c, top, &p->base);
  ReadRepositories(*c, top, p);
  ReadRootfs(*c, top, &p->rootfs);
  ReadInstaller(*c, top, p);
  ReadBoot(*c, top, &p->boot);
  ReadOutput(*c, top, &p->output);
  if (Field b = c->Get(top, "build"); c->Map(b)) {
    c->Int(c->Get(b, "stage_timeout"), 1, 604800, &p->build.stage_timeout);
    c->Int(c->Get(b, "memory_limit_mib"), 0, 16777216, &p->build.memory_limit_mib);
  }
  if (p->output.volume_id.empty()) p->output.volume_id = DefaultVolumeId(p->name);
  bool iso = std::find(p->output.formats.begin(), p->output.formats.end(), Format::kIso) !=
             p->output.formats.end();
  if (iso && !p->boot.bios && !p->boot.uefi)
    c->Fail(p->Where("boot.uefi"), "boot", "bios and uefi are both false: the iso could not boot");
}

}  // namespace imager::profiles
