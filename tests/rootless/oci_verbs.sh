# SPDX-License-Identifier: GPL-3.0-or-later
# imager oci export / import: a root filesystem tarball becomes an OCI layout (and an
# oci-archive) that skopeo reads, with the tarball's owners; importing it again into a tarball
# keeps entries, owners and modes; into a directory unpacks it; tampering is refused.
source "$TESTLIB"
mode=$(expect_idmode)
command -v skopeo >/dev/null || { echo "SKIP: skopeo missing (dev/deps.txt)"; exit 77; }
export SOURCE_DATE_EPOCH=1700000000

make_mini_rootfs "$T/rootfs"
tar -C "$T/rootfs" --owner=0 --group=0 --numeric-owner -cf "$T/base.tar" .
mkdir -p "$T/extra/srv"
echo data > "$T/extra/srv/owned"
chmod 0640 "$T/extra/srv/owned"
tar -C "$T/extra" --owner=7 --group=8 --numeric-owner -rf "$T/base.tar" ./srv ./srv/owned
cd "$T"

"$IMAGER" oci export base.tar img.oci --tag v1 > export.out 2> export.err ||
  { cat export.err; fail "oci export failed"; }
assert_contains "export prints the manifest" "manifest sha256:" "$(cat export.out)"
assert_eq "skopeo reads the layout" '"amd64"' \
  "$(skopeo inspect --format '"{{.Architecture}}"' oci:img.oci:v1)"
layer=$(python3 -c 'import json,sys; m=json.load(open("img.oci/index.json"))["manifests"][0]["digest"][7:]; print(json.load(open("img.oci/blobs/sha256/"+m))["layers"][0]["digest"][7:])')
list() { tar -tvzf "$1" --numeric-owner | awk '{ $4 = ""; $5 = ""; print }'; }
list "img.oci/blobs/sha256/$layer" > layer.list
want="-rw-r----- 7/8"  # either id mode: single-id mode records it
assert_eq "layer keeps the tarball's owner" "$want" "$(grep ' ./srv/owned$' layer.list | awk '{print $1, $2}')"

"$IMAGER" oci export base.tar img.oci.tar --compression zstd 2> archive.err ||
  { cat archive.err; fail "oci export to an oci-archive failed"; }
assert_eq "skopeo reads the zstd oci-archive" 1 \
  "$(skopeo inspect --format '{{len .Layers}}' oci-archive:img.oci.tar:latest)"

"$IMAGER" oci import img.oci:v1 back.tar.gz 2> import.err || { cat import.err; fail "oci import to a tarball failed"; }
list back.tar.gz > back.list
diff -u layer.list back.list > back.diff || { head -20 back.diff; fail "import changed the tree"; }
pass "import = export ($(wc -l < back.list) entries)"

"$IMAGER" oci import img.oci:v1 tree 2> tree.err || { cat tree.err; fail "oci import to a directory failed"; }
[ -f tree/srv/owned ] && [ -x tree/usr/bin/dash ] || fail "import to a directory: files missing"
if [ "$mode" = range ]; then
  [ "$(stat -c %u tree/srv/owned)" != "$(id -u)" ] || fail "owner 7 was not mapped to a subordinate id"
else
  assert_eq "unpacked file" data "$(cat tree/srv/owned)"
fi

set +e
"$IMAGER" oci export base.tar img.oci > /dev/null 2> again.err; rc=$?
set -e
assert_eq "export refuses an existing layout" 1 "$rc"
assert_contains "names it" "already exists" "$(cat again.err)"
printf 'X' | dd of="img.oci/blobs/sha256/$layer" bs=1 seek=50 conv=notrunc status=none
set +e
"$IMAGER" oci import img.oci:v1 bad.tar.gz 2> bad.err; rc=$?
set -e
assert_eq "tampered image refused" 1 "$rc"
assert_contains "names the blob" "layer sha256:$layer: digest mismatch" "$(cat bad.err)"
