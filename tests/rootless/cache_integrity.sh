# SPDX-License-Identifier: GPL-3.0-or-later
# Cache integrity: bytes changed in a committed entry after its build (a bad disk, a stray edit)
# are found before the entry is used; the build names the file, rebuilds the stage and the
# output is the good one. `imager cache verify` finds the same damage. Files the build gave to
# subordinate ids (range mode: chown 1:1 below) are indexed from inside the id mapping.
source "$TESTLIB"
expect_idmode >/dev/null

make_tar_profile integ 'echo good > /etc/integ
mkdir /etc/foreign && echo secret > /etc/foreign/f && chown -R 1:1 /etc/foreign && chmod 0700 /etc/foreign'
cd "$T"
"$IMAGER" build integ.yaml --cache-dir "$T/cache" -o "$T/out" 2> "$T/first.log" || fail "first build: $(cat "$T/first.log")"
"$IMAGER" cache verify --cache-dir "$T/cache" > "$T/verify0.txt" || fail "a fresh cache does not verify: $(cat "$T/verify0.txt")"
assert_contains "fresh cache verifies" "4 of 4 entries intact" "$(cat "$T/verify0.txt")"

layer=$("$IMAGER" cache ls --cache-dir "$T/cache" --json | python3 -c '
import json, sys
print([e["path"] for e in json.load(sys.stdin) if e["stage"] == "scripts"][0])')
file="$layer/etc/integ"  # the path is the layer's tree
[ -f "$file" ] || fail "no $file"
# Same length, same mtime: only the bytes differ.
cp -p "$file" "$T/saved"
printf 'evil\n' > "$file"
touch -r "$T/saved" "$file"

rc=0
"$IMAGER" cache verify --cache-dir "$T/cache" > "$T/verify1.txt" || rc=$?
cat "$T/verify1.txt"
assert_eq "verify exits 1 on damage" 1 "$rc"
assert_contains "verify names the file" "scripts: etc/integ: content changed" "$(cat "$T/verify1.txt")"

"$IMAGER" build integ.yaml --cache-dir "$T/cache" -o "$T/out" 2> "$T/second.log" || fail "second build: $(cat "$T/second.log")"
cat "$T/second.log"
assert_contains "the build says what changed" "changed on disk (etc/integ: content changed); building it again" "$(cat "$T/second.log")"
assert_eq "only the damaged stage is rebuilt (the tarball made from the good bytes stays)" "scripts" "$(stages_built "$T/second.log")"
assert_eq "the output has the good bytes" good "$(tar -xzOf "$T/out/integ.tar.gz" ./etc/integ)"
"$IMAGER" cache verify --cache-dir "$T/cache" > "$T/verify2.txt" || fail "after the rebuild: $(cat "$T/verify2.txt")"

# A change in the part only subordinate ids can read (range mode) is found as well.
if [ "$(idmode)" = range ]; then
  grep -q '"indexed_in_ids": true' "$(dirname "$layer")/meta.json" || fail "the scripts layer was not indexed inside the id mapping"
  # Damage it from inside the mapping, as the build would see it.
  make_mini_rootfs "$T/mini"
  "$IMAGER" run --root "$T/mini" --bind /usr:/usr:ro --bind "$layer/etc:/mnt" -- \
    /bin/sh -c 'echo SECRET > /mnt/foreign/f' \
    || fail "could not damage the foreign file"
  "$IMAGER" build integ.yaml --cache-dir "$T/cache" -o "$T/out" 2> "$T/third.log" || fail "third build: $(cat "$T/third.log")"
  assert_contains "damage to a subordinate-owned file is found" "etc/foreign/f: content changed" "$(cat "$T/third.log")"
  pass "subordinate-owned files are verified from inside the id mapping"
fi
