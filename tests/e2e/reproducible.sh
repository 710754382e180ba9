#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Reproducibility: two cold builds of the default profile with every output format but squashfs
# (iso, tar, oci, oci-archive, raw, qcow2), from the same lock, give the same bytes. (With the
# squashfs output the ISO carries that one merged image; without it, the ISO's layout by default:
# an image per layer, stages/iso_stages.h. The same writer makes both.) The two
# builds run side by side and differ in everything they should not depend on: the user (and so
# the subordinate id range), cache directory, profile and output paths, TZ, umask, locale. Only
# the downloaded packages (content-addressed, checked by hash before use) are shared, to spare
# the mirror. On a mismatch it runs diffoscope (when installed) on the differing outputs and
# shows where. Then the disk image of the first build is checked and booted under BIOS and UEFI
# (disk_checks.sh, as the first build's user), which spares a build of its own. Beside those
# boots, with IMAGER_SINGLE_USER (a user without a subordinate range; tests/run.sh sets it), a
# third cold build of the same lock runs in single-id mode, and its tar and the ISO's packages
# image must list the same owner, group and mode for every path as the first (range) build's
# (issue 17).
# Needs IMAGER (CTest sets it). Two users: run as root with IMAGER_REPRO_USERS="USER1 USER2"
# (tests/run.sh does; each build runs as one of them, both unprivileged, both with a range);
# run as an unprivileged user, both builds are that user's. KEEP=DIR keeps both builds' outputs.
set -euo pipefail
# shellcheck source=../lib/e2e.sh
source "$(dirname "$0")/../lib/e2e.sh"

two_builders
if [ -n "$two_users" ]; then
  work=$(mktemp -d /var/tmp/imager-repro.XXXXXX)
  chmod 0755 "$work"
  echo "builds as ${users[0]} and ${users[1]}"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/imager-repro.XXXXXX")
  echo "both builds as $(id -un): IMAGER_REPRO_USERS (as root) makes them two users"
fi
mkdir -p "$work/a/profiles" "$work/b/place/profiles"
[ "$(id -u)" != 0 ] || chown -R "${users[0]}:" "$work/a"
[ "$(id -u)" != 0 ] || chown -R "${users[1]}:" "$work/b"

cleanup() {
  [ -z "${KEEP:-}" ] || cp -r "$work/a/out" "$KEEP/a" 2>/dev/null || true
  [ -z "${KEEP:-}" ] || cp -r "$work/b/place/out" "$KEEP/b" 2>/dev/null || true
  as "${users[0]}" "$IMAGER" cache prune --all --cache-dir "$work/a/cache" >/dev/null 2>&1 || true
  as "${users[1]}" "$IMAGER" cache prune --all --cache-dir "$work/b/place/cache" >/dev/null 2>&1 ||
    true
  rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

formats=(iso tar oci oci-archive raw qcow2)
sed "s/^output: {formats: \[iso\]/output: {formats: [$(IFS=,; echo "${formats[*]}" | sed 's/,/, /g')]/" \
  "$src/profiles/debian-live.yaml" >"$work/a/profiles/debian-live.yaml"
grep -q "formats: \[iso, tar, oci, oci-archive, raw, qcow2\]" "$work/a/profiles/debian-live.yaml" ||
  fail "could not set the formats in the profile copy"
cp -r "$src/profiles/keys" "$work/a/profiles/"

# Resolve and download once (the lock, the package cache); then both cold builds side by side,
# the second from a copy of the profile and lock elsewhere, with only the downloads shared.
[ "$(id -u)" != 0 ] || chown -R "${users[0]}:" "$work/a"
as "${users[0]}" sh -c 'cd "$1" && exec "$2" fetch profiles/debian-live.yaml --cache-dir "$1/cache"' \
  sh "$work/a" "$IMAGER" >"$work/fetch.log" 2>&1 || {
  tail -20 "$work/fetch.log"
  fail "fetch"
}
ls "$work/a/profiles/"*.lock >/dev/null 2>&1 || fail "fetch wrote no lock file"
cp -r "$work/a/profiles/." "$work/b/place/profiles/"
mkdir -p "$work/b/place/cache"
if [ "${users[0]}" = "${users[1]}" ]; then
  cp -al "$work/a/cache/packages" "$work/b/place/cache/packages"
else
  cp -a "$work/a/cache/packages" "$work/b/place/cache/packages"
  chown -R "${users[1]}:" "$work/b"
fi
start=$SECONDS
as "${users[0]}" sh -c 'cd "$1" && umask 022 && exec env TZ=UTC LANG=C.UTF-8 "$2" build \
  profiles/debian-live.yaml --locked --cache-dir "$1/cache" -o "$1/out"' sh "$work/a" "$IMAGER" \
  >"$work/a.log" 2>&1 &
a=$!
as "${users[1]}" sh -c 'cd "$1" && umask 077 && exec env TZ=Asia/Shanghai LANG=zh_CN.UTF-8 \
  LC_ALL=zh_CN.UTF-8 "$2" build place/profiles/debian-live.yaml --locked \
  --cache-dir "$1/place/cache" -o "$1/place/out"' sh "$work/b" "$IMAGER" >"$work/b.log" 2>&1 &
b=$!
wait $a || {
  tail -40 "$work/a.log"
  fail "first build"
}
wait $b || {
  tail -40 "$work/b.log"
  fail "second build"
}
echo "two cold builds side by side: $((SECONDS - start)) s"
grep -E "\] (tools|disk|qcow2): done in" "$work/a.log" || true
grep -q ": cached" "$work/a.log" && fail "the first build reused a stage: it was not cold"
grep -q ": cached" "$work/b.log" && fail "the second build reused a stage: it was not cold"

differ=()
for f in $(cd "$work/a/out" && find . -type f ! -path './logs/*' | sort); do
  if [ ! -e "$work/b/place/out/$f" ]; then
    differ+=("$f (missing in the second build)")
  elif cmp -s "$work/a/out/$f" "$work/b/place/out/$f"; then
    echo "same: $f $(sha256sum <"$work/a/out/$f" | cut -c1-16)"
  else
    differ+=("$f")
  fi
done
# Outputs that are directories (the OCI layout) are compared file by file above.
n=$(cd "$work/a/out" && find . -type f ! -path './logs/*' | wc -l)
[ "$n" -ge 5 ] || fail "only $n output files: expected one per format at least"
if [ ${#differ[@]} -gt 0 ]; then
  for f in "${differ[@]}"; do
    echo "DIFFERS: $f"
    if command -v diffoscope >/dev/null && [ -e "$work/b/place/out/$f" ]; then
      timeout 600 diffoscope --max-report-size 200000 "$work/a/out/$f" "$work/b/place/out/$f" |
        head -150 || true
    fi
  done
  fail "${#differ[@]} output(s) differ between two cold builds"
fi
pass "two cold builds (as ${users[0]} and ${users[1]}) gave the same bytes: ${formats[*]} ($n files)"
single=${IMAGER_SINGLE_USER:-}
if [ -n "$single" ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$work/s/profiles" "$work/s/cache"
  cp -r "$work/a/profiles/." "$work/s/profiles/"
  cp -a "$work/a/cache/packages" "$work/s/cache/packages"
  chown -R "$single:" "$work/s"
  single_start=$SECONDS
  as "$single" sh -c 'cd "$1" && exec "$2" build profiles/debian-live.yaml --locked \
    --cache-dir "$1/cache" -o "$1/out"' sh "$work/s" "$IMAGER" >"$work/s.log" 2>&1 &
  s=$!
fi
start=$SECONDS
rc=0
as "${users[0]}" env IMAGER="$IMAGER" BOOT_TIMEOUT="${BOOT_TIMEOUT:-900}" \
  bash "$src/tests/e2e/disk_checks.sh" "$work/a/out/debian-live.raw" \
  "$work/a/out/debian-live.qcow2" || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 77 ] || fail "the disk image's checks (tests/e2e/disk_checks.sh)"
echo "disk checks: $((SECONDS - start)) s"

if [ -z "$single" ] || [ "$(id -u)" != 0 ]; then
  echo "no IMAGER_SINGLE_USER (as root): single-id owners not compared"
  exit 0
fi
wait $s || {
  tail -40 "$work/s.log"
  fail "the single-id build (as $single)"
}
echo "single-id build (beside the disk checks): $((SECONDS - single_start)) s"
grep -q "single-id mode" "$work/s.log" || fail "the build as $single was not in single-id mode"
# owner/group, mode and path of every entry (sizes and times left out: they are compared above).
listing() {
  case $1 in
    *.squashfs) unsquashfs -n -lln "$1" | sed 's|squashfs-root||' ;;
    *) tar --numeric-owner -tvf "$1" | sed 's| \./| /|; s| \.$| /|' ;;
  esac | awk '{ $3 = $4 = $5 = ""; print }' | sort
}
for b in a s; do  # the ISO's packages image
  "$IMAGER" iso cat "$work/$b/out/debian-live.iso" /live/filesystem.squashfs \
    >"$work/$b/out/filesystem.squashfs" || fail "no /live/filesystem.squashfs in $b's ISO"
done
for f in debian-live.tar.gz filesystem.squashfs; do
  [ -e "$work/a/out/$f" ] || fail "no $f in the range build's outputs"
  [ -e "$work/s/out/$f" ] || fail "no $f in the single-id build's outputs"
  listing "$work/a/out/$f" >"$work/range.list"
  listing "$work/s/out/$f" >"$work/single.list"
  n=$(wc -l <"$work/range.list")
  [ "$n" -gt 1000 ] || fail "$f lists only $n entries"
  grep -q "0/42 */etc/shadow\|0/42 */etc/gshadow" "$work/range.list" ||
    fail "$f: /etc/shadow is not root:shadow even in range mode; the comparison means nothing"
  if ! diff "$work/range.list" "$work/single.list" >"$work/owners.diff"; then
    head -40 "$work/owners.diff"
    fail "$f: $(grep -c '^<' "$work/owners.diff") entries differ in owner, group or mode between \
the range build (as ${users[0]}) and the single-id build (as $single)"
  fi
  echo "$f: $n entries, the same owner, group and mode in both id modes"
done
pass "single-id and range builds agree on every owner"
