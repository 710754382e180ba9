#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Reproducibility: two cold builds of the default profile with every output format (iso, tar,
# squashfs, oci, oci-archive, raw, qcow2), from the same lock, give the same bytes. The two builds run side
# by side and differ in everything they should not depend on: cache directory, profile and
# output paths, TZ, umask, locale. Only the downloaded packages (content-addressed, checked by
# hash before use) are shared, to spare the mirror. On a mismatch it runs diffoscope (when
# installed) on the differing outputs and shows where. Then the disk image of the first build is
# checked and booted under BIOS and UEFI (disk_checks.sh), which spares a build of its own.
# Needs IMAGER (CTest sets it). KEEP=DIR keeps the outputs of both builds.
set -euo pipefail
# shellcheck source=../lib/e2e.sh
source "$(dirname "$0")/../lib/e2e.sh"
[ "$(id -u)" != 0 ] || [ -n "${IMAGER_ALLOW_ROOT:-}" ] ||
  fail "run this as an unprivileged user (tests/run.sh does)"

work=$(mktemp -d "${TMPDIR:-/tmp}/imager-repro.XXXXXX")
cleanup() {
  [ -z "${KEEP:-}" ] || cp -r "$work/a/out" "$KEEP/a" 2>/dev/null || true
  [ -z "${KEEP:-}" ] || cp -r "$work/b/place/out" "$KEEP/b" 2>/dev/null || true
  "$IMAGER" cache prune --all --cache-dir "$work/a/cache" >/dev/null 2>&1 || true
  "$IMAGER" cache prune --all --cache-dir "$work/b/place/cache" >/dev/null 2>&1 || true
  rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

formats=(iso tar squashfs oci oci-archive raw qcow2)
mkdir -p "$work/a/profiles" "$work/b/place/profiles"
sed "s/^output: {formats: \[iso\]/output: {formats: [$(IFS=,; echo "${formats[*]}" | sed 's/,/, /g')]/" \
  "$src/profiles/debian-live.yaml" >"$work/a/profiles/debian-live.yaml"
grep -q "formats: \[iso, tar, squashfs, oci, oci-archive, raw, qcow2\]" "$work/a/profiles/debian-live.yaml" ||
  fail "could not set the formats in the profile copy"
cp -r "$src/profiles/keys" "$work/a/profiles/"

# Resolve and download once (the lock, the package cache); then both cold builds side by side,
# the second from a copy of the profile and lock elsewhere, with only the downloads shared.
(cd "$work/a" && "$IMAGER" fetch profiles/debian-live.yaml --cache-dir "$work/a/cache") \
  >"$work/fetch.log" 2>&1 || {
  tail -20 "$work/fetch.log"
  fail "fetch"
}
ls "$work/a/profiles/"*.lock >/dev/null 2>&1 || fail "fetch wrote no lock file"
cp -r "$work/a/profiles/." "$work/b/place/profiles/"
mkdir -p "$work/b/place/cache"
cp -al "$work/a/cache/packages" "$work/b/place/cache/packages"
start=$SECONDS
(cd "$work/a" && umask 022 &&
  env TZ=UTC LANG=C.UTF-8 "$IMAGER" build profiles/debian-live.yaml --locked \
    --cache-dir "$work/a/cache" -o "$work/a/out") >"$work/a.log" 2>&1 &
a=$!
(cd "$work/b" && umask 077 &&
  env TZ=Asia/Shanghai LANG=zh_CN.UTF-8 LC_ALL=zh_CN.UTF-8 \
    "$IMAGER" build place/profiles/debian-live.yaml --locked --cache-dir "$work/b/place/cache" \
    -o "$work/b/place/out") >"$work/b.log" 2>&1 &
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
pass "two cold builds gave the same bytes: ${formats[*]} ($n files)"
start=$SECONDS
rc=0
bash "$src/tests/e2e/disk_checks.sh" "$work/a/out/debian-live.raw" "$work/a/out/debian-live.qcow2" ||
  rc=$?
[ "$rc" = 0 ] || [ "$rc" = 77 ] || fail "the disk image's checks (tests/e2e/disk_checks.sh)"
echo "disk checks: $((SECONDS - start)) s"
