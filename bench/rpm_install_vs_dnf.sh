#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# RPM install: imager vs dnf, on the fixture distribution (tests/fixtures/rpm_distro.sh, nine
# signed packages, 19 MB of rpms), one run each, cold (empty caches).
#   imager: `imager build` of an rpm profile with output [tar] as the unprivileged user USER
#           (default imager-test): resolve (dnf rules), copy into its package cache, verify every
#           signature (gpgcheck), one librpm transaction in the sandbox, the config stage, a
#           gzip tarball.
#   dnf:    as root, `dnf --installroot R --repofrompath ... install` of the same names with
#           gpgcheck on (the key imported from the repository's gpgkey), then `tar -czf` of R.
# Prints each time and the ratio imager/dnf. Run as root (dnf --installroot needs it) on an
# otherwise idle machine, from the source tree, after building build/imager.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
IMAGER=${IMAGER:-$src/build/imager}
user=${USER_RUN:-imager-test}
[ "$(id -u)" = 0 ] || {
  echo "run as root: dnf --installroot needs it (imager runs as $user)" >&2
  exit 2
}
# shellcheck source=../tests/fixtures/rpm_distro.sh
source tests/fixtures/rpm_distro.sh

work=$(mktemp -d /var/tmp/imager-bench-rpm.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
make_rpm_distro "$work/fx" >"$work/fixture.log" 2>&1 || {
  tail -20 "$work/fixture.log"
  exit 1
}
chmod -R a+rX "$work/fx"
names="kernel setup busybox glibc dosfstools mtools syslinux shim grub2-efi-x64"
echo "fixture: $(find "$work/fx/repo" -name '*.rpm' | wc -l) rpms, $(du -sh "$work/fx/repo/Packages" | cut -f1)"

# --- imager, rootless ---
mkdir -m 777 "$work/im"
cat >"$work/im/fx.yaml" <<YAML
name: fx
distribution: {family: rpm, release: "1", arch: x86_64}
repositories:
  - {type: rpm-md, url: "file://$work/fx/repo", gpgcheck: true, repo_gpgcheck: false,
     keyring: $work/fx/RPM-GPG-KEY-fixture}
packages: {include: [${names// /, }]}
base: none
output: {formats: [tar]}
YAML
chmod 644 "$work/im/fx.yaml"
start=$(date +%s.%N)
runuser -u "$user" -- env -i HOME="$work/im" PATH=/usr/bin:/bin \
  "$IMAGER" build "$work/im/fx.yaml" --cache-dir "$work/im/cache" -o "$work/im/out" \
  >"$work/im/build.log" 2>&1 || {
  tail -20 "$work/im/build.log"
  exit 1
}
t_imager=$(echo "$(date +%s.%N) - $start" | bc)

# --- dnf, as root ---
start=$(date +%s.%N)
dnf -q -y --installroot "$work/dnf-root" --releasever 1 --setopt=cachedir="$work/dnf-cache" \
  --setopt=reposdir=/nonexistent --repofrompath "fx,file://$work/fx/repo" --repo fx \
  --setopt=fx.gpgcheck=1 --setopt=fx.gpgkey="file://$work/fx/RPM-GPG-KEY-fixture" \
  --setopt=install_weak_deps=False install $names >"$work/dnf.log" 2>&1 || {
  tail -20 "$work/dnf.log"
  exit 1
}
tar -C "$work/dnf-root" -czf "$work/dnf.tar.gz" .
t_dnf=$(echo "$(date +%s.%N) - $start" | bc)

im_n=$(grep -c 'installed ' "$work/im/out/logs/packages.log" || true)
dnf_n=$(rpm --root "$work/dnf-root" -qa | wc -l)
printf 'imager build (rootless, %s packages): %.1f s\n' "$im_n" "$t_imager"
printf 'dnf --installroot + tar (root, %s packages): %.1f s\n' "$dnf_n" "$t_dnf"
printf 'ratio imager/dnf: %.2f\n' "$(echo "$t_imager / $t_dnf" | bc -l)"
