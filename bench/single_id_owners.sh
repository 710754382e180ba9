#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Single-id mode against range mode (issue 17), for each profile given (default: debian-live and
# debian-installer): one cold build in range mode and one with --single-id, one after the other,
# from the same lock and the same downloaded packages, separate caches. Prints both build times
# and their ratio (goal: single-id at most 1.1x), then lists every squashfs image on both ISOs
# (the live system and, for the installer, each of its layers) and counts the entries whose
# owner, group or mode differ (goal: 0).
# Run as an unprivileged user with a subordinate range; needs xorriso and unsquashfs.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
IMAGER=${IMAGER:-$here/build/imager}
[ "$(id -u)" != 0 ] || { echo "run this as an unprivileged user" >&2; exit 1; }
for t in xorriso unsquashfs; do
  command -v $t >/dev/null || { echo "needs $t" >&2; exit 1; }
done
profiles=("$@")
[ ${#profiles[@]} -gt 0 ] || profiles=(debian-live debian-installer)
W=$(mktemp -d "${TMPDIR:-/var/tmp}/imager-bench-owners.XXXXXX")
cleanup() {
  for c in "$W"/*/cache-*; do "$IMAGER" cache prune --all --cache-dir "$c" >/dev/null 2>&1 || true; done
  rm -rf "$W"
}
trap cleanup EXIT

listing() { # listing ISO DIR -> one sorted "image: mode owner path" line per squashfs entry
  local iso=$1 dir=$2 f
  mkdir -p "$dir"
  xorriso -osirrox on -indev "$iso" -find / -name '*.squashfs' -exec lsdl -- 2>/dev/null |
    sed -n "s|.* '\(/.*\.squashfs\)'$|\1|p" | while read -r f; do
    xorriso -osirrox on -indev "$iso" -extract "$f" "$dir/img.squashfs" >/dev/null 2>&1
    unsquashfs -n -lln "$dir/img.squashfs" | sed 's|squashfs-root||' |
      awk -v img="$f" '{ $3 = $4 = $5 = ""; print img ": " $0 }'
    rm -f "$dir/img.squashfs"
  done | sort
}

printf '%-18s %10s %10s %7s %9s %7s\n' profile range_s single_s ratio entries differ
for p in "${profiles[@]}"; do
  d=$W/$p
  mkdir -p "$d/profiles"
  cp "$here/profiles/$p.yaml" "$d/profiles/"
  cp -r "$here/profiles/keys" "$d/profiles/"
  "$IMAGER" fetch "$d/profiles/$p.yaml" --cache-dir "$d/cache-range" >"$d/fetch.log" 2>&1
  mkdir -p "$d/cache-single"
  cp -al "$d/cache-range/packages" "$d/cache-single/packages"
  cp -a "$d/cache-range/metadata" "$d/cache-single/metadata"  # the installer's offline repository
  for mode in range single; do
    flag=()
    [ $mode = single ] && flag=(--single-id)
    start=$(date +%s.%N)
    "$IMAGER" build "$d/profiles/$p.yaml" --locked "${flag[@]}" --cache-dir "$d/cache-$mode" \
      -o "$d/out-$mode" >"$d/$mode.log" 2>&1 || { tail -20 "$d/$mode.log"; exit 1; }
    end=$(date +%s.%N)
    echo "$end - $start" | bc >"$d/$mode.time"
  done
  listing "$d/out-range/$p.iso" "$d/x-range" >"$d/range.list"
  listing "$d/out-single/$p.iso" "$d/x-single" >"$d/single.list"
  n=$(wc -l <"$d/range.list")
  differ=$(diff "$d/range.list" "$d/single.list" | grep -c '^<' || true)
  r=$(cat "$d/range.time")
  s=$(cat "$d/single.time")
  printf '%-18s %10.1f %10.1f %7.2f %9d %7d\n' "$p" "$r" "$s" "$(echo "$s / $r" | bc -l)" "$n" "$differ"
  [ "$differ" = 0 ] || diff "$d/range.list" "$d/single.list" | head -20
  # Where the time went: each stage's duration in both modes.
  for mode in range single; do
    echo "  $mode: $(sed -n 's/.*\] \([a-z0-9_-]*\): done in \([0-9.]*s\).*/\1 \2/p' "$d/$mode.log" | paste -sd ' ' -)"
  done
done
