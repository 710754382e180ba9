# SPDX-License-Identifier: GPL-3.0-or-later
# output.formats oci: a fixture Debian build written as an OCI image layout next to its rootfs
# tarball. skopeo reads it, umoci unpacks it rootless, the layer holds the same entries (owners,
# modes) as the tarball, a rebuild gives the same manifest digest, and imager's own reader
# refuses a tampered blob naming it.
source "$TESTLIB"
mode=$(expect_idmode)
command -v dpkg-deb >/dev/null || { echo "SKIP: dpkg missing"; exit 77; }
command -v skopeo >/dev/null || { echo "SKIP: skopeo missing (dev/deps.txt)"; exit 77; }
command -v umoci >/dev/null || { echo "SKIP: umoci missing (dev/deps.txt)"; exit 77; }

python3 "$(dirname "$TESTLIB")/fixtures/make_deb_repo.py" "$T/fx"
cat > "$T/fx.yaml" <<YAML
name: fx
description: OCI export fixture
distribution: {family: debian, release: fixture, arch: amd64}
repositories:
  - {mirror: "file://$T/fx/repo", suite: fixture, components: [main], keyring: fx/key.asc}
packages: {variant: essential, include: [fixture-svc]}
rootfs:
  hostname: fx
  timezone: ""
output: {formats: [tar]}
YAML
cd "$T"
"$IMAGER" build fx.yaml --format oci --format tar --cache-dir "$T/cache" -o "$T/out" \
  2> "$T/first.log" || { cat "$T/first.log"; fail "build failed"; }
assert_eq "stages" "packages config initrd tar oci" "$(stages_built "$T/first.log")"
layout="$T/out/fx.oci"
[ -f "$layout/oci-layout" ] && [ -f "$layout/index.json" ] || fail "no image layout at $layout"
[ ! -e "$T/out/fx.oci.part" ] || fail "temporary publish directory left behind"

# Container tools accept it.
inspect=$(skopeo inspect "oci:$layout:latest")
assert_contains "skopeo: architecture" '"Architecture": "amd64"' "$inspect"
assert_contains "skopeo: os" '"Os": "linux"' "$inspect"
assert_eq "skopeo: one layer" 1 "$(skopeo inspect --format '{{len .Layers}}' "oci:$layout:latest")"
config=$(skopeo inspect --config "oci:$layout:latest")
assert_contains "config: PATH" 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' "$config"
assert_contains "config: Cmd" '"/bin/sh"' "$config"
umoci unpack --rootless --image "$layout:latest" "$T/bundle" > "$T/umoci.log" 2>&1 ||
  { cat "$T/umoci.log"; fail "umoci unpack --rootless failed"; }
[ -f "$T/bundle/config.json" ] || fail "umoci wrote no runtime config"
assert_eq "umoci: hostname file" fx "$(cat "$T/bundle/rootfs/etc/hostname")"
assert_contains "umoci: dpkg status" "Package: fixture-svc" "$(cat "$T/bundle/rootfs/var/lib/dpkg/status")"

# The layer and the tarball list the same entries with the same owners and modes.
manifest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"].split(":")[1])' "$layout/index.json")
layer=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][0]["digest"].split(":")[1])' "$layout/blobs/sha256/$manifest")
tar -tvzf "$layout/blobs/sha256/$layer" --numeric-owner > "$T/layer.list" 2>/dev/null
tar -tvzf "$T/out/fx.tar.gz" --numeric-owner > "$T/tar.list" 2>/dev/null
[ "$(wc -l < "$T/layer.list")" -gt 100 ] || fail "layer lists only $(wc -l < "$T/layer.list") entries"
diff -u "$T/tar.list" "$T/layer.list" > "$T/list.diff" || { head -20 "$T/list.diff"; fail "layer differs from the tarball"; }
pass "layer entries = tarball entries ($(wc -l < "$T/layer.list"))"
if [ "$mode" = range ]; then
  assert_contains "layer keeps the package's owner" "990/990" "$(grep ' ./var/lib/fixsvc/owned$' "$T/layer.list")"
fi
diff_id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rootfs"]["diff_ids"][0])' \
  "$layout/blobs/sha256/$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["config"]["digest"].split(":")[1])' "$layout/blobs/sha256/$manifest")")
assert_eq "diff_id is the uncompressed layer's sha256" "sha256:$(zcat "$layout/blobs/sha256/$layer" | sha256sum | cut -d' ' -f1)" "$diff_id"
for f in "$layout"/blobs/sha256/*; do
  assert_eq "blob $(basename "$f" | cut -c1-12) matches its name" "$(basename "$f")" "$(sha256sum < "$f" | cut -d' ' -f1)"
done

# Rebuilding the output gives the same bytes, hence the same manifest digest.
"$IMAGER" build fx.yaml --format oci --format tar --cache-dir "$T/cache" -o "$T/out" \
  --rebuild oci 2> "$T/second.log"
assert_eq "rebuild ran the oci stage" "oci" "$(stages_built "$T/second.log")"
manifest2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"].split(":")[1])' "$layout/index.json")
assert_eq "same manifest digest on rebuild" "$manifest" "$manifest2"

# A tampered layer is refused by imager's reader, naming the blob.
cp -r "$layout" "$T/tampered"
chmod -R u+w "$T/tampered"
printf 'X' | dd of="$T/tampered/blobs/sha256/$layer" bs=1 seek=100 conv=notrunc status=none
set +e
err=$("$IMAGER" internal oci-unpack "$T/tampered" "$T/unpacked" --tag latest 2>&1)
rc=$?
set -e
assert_eq "tampered layout refused" 1 "$rc"
assert_contains "error names the blob" "layer sha256:$layer: digest mismatch" "$err"
