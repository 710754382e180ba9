#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The edit–build–boot loop (issue 22): a cold build of the default profile's live ISO in a cache
# of its own, then one change at a time, each followed by a build:
#   hostname   rootfs.hostname changed
#   file       rootfs.files: a directory with one file added
#   script     rootfs.run: a script added
#   script2    that script's content changed
#   package+   one package added to packages.include (htop; resolve + fetch + install) with
#              --incremental: installed on the packages layer of the last full build
#   package    the same build without --incremental: every package installed again
# For each: wall seconds, the fraction of the cold build, the peak RSS of the largest process
# (imager or one of its helpers, GNU time's %M) and the stages rebuilt. The packages' squashfs
# is reused by every change but the package. Run as an unprivileged user on an idle machine:
#   bash bench/edit_loop.sh            (IMAGER=build/imager; the host's apt mirror)
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGER=${IMAGER:-$PWD/build/imager}
source tests/lib/stages.sh # stages_built
[ "$(id -u)" != 0 ] || { echo "edit_loop: run this as an unprivileged user" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/imager-edit-loop.XXXXXX")
cleanup() {
  "$IMAGER" cache prune --all --cache-dir "$work/cache" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/p"
cp profiles/debian-live.yaml "$work/p/"
cp -r profiles/keys "$work/p/"
profile=$work/p/debian-live.yaml

cold=""
printf '%-9s %8s %7s %8s  %s\n' change seconds /cold "RSS MB" rebuilt
step() {  # step NAME [imager build options]: build, print the row
  local name=$1 secs rss built
  shift
  /usr/bin/time -f '%e %M' -o "$work/time" "$IMAGER" build "$profile" --cache-dir "$work/cache" \
    -o "$work/out" "$@" >"$work/$name.log" 2>&1 || {
    tail -20 "$work/$name.log"
    echo "edit_loop: the build after '$name' failed" >&2
    exit 1
  }
  read -r secs rss <"$work/time"
  [ -n "$cold" ] || cold=$secs
  built=$(stages_built "$work/$name.log")
  printf '%-9s %8.1f %7.3f %8d  %s\n' "$name" "$secs" "$(awk -v a="$secs" -v b="$cold" 'BEGIN { print a / b }')" \
    "$((rss / 1024))" "$built"
}

step cold
sed -i 's/^  hostname: debian-live$/  hostname: edited-live/' "$profile"
step hostname
mkdir -p "$work/p/overlay/etc"
echo "edited by bench/edit_loop.sh" >"$work/p/overlay/etc/motd"
sed -i 's|^  hostname: edited-live$|&\n  files: [{from: overlay/, to: /}]|' "$profile"
step file
printf '#!/bin/sh\necho one >/etc/edit-loop\n' >"$work/p/customize.sh"
chmod +x "$work/p/customize.sh"
sed -i 's|^  files: \[{from: overlay/, to: /}\]$|&\n  run: [customize.sh]|' "$profile"
step script
printf '#!/bin/sh\necho two >/etc/edit-loop\n' >"$work/p/customize.sh"
step script2
sed -i 's/^  include: \[linux-image-amd64, systemd-sysv\]$/  include: [linux-image-amd64, systemd-sysv, htop]/' \
  "$profile"
step package+ --incremental
step package
