# SPDX-License-Identifier: GPL-3.0-or-later
# base: {oci: PATH:TAG}: an image exported by imager is imported as the base of another build,
# whose tarball then has the same files, owners and modes as the exporting build's tarball; a
# tampered blob and an unknown tag stop the build with an error naming the blob or the tag.
source "$TESTLIB"
mode=$(expect_idmode)
export SOURCE_DATE_EPOCH=1700000000

make_tar_profile demo 'mkdir -p /srv/data && touch /srv/data/owned && chown 1:1 /srv/data/owned
chmod 0640 /srv/data/owned && rm /usr/bin/stat'
cd "$T"
"$IMAGER" build demo.yaml --format oci --format tar --cache-dir "$T/cache" -o "$T/out" \
  2> "$T/export.log" || { cat "$T/export.log"; fail "export build failed"; }
cat > "$T/imported.yaml" <<YAML
name: imported
distribution: {family: debian}
base: {oci: out/demo.oci:latest}
rootfs: {hostname: host-demo}
output: {formats: [tar]}
YAML
"$IMAGER" build imported.yaml --cache-dir "$T/cache" -o "$T/out2" 2> "$T/import.log" ||
  { cat "$T/import.log"; fail "import build failed"; }
assert_eq "import stages" "base config tar" "$(stages_built "$T/import.log")"
assert_contains "base log names the manifest" "manifest sha256:" "$(cat "$T/out2/logs/base.log")"

# perms, owner, size, name: the round trip keeps them all.
list() { tar -tvzf "$1" --numeric-owner | awk '{ $4 = ""; $5 = ""; print }'; }
list "$T/out/demo.tar.gz" > "$T/export.list"
list "$T/out2/imported.tar.gz" > "$T/import.list"
diff -u "$T/export.list" "$T/import.list" > "$T/list.diff" || { head -30 "$T/list.diff"; fail "round trip changed the tree"; }
pass "round trip keeps $(wc -l < "$T/import.list") entries"
owned=$(grep ' ./srv/data/owned$' "$T/import.list" | awk '{print $1, $2}')
# Either id mode (single-id mode records it on export and on import).
assert_eq "owner survives the round trip" "-rw-r----- 1/1" "$owned"
[ -z "$(grep ' ./usr/bin/stat$' "$T/import.list" || true)" ] || fail "deleted file came back"
assert_contains "device nodes re-created" "crw-rw-rw- 0/0" "$(grep ' ./dev/null$' "$T/import.list")"

# An unchanged image is not unpacked again.
"$IMAGER" build imported.yaml --cache-dir "$T/cache" -o "$T/out2" 2> "$T/again.log"
assert_eq "no-op rebuild" "" "$(stages_built "$T/again.log")"

# A tampered layer stops the build, naming the blob (a fresh cache: the base key is the manifest
# digest, and a cached base was verified when it was unpacked).
cp -r "$T/out/demo.oci" "$T/tampered.oci"
chmod -R u+w "$T/tampered.oci"
layer=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["manifests"][0]["digest"].split(":")[1]; print(json.load(open(sys.argv[2]+m))["layers"][0]["digest"])' \
  "$T/tampered.oci/index.json" "$T/tampered.oci/blobs/sha256/")
printf 'X' | dd of="$T/tampered.oci/blobs/sha256/${layer#sha256:}" bs=1 seek=200 conv=notrunc status=none
sed 's|out/demo.oci:latest|tampered.oci|' "$T/imported.yaml" > "$T/tampered.yaml"
set +e
"$IMAGER" build tampered.yaml --cache-dir "$T/cache2" -o "$T/out3" 2> "$T/tampered.log"
rc=$?
set -e
assert_eq "tampered base fails" 1 "$rc"
assert_contains "names the blob" "layer $layer: digest mismatch" "$(cat "$T/tampered.log" "$T/out3/logs/base.log" 2>/dev/null)"

# An unknown tag is refused before anything runs.
sed 's|out/demo.oci:latest|out/demo.oci:v9|' "$T/imported.yaml" > "$T/badtag.yaml"
set +e
"$IMAGER" build badtag.yaml --cache-dir "$T/cache" -o "$T/out4" 2> "$T/badtag.log"
rc=$?
set -e
assert_eq "unknown tag fails" 1 "$rc"
assert_contains "names the tag" "no manifest tagged 'v9' (tags: latest)" "$(cat "$T/badtag.log")"
