#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Builds, with imager itself, the Debian 12 base image the Containerfile starts from: Debian
# bookworm minbase plus the packages of dev/deps.txt's first two blocks (what building imager and
# running it rootless need; clang-format and git left out), from this host's apt mirror, written
# as an OCI image layout OUT/imager-base.oci (tag latest). No container registry is needed.
#   usage: dev/container-base.sh [OUT]      (OUT defaults to out/; IMAGER to build/imager)
# Extra arguments after OUT go to `imager build` (e.g. --cache-dir DIR).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
imager=${IMAGER:-$src/build/imager}
out=${1:-out}
shift || true

# deps.txt: the build block, then the line that starts with uidmap (the rootless runtime block).
pkgs=$(awk '/^#/ { next } { print } /^uidmap / { exit }' "$src/dev/deps.txt" | tr -s ' ' '\n' |
  grep -vx -e '' -e clang-format -e git | paste -sd, - | sed 's/,/, /g')
grep -q 'uidmap' <<<"$pkgs" || { echo "container-base: no uidmap line in dev/deps.txt" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/imager-base.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$src/profiles/keys/debian-bookworm.asc" "$work/"
cat >"$work/imager-base.yaml" <<YAML
version: 1
name: imager-base
description: Debian 12 with what building and running imager needs (dev/deps.txt), for the Containerfile
distribution: {family: debian, release: bookworm, arch: amd64}
repositories:
  - {type: deb, mirror: auto, suite: bookworm, components: [main], keyring: debian-bookworm.asc}
packages:
  variant: minbase
  include: [$pkgs]
  recommends: false
rootfs:
  hostname: imager
  locale: C.UTF-8
  timezone: Etc/UTC
output: {formats: [oci]}
YAML
"$imager" build "$work/imager-base.yaml" -o "$out" "$@"
echo "container-base: wrote $out/imager-base.oci (skopeo inspect oci:$out/imager-base.oci:latest)"
