# SPDX-License-Identifier: GPL-3.0-or-later
# A build that hits a limit fails naming the stage, the limit and the setting that raises it,
# and loses nothing: a script that fills memory (build.memory_limit_mib), and a cache whose
# filesystem fills up during a stage (IMAGER_SMALL_FS: a small filesystem tests/run.sh mounts;
# without it that part is skipped). After the disk-full failure the cache verifies, holds no
# debris, and the next build with space reuses the completed stages.
source "$TESTLIB"
expect_idmode >/dev/null

# A base with the probe in it (it allocates and writes on request).
make_mini_rootfs "$T/minirootfs"
cp "$PROBE" "$T/minirootfs/usr/bin/probe"
tar -C "$T/minirootfs" --owner=0 --group=0 --numeric-owner -czf "$T/base.tar.gz" .

make_tar_profile hungry 'out=$(probe alloc 4096); echo "probe: $out"
case "$out" in *all) exit 0 ;; esac
echo "probe: Cannot allocate memory" >&2; exit 1'
echo "build: {memory_limit_mib: 64}" >> "$T/hungry.yaml"
cd "$T"
rc=0
"$IMAGER" build hungry.yaml --cache-dir "$T/cache" -o "$T/out" 2> "$T/hungry.log" || rc=$?
cat "$T/hungry.log"
[ "$rc" != 0 ] || fail "a script past the memory limit did not fail the build"
assert_contains "the memory limit is named" \
  "a process ran out of memory: each may have 64 MiB of data (raise build.memory_limit_mib" \
  "$(cat "$T/hungry.log")"
# Control: the same script with enough memory succeeds.
sed -i 's/memory_limit_mib: 64/memory_limit_mib: 8192/' "$T/hungry.yaml"
"$IMAGER" build hungry.yaml --cache-dir "$T/cache" -o "$T/out" 2> "$T/fed.log" ||
  fail "control: with 8 GiB the script should pass: $(cat "$T/fed.log")"
pass "control: with memory_limit_mib 8192 the build passes"

# --- disk full ---------------------------------------------------------------------------
[ -n "${IMAGER_SMALL_FS:-}" ] && [ -w "$IMAGER_SMALL_FS" ] || {
  echo "SKIP (disk full part): IMAGER_SMALL_FS is not set to a small writable filesystem"
  exit 0
}
small=$(mktemp -d "$IMAGER_SMALL_FS/limits.XXXXXX")
trap '"$IMAGER" cache prune --all --cache-dir "$small/cache" >/dev/null 2>&1; rm -rf "$small"; cleanup' EXIT
make_tar_profile fat 'out=$(probe fill /var/fat 48); echo "probe: $out"
case "$out" in *all) exit 0 ;; esac
echo "probe: $out" >&2; exit 1'
# Leave about 24 MiB free: base and config fit, the 48 MiB the script writes does not.
"$IMAGER" build fat.yaml --cache-dir "$small/cache" -o "$T/fat-out" --format tar --plan >/dev/null
avail_kib=$(df -k --output=avail "$IMAGER_SMALL_FS" | tail -1)
ballast_mib=$((avail_kib / 1024 - 24))
[ "$ballast_mib" -gt 0 ] || fail "$IMAGER_SMALL_FS has only $((avail_kib / 1024)) MiB free"
head -c "${ballast_mib}M" /dev/zero > "$small/ballast"
rc=0
"$IMAGER" build fat.yaml --cache-dir "$small/cache" -o "$T/fat-out" 2> "$T/full.log" || rc=$?
cat "$T/full.log"
[ "$rc" != 0 ] || fail "a build past the disk's end succeeded"
full=$(cat "$T/full.log")
assert_contains "the stage is named" "stage 'scripts' failed" "$full"
assert_contains "the disk is named" "the cache's filesystem has" "$full"
assert_contains "what the stage wrote is said" "the stage had written" "$full"
assert_contains "what to do is said" "Free space (imager cache prune" "$full"
[ -z "$(ls -A "$small/cache/tmp" 2>/dev/null)" ] || fail "debris left in the cache's tmp: $(ls "$small/cache/tmp")"
"$IMAGER" cache verify --cache-dir "$small/cache" > "$T/verify.txt" || fail "the cache does not verify after the failure: $(cat "$T/verify.txt")"
pass "no debris; $(tail -1 "$T/verify.txt")"

rm -f "$small/ballast"
"$IMAGER" build fat.yaml --cache-dir "$small/cache" -o "$T/fat-out" 2> "$T/roomy.log" ||
  fail "the build with space failed: $(cat "$T/roomy.log")"
assert_eq "the completed stages are reused" "base config" "$(stages_cached "$T/roomy.log")"
assert_eq "the failed stage is built" "scripts tar" "$(stages_built "$T/roomy.log")"
