// SPDX-License-Identifier: GPL-3.0-or-later
#include "profiles/schema.h"

#include "base/strings.h"
#include "profiles/profile.h"

namespace imager::profiles {
namespace {

template <typename E>
std::string OneOf() {
  return "one of: " + Join(NameList<E>(), ", ");
}

std::vector<FieldDoc> MakeSchema() {
  const std::string kDeb = "repositories:\n  - {suite: bookworm, keyring: keys/debian.asc";
  const std::string kRpmRepos = "distribution: {family: rpm, release: \"24.03\"}\nrepositories:\n";
  const std::string kRpm =
      kRpmRepos + "  - {url: https://repo.example.org/os/x86_64/, keyring: keys/rpm.asc";
  const std::string kCalamares =
      "packages: {include: [linux-image-amd64]}\ninstaller:\n  type: calamares\n";
  return {
      {"version", "integer", "1",
       "The profile format's version. Only 1 exists; a later imager that changes the format "
       "reads this to know which rules apply.",
       "version: 1"},
      {"name", "string of letters, digits, '.', '_' and '-'", "required",
       "The profile's name: output files are named after it (NAME.iso, NAME.tar.gz, ...), and "
       "it is the default of output.volume_id.",
       "name: debian-live"},
      {"description", "string", "empty",
       "One line saying what the image is, shown by `imager "
       "profile list`.",
       "description: Minimal Debian 12 live system"},
      {"extends", "path", "none",
       "Another profile file this one starts from, relative to this file. Maps merge key by key, "
       "recursively; a scalar, list or null given here replaces the inherited one. Chains may be "
       "any length; a cycle is an error.",
       "extends: debian-live.yaml"},
      {"distribution", "map", "required", "Which distribution the image is made of.", ""},
      {"distribution.family", OneOf<Family>(), "required",
       "The packaging world: debian (dpkg, apt repositories, InRelease) or rpm (rpm, rpm-md "
       "repositories resolved as dnf would).",
       "distribution: {family: debian}"},
      {"distribution.release", "string", "the first repository's suite",
       "The release, e.g. bookworm or 24.03; it names the image's identity (/etc/os-release is "
       "the distribution's own).",
       "distribution: {family: debian, release: bookworm}"},
      {"distribution.arch", "string of a-z, 0-9 and _", "amd64 (debian), x86_64 (rpm)",
       "The architecture of the packages, in the family's spelling.",
       "distribution: {family: debian, arch: amd64}"},
      {"repositories", "list of maps", "required unless base: is set and no packages are included",
       "The package repositories, in order of preference. Their metadata is verified against "
       "the keyring before anything is resolved.",
       ""},
      {"repositories[].type", "one of: deb, rpm-md", "the family's type (deb or rpm-md)",
       "The repository's format; it must fit distribution.family.", kDeb + ", type: deb}"},
      {"repositories[].mirror", "auto or a URL (http://, https://, file:/)", "auto",
       "deb only. auto takes the mirror from the host's apt sources (/etc/apt/sources.list and "
       "sources.list.d), so a profile never names a host.",
       kDeb + ", mirror: auto}"},
      {"repositories[].suite", "string", "distribution.release",
       "deb only. The suite (dists/SUITE) whose InRelease is read.", kDeb + "}"},
      {"repositories[].components", "list of strings", "[main]", "deb only. The components read.",
       kDeb + ", components: [main, contrib]}"},
      {"repositories[].keyring", "path", "required for deb, and for rpm-md with gpgcheck",
       "An OpenPGP key file (armored or binary) relative to the profile: a deb InRelease or an "
       "rpm-md repomd.xml.asc must verify with it, and rpm checks the packages' own signatures "
       "against it.",
       kDeb + "}"},
      {"repositories[].url", "URL (http://, https://, file:/)", "required for rpm-md",
       "rpm-md only. The directory holding repodata/repomd.xml. dnf's variables are expanded: "
       "$basearch (distribution.arch) and $releasever (distribution.release).",
       kRpm + "}"},
      {"repositories[].baseurl", "URL", "none",
       "rpm-md only. Another spelling of url, as in dnf's .repo files; give one of the two.",
       kRpmRepos + "  - {baseurl: https://repo.example.org/os/x86_64/, keyring: keys/rpm.asc}"},
      {"repositories[].gpgcheck", "bool", "true",
       "rpm-md only. false takes the repository's metadata and packages unsigned (a local "
       "fixture, say); the build warns.",
       kRpmRepos + "  - {url: \"file:/srv/repo\", gpgcheck: false}"},
      {"repositories[].repo_gpgcheck", "bool", "gpgcheck's value",
       "rpm-md only. Whether repodata/repomd.xml must carry a signature (repomd.xml.asc) by the "
       "keyring, as dnf's repo_gpgcheck. openEuler and Fedora sign their packages but not their "
       "metadata: gpgcheck: true with repo_gpgcheck: false still checks every package.",
       kRpmRepos + "  - {url: https://repo.example.org/os/x86_64/, keyring: keys/rpm.asc, "
                   "repo_gpgcheck: false}"},
      {"packages", "map", "a minbase system (debian); nothing (rpm)", "What is installed.", ""},
      {"packages.variant", OneOf<Variant>(), "minbase (debian)",
       "debian only: the priority-based starting set, as debootstrap and mmdebstrap name them "
       "(none: only what include lists and its dependencies).",
       "packages: {variant: minbase}"},
      {"packages.include", "list of package names", "[]",
       "Packages installed with their dependencies (resolved with libsolv as apt or dnf would).",
       "packages: {include: [linux-image-amd64, systemd-sysv]}"},
      {"packages.exclude", "list of package names", "[]",
       "Packages kept out even where the variant or a recommendation would bring them; a package "
       "something needs cannot be excluded (the resolver says which).",
       "packages: {exclude: [vim-tiny]}"},
      {"packages.recommends", "bool", "false", "Also install what the packages recommend.",
       "packages: {recommends: true}"},
      {"base", "none, {tar: PATH} or {oci: PATH[:TAG]}", "none",
       "Start from an existing root filesystem instead of from nothing: the packages are "
       "installed on top of it. Without repositories and packages, only the rootfs settings are "
       "applied to it.",
       ""},
      {"base.tar", "path", "none", "A rootfs tarball (.tar, .tar.gz, .tar.xz, .tar.zst).",
       "base: {tar: rootfs.tar.gz}"},
      {"base.oci", "path[:tag]", "none",
       "An OCI image layout directory or archive; :TAG picks an image when it holds several.",
       "base: {oci: \"bookworm-oci:latest\"}"},
      {"rootfs", "map", "defaults below", "Settings applied to the image after its packages.", ""},
      {"rootfs.hostname", "host name", "imager", "/etc/hostname and /etc/hosts.",
       "rootfs: {hostname: kiosk}"},
      {"rootfs.root_password", "{hash: CRYPT} or {plain: TEXT}", "root is locked",
       "root's password. A hash (openssl passwd -6) is kept as it is; plain text is hashed at "
       "build time and warned about, as it stays in the profile and the cache.",
       "rootfs:\n  root_password: {hash: \"$6$salt$hash\"}"},
      {"rootfs.root_password.hash", "crypt(3) hash", "none", "See root_password.",
       "rootfs:\n  root_password: {hash: \"$6$salt$hash\"}"},
      {"rootfs.root_password.plain", "string", "none", "See root_password.",
       "rootfs:\n  root_password: {plain: secret}"},
      {"rootfs.users", "list of maps", "[]", "Accounts created in the image.", ""},
      {"rootfs.users[].name", "user name", "required", "The login name.",
       "rootfs:\n  users: [{name: live}]"},
      {"rootfs.users[].groups", "list of group names", "[]", "Supplementary groups.",
       "rootfs:\n  users: [{name: live, groups: [sudo]}]"},
      {"rootfs.users[].password", "{hash: CRYPT} or {plain: TEXT}", "the account is locked",
       "As rootfs.root_password.", "rootfs:\n  users: [{name: live, password: {plain: live}}]"},
      {"rootfs.users[].password.hash", "crypt(3) hash", "none", "See rootfs.root_password.",
       "rootfs:\n  users: [{name: live, password: {hash: \"$6$salt$hash\"}}]"},
      {"rootfs.users[].password.plain", "string", "none", "See rootfs.root_password.",
       "rootfs:\n  users: [{name: live, password: {plain: live}}]"},
      {"rootfs.users[].uid", "integer 1..65534", "the next free uid in the image",
       "The numeric user id.", "rootfs:\n  users: [{name: live, uid: 1000}]"},
      {"rootfs.users[].shell", "absolute path", "the distribution's default", "The login shell.",
       "rootfs:\n  users: [{name: live, shell: /bin/bash}]"},
      {"rootfs.files", "list of maps", "[]", "Host files copied into the image.", ""},
      {"rootfs.files[].from", "path", "required",
       "A host file or directory, relative to the profile; a trailing / copies a directory's "
       "contents.",
       "rootfs:\n  files: [{from: files/motd, to: /etc/motd}]"},
      {"rootfs.files[].to", "absolute path in the image", "required",
       "Where it goes; '..' is refused.", "rootfs:\n  files: [{from: files/motd, to: /etc/motd}]"},
      {"rootfs.run", "list of paths", "[]",
       "Executable scripts, relative to the profile, run in order inside the sandbox with the "
       "image as / (their #! interpreter must be in the image); a failure fails the build with "
       "the script's output.",
       "rootfs:\n  run: [scripts/setup.sh]"},
      {"rootfs.services", "map", "the packages' presets", "systemd units to enable or disable.",
       ""},
      {"rootfs.services.enable", "list of unit names", "[]", "Units enabled at boot.",
       "rootfs:\n  services: {enable: [ssh.service]}"},
      {"rootfs.services.disable", "list of unit names", "[]", "Units disabled.",
       "rootfs:\n  services: {disable: [apt-daily.timer]}"},
      {"rootfs.locale", "locale name", "C.UTF-8",
       "The system locale (/etc/default/locale); others than C.UTF-8 are generated and must be "
       "in the image's /usr/share/i18n/SUPPORTED.",
       "rootfs: {locale: C.UTF-8}"},
      {"rootfs.timezone", "zone name", "Etc/UTC", "/etc/localtime and /etc/timezone.",
       "rootfs: {timezone: Europe/Berlin}"},
      {"installer", "map", "{type: none}",
       "An installer image: the live session runs an installer that copies the image (the "
       "target) onto a disk.",
       ""},
      {"installer.type", OneOf<InstallerType>(), "none",
       "calamares for the debian family (Debian's calamares and its settings); anaconda is "
       "reserved for the rpm family and not built yet. An installer needs a kernel in "
       "packages.include.",
       kCalamares},
      {"installer.packages", "list of package names", "[]",
       "Extra packages of the live session only (not installed onto the disk).",
       kCalamares + "  packages: [gparted]"},
      {"installer.offline_packages", "list of package names", "[]",
       "Packages stored on the medium as a signed repository, for installing without a network.",
       kCalamares + "  offline_packages: [grub-efi-amd64]"},
      {"installer.branding", "map", "the distribution's", "What the installer shows.", ""},
      {"installer.branding.product_name", "string", "the profile's name", "The product's name.",
       kCalamares + "  branding: {product_name: Example OS}"},
      {"installer.branding.version", "string", "distribution.release", "The product's version.",
       kCalamares + "  branding: {version: \"1.0\"}"},
      {"installer.branding.logo", "path (.png, .svg, .jpg)", "none", "The product's logo.",
       kCalamares + "  branding: {logo: logo.png}"},
      {"installer.branding.slideshow", "path (.qml or an image)", "none",
       "What the installer shows while it copies.",
       kCalamares + "  branding: {slideshow: show.qml}"},
      {"installer.calamares", "map", "defaults below", "calamares only: its settings.", ""},
      {"installer.calamares.filesystem", "one of: ext4, xfs, btrfs", "ext4",
       "The partition page's default root filesystem.",
       kCalamares + "  calamares: {filesystem: btrfs}"},
      {"installer.calamares.user_groups", "list of group names",
       "[audio, cdrom, netdev, plugdev, sudo, video]", "Groups of the user the users page creates.",
       kCalamares + "  calamares: {user_groups: [sudo]}"},
      {"installer.calamares.show", "list of Calamares view modules", "the default sequence",
       "The pages, in order (welcome, locale, keyboard, partition, users, summary, ...).",
       kCalamares + "  calamares: {show: [welcome, partition, users, summary]}"},
      {"installer.calamares.exec", "list of Calamares modules", "the default sequence",
       "What runs, in order, after the summary page (partition, mount, unpackfs, ..., "
       "bootloader, umount). The target's initramfs is kept unless initramfs is listed.",
       kCalamares + "  calamares: {exec: [partition, mount, unpackfs, fstab, bootloader, "
                    "umount]}"},
      {"installer.calamares.autostart", "bool", "true",
       "The live session starts the installer when it boots.",
       kCalamares + "  calamares: {autostart: false}"},
      {"boot", "map", "defaults below", "How the ISO boots (imager's own initramfs, the booter).",
       ""},
      {"boot.cmdline", "string", "empty", "Extra kernel command line.", "boot: {cmdline: quiet}"},
      {"boot.probe", "list of: cdrom, usb, disk, virtio, nvme, /dev/PATH", "[cdrom, usb, disk]",
       "Where the booter looks for the medium, in order (a /dev path may be a glob).",
       "boot: {probe: [cdrom, usb, virtio]}"},
      {"boot.timeout", "integer 0..3600 (seconds)", "30",
       "How long the booter (imager's initramfs) waits for the medium to appear.",
       "boot: {timeout: 5}"},
      {"boot.toram", "bool", "false", "Copy the image into memory at boot, freeing the medium.",
       "boot: {toram: true}"},
      {"boot.bios", "bool", "true", "Boot under BIOS (isolinux; a hybrid MBR for USB sticks).",
       "boot: {bios: true}"},
      {"boot.uefi", "bool", "true",
       "Boot under UEFI (GRUB through shim, so Secure Boot works with the distribution's keys).",
       "boot: {uefi: true}"},
      {"boot.serial", "ttyNAME[,BAUD]", "none", "A serial console for the boot menu and kernel.",
       "boot: {serial: \"ttyS0,115200\"}"},
      {"boot.signing", "map: key, cert", "none",
       "Sign the EFI binaries the firmware loads (shim and MokManager, on the ISO's and the "
       "disk's ESP) with this key, for firmware whose db trusts it instead of the distribution's "
       "signer (Microsoft's); shim then checks GRUB and the kernel as before. Needs sbsigntool "
       "in the tools tree (added to it).",
       "boot: {signing: {key: keys/db.key, cert: keys/db.crt}}"},
      {"boot.signing.key", "path", "required in boot.signing",
       "The PEM private key, not encrypted (relative to the profile).",
       "boot: {signing: {key: keys/db.key, cert: keys/db.crt}}"},
      {"boot.signing.cert", "path", "required in boot.signing",
       "The key's X.509 certificate, PEM (relative to the profile).",
       "boot: {signing: {key: keys/db.key, cert: keys/db.crt}}"},
      {"output", "map", "defaults below", "What the build writes.", ""},
      {"output.formats", "list, " + OneOf<Format>(), "[iso]",
       "The outputs, each NAME.EXT in the output directory (--format on the command line "
       "overrides the list).",
       "output: {formats: [iso, tar]}"},
      {"output.volume_id", "1 to 32 of A-Z, 0-9 and _", "the name upper-cased, others as _",
       "The ISO's volume id; the booter finds its medium by it.",
       "output: {volume_id: EXAMPLE_LIVE}"},
      {"output.checksum", OneOf<Checksum>(), "sha256",
       "sha256 writes SHA256SUMS (the ISO's sha256) beside the ISO.", "output: {checksum: none}"},
      {"output.oci", "map", "defaults below", "The oci and oci-archive outputs.", ""},
      {"output.oci.layers", OneOf<OciLayers>(), "squashed",
       "One layer, or one per pipeline layer (base, packages, settings...) with OCI whiteouts.",
       "output:\n  formats: [oci]\n  oci: {layers: pipeline}"},
      {"output.oci.compression", OneOf<LayerCompression>(), "gzip", "How layers are compressed.",
       "output:\n  formats: [oci]\n  oci: {compression: zstd}"},
      {"output.disk", "map", "defaults below", "The raw and qcow2 disk images.", ""},
      {"output.disk.size", "0 or a size with K, M, G or T (at least 64M)", "0",
       "The disk's size; 0 is the content plus a margin. The root filesystem fills it.",
       "output:\n  formats: [raw]\n  disk: {size: 4G}"},
      {"build", "map", "defaults below", "How imager runs the build.", ""},
      {"build.stage_timeout", "integer 1..604800 (seconds)", "7200",
       "How long a stage's sandboxed commands may take together before they are killed and the "
       "build fails naming the stage.",
       "build: {stage_timeout: 3600}"},
      {"build.memory_limit_mib", "integer 0..16777216", "0 (half the machine's memory)",
       "MiB of data each process in a stage may have; allocations fail beyond it.",
       "build: {memory_limit_mib: 4096}"},
  };
}

}  // namespace

const std::vector<FieldDoc>& ProfileSchema() {
  static const std::vector<FieldDoc> kSchema = MakeSchema();
  return kSchema;
}

std::vector<std::string> SchemaKeys(const std::string& path) {
  std::vector<std::string> keys;
  const std::string prefix = path.empty() ? "" : path + ".";
  for (const auto& f : ProfileSchema()) {
    if (!StartsWith(f.path, prefix)) continue;
    std::string rest = f.path.substr(prefix.size());
    if (rest.find_first_of(".[") == std::string::npos) keys.push_back(rest);
  }
  return keys;
}

std::string SchemaPath(const std::string& field_path) {
  std::string out;
  for (size_t i = 0; i < field_path.size(); ++i) {
    out += field_path[i];
    if (field_path[i] != '[') continue;
    size_t end = field_path.find(']', i);
    if (end == std::string::npos) break;
    out += ']';
    i = end;
  }
  return out;
}

}  // namespace imager::profiles
