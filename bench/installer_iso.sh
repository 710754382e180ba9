#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The installer ISO (profiles/debian-installer.yaml): a cold build (empty cache: metadata and
# packages come from the mirror of the host's apt sources) next to the rebuild after changing
# only the branding, which must rerun only the installer's config layer, its image, the
# initramfs and bootloader (they carry the medium's identity) and the ISO.
# Run as an unprivileged user: bash bench/installer_iso.sh
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGER=${IMAGER:-$PWD/build/imager}
work=$(mktemp -d "${TMPDIR:-/tmp}/imager-bench-installer.XXXXXX")
# Layers hold files of subordinate ids: imager removes them inside the id mapping.
trap '"$IMAGER" cache prune --all --cache-dir "$work/cache" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
mkdir -p "$work/p"
cp profiles/debian-installer.yaml "$work/p/"
cp -r profiles/keys "$work/p/"
build() {  # build LABEL: prints seconds and the stages that ran
  local t0 t1
  t0=$(date +%s.%N)
  "$IMAGER" build "$work/p/debian-installer.yaml" --cache-dir "$work/cache" -o "$work/out" \
    --json >"$work/$1.json" 2>"$work/$1.err" || {
    tail -20 "$work/$1.err"
    exit 1
  }
  t1=$(date +%s.%N)
  python3 - "$1" "$t0" "$t1" "$work/$1.json" <<'PY'
import json, sys
label, t0, t1, path = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
ran = []
for line in open(path):
    try:
        e = json.loads(line)
    except ValueError:
        continue
    if e.get("event") == "stage_done":
        ran.append(f"{e['stage']} {e['seconds']:.1f}s")
print(f"{label:9} {t1 - t0:7.1f} s  ran: {', '.join(ran)}")
PY
}
build cold
sed -i 's/product_name: Debian (Imager)/product_name: Debian (Imager) rebranded/' \
  "$work/p/debian-installer.yaml"
build branding
ls -l "$work/out"/*.iso | awk '{print "iso bytes:", $5}'
