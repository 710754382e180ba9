// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Test fixtures for Debian repositories, generated at test time: throwaway OpenPGP keys (gpg in
/// a temporary GNUPGHOME), tiny .deb packages built with dpkg-deb, Packages indexes, a Release
/// with SHA256 lines, InRelease and Release.gpg signed with a chosen key; and FakeFetcher, a
/// Fetcher that copies file:// URLs from disk and answers a missing file like HTTP 404.
/// Header-only because the build compiles only repo/*.cc.

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "base/fd.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "repo/fetch.h"

namespace imager::repo::test {

namespace fs = std::filesystem;

/// Runs a shell command (tests only); returns its exit status, stdout in `out`.
inline int Sh(const std::string& cmd, std::string* out = nullptr) {
  FILE* p = popen(("( " + cmd + " )" + (out ? "" : " >/dev/null") + " 2>/dev/null").c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  std::string text;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  int rc = pclose(p);
  if (out) *out = text;
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

inline std::string Q(const std::string& s) { return ShellQuote(s); }

/// Whether the host has the tools these fixtures need.
inline std::string MissingTools() {
  std::vector<std::string> missing;
  for (const char* t : {"gpg", "gpgv", "gpgconf", "dpkg-deb", "xz", "gzip"})
    if (Sh(std::string("command -v ") + t) != 0) missing.push_back(t);
  return Join(missing, " ");
}

/// A throwaway signing key in its own GNUPGHOME; the agent is stopped on destruction.
class GpgKey {
 public:
  /// `faked_time` ("20200101T000000") creates the key in the past; with `expire` "1d" it has
  /// expired by now.
  GpgKey(const std::string& dir, const std::string& uid, const std::string& expire = "never",
         const std::string& faked_time = "")
      : home_(dir + "/gnupg"), faked_time_(faked_time) {
    fs::create_directories(home_);
    ::chmod(home_.c_str(), 0700);
    ok_ = Gpg("--quick-gen-key " + Q(uid) + " ed25519 sign " + expire) == 0;
    std::string listing;
    Sh("gpg --homedir " + Q(home_) + " --batch --with-colons --list-keys", &listing);
    for (const auto& line : Split(listing, '\n'))
      if (StartsWith(line, "fpr:") && fingerprint_.empty()) {
        auto f = Split(line, ':');
        if (f.size() > 9) fingerprint_ = f[9];
      }
    ok_ = ok_ && fingerprint_.size() == 40;
    asc_ = dir + "/key.asc";
    gpg_ = dir + "/key.gpg";
    ok_ = ok_ && Gpg("--armor --export " + fingerprint_ + " > " + Q(asc_)) == 0 &&
          Gpg("--export " + fingerprint_ + " > " + Q(gpg_)) == 0;
  }
  ~GpgKey() { Sh("gpgconf --homedir " + Q(home_) + " --kill gpg-agent"); }
  GpgKey(const GpgKey&) = delete;
  GpgKey& operator=(const GpgKey&) = delete;

  bool ok() const { return ok_; }
  const std::string& fingerprint() const { return fingerprint_; }
  std::string key_id() const { return fingerprint_.substr(24); }  // the long key ID
  const std::string& asc() const { return asc_; }
  const std::string& gpg() const { return gpg_; }
  const std::string& home() const { return home_; }  // the GNUPGHOME holding the secret key

  bool ClearSign(const std::string& in, const std::string& out) const {
    return Gpg("--local-user " + fingerprint_ + " --clearsign -o " + Q(out) + " " + Q(in)) == 0;
  }
  bool DetachSign(const std::string& in, const std::string& out) const {
    return Gpg("--local-user " + fingerprint_ + " --armor --detach-sign -o " + Q(out) + " " +
               Q(in)) == 0;
  }

 private:
  int Gpg(const std::string& args) const {
    std::string time = faked_time_.empty() ? "" : " --faked-system-time " + faked_time_ + "!";
    return Sh("gpg --homedir " + Q(home_) + " --batch --yes --pinentry-mode loopback " +
              "--passphrase ''" + time + " " + args);
  }

  std::string home_, faked_time_, fingerprint_, asc_, gpg_;
  bool ok_ = false;
};

/// One package of a fixture repository; `fields` are extra control lines ("Depends: b\n").
struct DebSpec {
  std::string name;
  std::string version = "1.0";
  std::string arch = "all";
  std::string fields;
  std::string component = "main";
};

struct PublishOptions {
  std::string suite = "testing";
  std::string codename = "fixture";
  std::vector<std::string> archs = {"amd64"};
  std::string date = "Sat, 10 Jun 2023 08:37:11 UTC";
  std::string valid_until;          // "" = no Valid-Until
  bool all_in_arch_indexes = true;  // arch:all also in binary-ARCH (as Debian does)
  bool inrelease = true;
  bool release_gpg = true;
  bool xz = true;        // else .gz
  bool by_hash = false;  // Acquire-By-Hash: compressed indexes only under by-hash/SHA256/
};

/// A repository tree at ROOT: pool/ with the .debs, dists/SUITE/ with indexes and signatures.
class DebRepo {
 public:
  explicit DebRepo(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }

  /// A copy of the whole tree at ROOT (to tamper with).
  DebRepo CopyTo(const std::string& root) const {
    DebRepo copy = *this;
    copy.root_ = root;
    fs::create_directories(fs::path(root).parent_path());
    fs::copy(root_, root, fs::copy_options::recursive);
    return copy;
  }
  std::string url() const { return "file://" + root_; }

  /// Builds the .deb with dpkg-deb and remembers its Packages stanza.
  bool Add(const DebSpec& spec) {
    std::string build = root_ + "/.build/" + spec.name;
    fs::create_directories(build + "/DEBIAN");
    fs::create_directories(build + "/usr/share/doc/" + spec.name);
    std::string control = "Package: " + spec.name + "\nVersion: " + spec.version +
                          "\nArchitecture: " + spec.arch +
                          "\nMaintainer: Imager Tests <tests@example.invalid>\n" + spec.fields +
                          "Description: fixture package " + spec.name + "\n";
    if (!WriteFile(build + "/DEBIAN/control", control)) return false;
    if (!WriteFile(build + "/usr/share/doc/" + spec.name + "/README", spec.name + "\n"))
      return false;
    std::string rel = "pool/" + spec.component + "/" + spec.name.substr(0, 1) + "/" + spec.name +
                      "_" + spec.version + "_" + spec.arch + ".deb";
    fs::create_directories(fs::path(root_ + "/" + rel).parent_path());
    if (Sh("dpkg-deb --root-owner-group -Zgzip --build " + Q(build) + " " + Q(root_ + "/" + rel)) !=
        0)
      return false;
    fs::remove_all(root_ + "/.build");
    auto sha = Sha256File(root_ + "/" + rel);
    if (!sha) return false;
    std::string stanza = control.substr(0, control.find("Description:")) + "Filename: " + rel +
                         "\nSize: " + std::to_string(fs::file_size(root_ + "/" + rel)) +
                         "\nSHA256: " + *sha + "\n" + control.substr(control.find("Description:"));
    packages_.push_back({spec, stanza});
    return true;
  }

  /// Writes dists/SUITE: Packages(.xz|.gz) per component and architecture, Release, and the
  /// signatures `key` makes (nullptr: unsigned).
  bool Publish(const PublishOptions& o, const GpgKey* key) {
    std::string dists = root_ + "/dists/" + o.suite;
    fs::remove_all(dists);
    std::vector<std::string> comps;
    for (const auto& p : packages_)
      if (std::find(comps.begin(), comps.end(), p.spec.component) == comps.end())
        comps.push_back(p.spec.component);
    std::sort(comps.begin(), comps.end());
    std::string sums;
    std::vector<std::string> archs = o.archs;
    archs.push_back("all");
    for (const auto& comp : comps) {
      for (const auto& arch : archs) {
        std::string text;
        for (const auto& p : packages_) {
          if (p.spec.component != comp) continue;
          bool in = p.spec.arch == arch || (p.spec.arch == "all" && o.all_in_arch_indexes);
          if (in) text += (text.empty() ? "" : "\n") + p.stanza;
        }
        std::string dir = comp + "/binary-" + arch;
        fs::create_directories(dists + "/" + dir);
        std::string plain = dists + "/" + dir + "/Packages";
        if (!WriteFile(plain, text)) return false;
        std::string z = o.xz ? "xz -k -f " : "gzip -k -n -f ";
        if (Sh(z + Q(plain)) != 0) return false;
        for (const char* ext : {"", ".xz", ".gz"}) {
          std::string f = plain + ext;
          if (!fs::exists(f)) continue;
          std::string sha = *Sha256File(f);
          sums += " " + sha + " " + std::to_string(fs::file_size(f)) + " " + dir + "/Packages" +
                  ext + "\n";
          if (o.by_hash && *ext) {
            fs::create_directories(dists + "/" + dir + "/by-hash/SHA256");
            fs::rename(f, dists + "/" + dir + "/by-hash/SHA256/" + sha);
          }
        }
        ::unlink(plain.c_str());  // like a real mirror: listed, but only compressed on disk
      }
    }
    std::string release =
        "Origin: Imager Tests\nLabel: Imager Tests\nSuite: " + o.suite +
        "\nCodename: " + o.codename + "\nDate: " + o.date + "\n" +
        (o.valid_until.empty() ? "" : "Valid-Until: " + o.valid_until + "\n") +
        "Architectures: " + Join(o.archs, " ") + "\nComponents: " + Join(comps, " ") + "\n" +
        (o.all_in_arch_indexes ? "No-Support-for-Architecture-all: Packages\n" : "") +
        (o.by_hash ? "Acquire-By-Hash: yes\n" : "") + "Description: fixture\nSHA256:\n" + sums;
    if (!WriteFile(dists + "/Release", release)) return false;
    if (key && o.inrelease && !key->ClearSign(dists + "/Release", dists + "/InRelease"))
      return false;
    if (key && o.release_gpg && !key->DetachSign(dists + "/Release", dists + "/Release.gpg"))
      return false;
    return true;
  }

 private:
  static bool WriteFile(const std::string& path, const std::string& text) {
    return imager::WriteFile(path, text).ok();
  }
  struct Entry {
    DebSpec spec;
    std::string stanza;
  };
  std::string root_;
  std::vector<Entry> packages_;
};

/// The fixture archive most tests use: an essential core with a Pre-Depends, a required apt, an
/// OR dependency (zeta | alpha), and a versioned dependency nothing satisfies.
inline std::vector<DebSpec> StandardSpecs() {
  return {
      {"base-files", "12.4", "amd64", "Essential: yes\nPriority: required\n"},
      {"libc6", "2.36-9", "amd64", "Priority: optional\nMulti-Arch: same\n"},
      {"dash", "0.5.12-2", "amd64",
       "Essential: yes\nPriority: required\nPre-Depends: libc6 (>= 2.34)\n"},
      {"apt", "2.6.1", "amd64", "Priority: required\nDepends: libc6 (>= 2.34), base-files\n"},
      {"tool", "1.0", "all", "Priority: optional\nDepends: zeta | alpha\n"},
      {"zeta", "1.0", "all", "Priority: optional\n"},
      {"alpha", "1.0", "all", "Priority: optional\n"},
      {"broken", "1.0", "all", "Priority: optional\nDepends: libc6 (>= 3)\n"},
  };
}

/// What an installer profile needs besides StandardSpecs: the target's boot packages
/// (profiles::InstallerTargetPackages: GRUB's images, signed ones and shim among them), the
/// installer layer's (profiles::InstallerPackages) and the boot loaders grub-pc and grub-efi-amd64,
/// which conflict with each other as in Debian.
inline std::vector<DebSpec> InstallerSpecs() {
  std::vector<DebSpec> out = {
      {"grub-common", "2.06-13", "amd64", "Priority: optional\nDepends: libc6\n"},
      {"grub2-common", "2.06-13", "amd64", "Priority: optional\nDepends: grub-common\n"},
      {"grub-pc-bin", "2.06-13", "amd64", "Priority: optional\nDepends: grub-common\n"},
      {"grub-efi-amd64-bin", "2.06-13", "amd64", "Priority: optional\nDepends: grub-common\n"},
      {"grub-efi-amd64-signed", "1+2.06+13", "amd64",
       "Priority: optional\nDepends: grub-efi-amd64-bin\n"},
      {"shim-signed", "1.44+15.8-1", "amd64", "Priority: optional\nDepends: grub-efi-amd64-bin\n"},
      {"efibootmgr", "17-2", "amd64", "Priority: optional\n"},
      {"initramfs-tools", "0.142", "all", "Priority: optional\n"},
      {"ucf", "3.0043", "all", "Priority: optional\n"},
      {"mokutil", "0.6.0-2", "amd64", "Priority: optional\n"},
      {"grub-pc", "2.06-13", "amd64",
       "Priority: optional\nDepends: grub-pc-bin, grub2-common, ucf\nConflicts: grub-efi-amd64\n"},
      {"grub-efi-amd64", "2.06-13", "amd64",
       "Priority: optional\nDepends: grub-efi-amd64-bin, grub2-common, ucf, mokutil\n"
       "Conflicts: grub-pc\n"},
      {"libqt", "5.15", "amd64", "Priority: optional\nDepends: libc6\n"},
      {"calamares", "3.2.61-1", "amd64", "Priority: optional\nDepends: libqt, rsync\n"},
  };
  for (const char* n :
       {"xserver-xorg-core", "xserver-xorg-input-libinput", "xinit", "fonts-dejavu-core", "rsync",
        "dosfstools", "e2fsprogs", "fdisk", "parted", "mtools", "xserver-xorg-video-fbdev", "dbus",
        "polkitd", "locales", "squashfs-tools"})
    out.push_back({n, "1.0", "amd64", "Priority: optional\n"});
  return out;
}

/// Copies file:// URLs; a missing file fails like an HTTP 404. Verifies nothing, so the code
/// under test has to. Records every request.
class FakeFetcher : public Fetcher {
 public:
  Result<std::vector<FetchResult>> FetchAll(const std::vector<FetchRequest>& requests,
                                            const ProgressFn& progress) override {
    std::vector<FetchResult> results;
    std::vector<std::string> errors;
    FetchProgress pr;
    pr.files_total = static_cast<int>(requests.size());
    for (const auto& r : requests) {
      seen.push_back(r);
      if (!StartsWith(r.url, "file://")) {
        errors.push_back(r.url + ": unsupported by FakeFetcher");
        continue;
      }
      std::string src = r.url.substr(7);
      std::error_code ec;
      if (!fs::is_regular_file(src)) {
        errors.push_back(r.url + ": HTTP 404 Not Found");
        continue;
      }
      fs::copy_file(src, r.dest, fs::copy_options::overwrite_existing, ec);
      if (ec) {
        errors.push_back(r.url + ": " + ec.message());
        continue;
      }
      FetchResult res;
      res.bytes = static_cast<int64_t>(fs::file_size(r.dest));
      res.etag = "\"fake\"";
      results.push_back(res);
      pr.files_done++;
      pr.bytes_done += res.bytes;
      if (progress) progress(pr);
    }
    if (!errors.empty()) return Error{Join(errors, "\n")};
    return results;
  }

  std::vector<FetchRequest> seen;
};

}  // namespace imager::repo::test
