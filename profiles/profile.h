// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// A build profile (version 1) as plain data: what to build, from which repositories, and how to
/// boot and package it; the loader fills every default, resolves every path and remembers where
/// each field came from.

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace imager::profiles {

/// FILE:LINE:COLUMN (1-based) of a value in a profile file.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
  std::string ToString() const;
};

enum class Family { kDebian, kRpm };
enum class RepoType { kDeb, kRpmMd };
enum class Variant { kNone, kEssential, kMinbase, kRequired, kImportant };
enum class BaseKind { kNone, kTar, kOci };
enum class InstallerType { kNone, kCalamares, kAnaconda };
enum class Format { kIso, kTar, kSquashfs, kOci, kOciArchive, kRaw, kQcow2 };
enum class Checksum { kSha256, kNone };
enum class OciLayers { kSquashed, kPipeline };
enum class LayerCompression { kGzip, kZstd };

/// The YAML spelling of every enum value, e.g. {RepoType::kRpmMd, "rpm-md"}.
template <typename E>
const std::vector<std::pair<E, std::string>>& EnumNames();
/// Every spelling of E, in declaration order (for "allowed: ..." messages).
template <typename E>
std::vector<std::string> NameList() {
  std::vector<std::string> names;
  for (const auto& [v, n] : EnumNames<E>()) names.push_back(n);
  return names;
}
template <typename E>
std::string NameOf(E value) {
  for (const auto& [v, n] : EnumNames<E>())
    if (v == value) return n;
  return "?";
}
template <typename E>
std::optional<E> ParseEnum(std::string_view text) {
  for (const auto& [v, n] : EnumNames<E>())
    if (n == text) return v;
  return std::nullopt;
}

/// A password as the profile gives it: a crypt(3) hash, or plain text (warned about).
struct Password {
  enum class Kind { kNone, kHash, kPlain };
  Kind kind = Kind::kNone;  // kNone: the account is locked
  std::string value;
};

struct Distribution {
  Family family = Family::kDebian;  // required
  std::string release;              // default: the first repository's suite
  std::string arch;                 // default: amd64 (debian), x86_64 (rpm)
};

struct Repository {
  RepoType type = RepoType::kDeb;
  std::string mirror;  // deb: "auto" (the host's apt sources) or a URL; default auto
  std::string suite;   // deb: default distribution.release
  std::vector<std::string> components;  // deb: default [main]
  std::string keyring;                  // resolved path; required for deb and rpm-md with gpgcheck
  std::string url;                      // rpm-md: the repository URL (key url, or baseurl)
  bool gpgcheck = true;                 // rpm-md: every package's own signature
  std::optional<bool> repo_gpgcheck;    // rpm-md: repomd.xml.asc; unset: gpgcheck's value
  /// Whether repomd.xml must carry a signature by the keyring.
  bool ChecksRepoMd() const { return repo_gpgcheck.value_or(gpgcheck); }
};

struct Packages {
  Variant variant = Variant::kNone;  // debian: default minbase; rpm: kNone (not applicable)
  std::vector<std::string> include;
  std::vector<std::string> exclude;
  bool recommends = false;
};

/// The seed's cached rootfs: start from a tarball or an OCI image layout instead of nothing.
struct Base {
  BaseKind kind = BaseKind::kNone;
  std::string path;  // resolved; empty for kNone
  std::string tag;   // kOci: the image's tag (PATH:TAG), empty when the layout holds one image
};

struct User {
  std::string name;  // required
  std::vector<std::string> groups;
  Password password;
  std::optional<uint32_t> uid;  // default: the next free uid in the image
  std::string shell;            // default: the distribution's default shell
};

struct FileCopy {
  std::string from;  // resolved host path (a trailing '/' copies a directory's contents)
  std::string to;    // absolute path in the image
};

struct Services {
  std::vector<std::string> enable;
  std::vector<std::string> disable;
};

struct Rootfs {
  std::string hostname = "imager";
  Password root_password;  // default: root is locked
  std::vector<User> users;
  std::vector<FileCopy> files;
  std::vector<std::string> run;  // resolved paths of scripts run in the sandbox with the image as /
  Services services;
  std::string locale = "C.UTF-8";
  std::string timezone = "Etc/UTC";
};

/// Installer branding (calamares branding.desc / anaconda product); all optional.
struct Branding {
  std::string product_name;
  std::string version;
  std::string logo;       // resolved path
  std::string slideshow;  // resolved path
};

/// Calamares' settings that the profile chooses; the rest of /etc/calamares is generated.
struct CalamaresSettings {
  std::string filesystem = "ext4";  // the partition module's default root filesystem
  /// Groups of the user that the users page creates.
  std::vector<std::string> user_groups = {"audio", "cdrom", "netdev", "plugdev", "sudo", "video"};
  /// The settings.conf sequence; empty: the default (welcome, locale, ... finished).
  std::vector<std::string> show;
  std::vector<std::string> exec;
  bool autostart = true;  // the live session starts Calamares on boot
};

/// The installer of an installer image. The image's own packages, settings and files make the
/// *target* (what gets installed); the installer's packages go into a layer above it that only
/// the live session sees.
struct Installer {
  InstallerType type = InstallerType::kNone;
  std::vector<std::string> packages;          // extra packages of the live session (not installed)
  std::vector<std::string> offline_packages;  // stored on the medium as a package repository
  Branding branding;
  CalamaresSettings calamares;
};

struct Boot {
  std::string cmdline;  // default: empty
  /// Where the booter looks for the image, in order: cdrom | usb | disk | virtio | nvme | an
  /// absolute device path or glob (/dev/sr0, /dev/vd*).
  std::vector<std::string> probe = {"cdrom", "usb", "disk"};
  int timeout = 30;  // seconds, 0..3600
  bool toram = false;
  bool bios = true;
  bool uefi = true;
  std::string serial;  // e.g. "ttyS0,115200"; empty: no serial console
  /// boot.signing: a PEM private key and its X.509 certificate (absolute paths; both or
  /// neither) that sign the EFI binaries the firmware loads (shim, MokManager) for firmware
  /// that trusts that key rather than the distribution's signer.
  std::string signing_key;
  std::string signing_cert;
};

/// How the `oci` output lays out its image: one squashed layer, or one layer per pipeline layer
/// (base, packages, config, ...) with the deletions between them as OCI whiteouts.
struct OciOutput {
  OciLayers layers = OciLayers::kSquashed;
  LayerCompression compression = LayerCompression::kGzip;
};

/// output.disk: the raw and qcow2 disk images.
struct DiskOutput {
  /// The disk's size in bytes; 0: the content plus a margin. Given: at least what the content
  /// needs (the build says so otherwise), and the root filesystem fills it.
  uint64_t size = 0;
};

struct Output {
  std::vector<Format> formats = {Format::kIso};
  std::string volume_id;  // default: the name upper-cased, [^A-Z0-9_] -> '_', cut to 32
  Checksum checksum = Checksum::kSha256;
  OciOutput oci;
  DiskOutput disk;
};

/// How imager builds the profile.
struct BuildSettings {
  /// Seconds a stage's sandboxed commands may take together before they are killed and the
  /// build fails naming the stage: a maintainer script that never ends does not hang the build.
  int stage_timeout = 7200;  // 1..604800
  /// MiB of data each process in a stage's sandboxes may have (allocations fail beyond it); 0:
  /// half the machine's memory.
  int memory_limit_mib = 0;  // 0, 64..16777216
};

struct Profile {
  int version = 1;
  std::string name;  // required
  std::string description;
  std::string extends;  // resolved path of the profile this one inherits from, or empty
  Distribution distribution;
  std::vector<Repository> repositories;  // at least one
  Packages packages;
  Base base;
  Rootfs rootfs;
  Installer installer;
  Boot boot;
  Output output;
  BuildSettings build;

  // Provenance, filled by the loader.
  std::string source;                               // the file given to LoadProfile
  std::vector<std::string> chain;                   // source, then each file it extends, in order
  std::map<std::string, SourceLocation> locations;  // "repositories[0].mirror" -> where
  std::vector<std::string> warnings;                // "FILE:LINE:COL: FIELD: ..." (not fatal)

  /// Where FIELD (e.g. "boot.timeout") was set, or the profile's own file when it was defaulted.
  SourceLocation Where(const std::string& field) const;
};

/// The profile as JSON in the YAML key order, defaults included, provenance left out.
nlohmann::ordered_json ToJson(const Profile& p);
/// The same document as YAML; loading it again gives the same profile.
std::string ToYaml(const Profile& p);

}  // namespace imager::profiles
