# SPDX-License-Identifier: GPL-3.0-or-later
# output.oci: {layers: pipeline}: one OCI layer per pipeline layer (base, config, scripts), the
# scripts layer's deletion and replaced directory written as OCI whiteouts from the overlay upper
# dir. umoci and imager's own import both give the tree of the tarball output; zstd layers are
# accepted by skopeo and imager's import; oci-archive is the layout as one tar; rebuilds give the
# same manifest and archive bytes.
source "$TESTLIB"
mode=$(expect_idmode)
command -v skopeo >/dev/null || { echo "SKIP: skopeo missing (dev/deps.txt)"; exit 77; }
command -v umoci >/dev/null || { echo "SKIP: umoci missing (dev/deps.txt)"; exit 77; }
export SOURCE_DATE_EPOCH=1700000000

make_mini_rootfs "$T/minirootfs"
mkdir -p "$T/minirootfs/srv/app/sub"
echo a > "$T/minirootfs/srv/app/a"
echo b > "$T/minirootfs/srv/app/sub/b"
tar -C "$T/minirootfs" --owner=0 --group=0 --numeric-owner -czf "$T/base.tar.gz" .
make_tar_profile demo 'rm /usr/bin/stat
rm -rf /srv/app && mkdir /srv/app && echo new > /srv/app/c && chown 1:1 /srv/app/c'
sed 's/^output: .*/output: {formats: [oci, tar], oci: {layers: pipeline}}/' "$T/demo.yaml" > "$T/layers.yaml"
sed 's/^name: demo/name: zdemo/; s/layers: pipeline/layers: pipeline, compression: zstd/' \
  "$T/layers.yaml" > "$T/zdemo.yaml"
cd "$T"
"$IMAGER" build layers.yaml --cache-dir "$T/cache" -o "$T/out" 2> "$T/build.log" ||
  { cat "$T/build.log"; fail "build failed"; }
layout="$T/out/demo.oci"

json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$2"; }
manifest=$(json 'd["manifests"][0]["digest"][7:]' "$layout/index.json")
mfile="$layout/blobs/sha256/$manifest"
assert_eq "one layer per pipeline layer" 3 "$(json 'len(d["layers"])' "$mfile")"
assert_eq "gzip layers" "application/vnd.oci.image.layer.v1.tar+gzip" \
  "$(json '" ".join(sorted(set(l["mediaType"] for l in d["layers"])))' "$mfile")"
cfile="$layout/blobs/sha256/$(json 'd["config"]["digest"][7:]' "$mfile")"
assert_eq "history names the stages" "imager build: base|imager build: config|imager build: scripts" \
  "$(json '"|".join(h["created_by"] for h in d["history"])' "$cfile")"
assert_eq "skopeo sees 3 layers" 3 "$(skopeo inspect --format '{{len .Layers}}' "oci:$layout:latest")"

# The scripts layer holds the deletion and the opaque directory as OCI whiteouts.
top=$(json 'd["layers"][2]["digest"][7:]' "$mfile")
tar -tzf "$layout/blobs/sha256/$top" > "$T/top.list"
assert_contains "whiteout for the deleted file" "./usr/bin/.wh.stat" "$(cat "$T/top.list")"
assert_contains "opaque marker for the replaced directory" "./srv/app/.wh..wh..opq" "$(cat "$T/top.list")"
i=0
for digest in $(json '" ".join(l["digest"][7:] for l in d["layers"])' "$mfile"); do
  want=$(json "d['rootfs']['diff_ids'][$i]" "$cfile")
  assert_eq "diff_id $i" "$want" "sha256:$(zcat "$layout/blobs/sha256/$digest" | sha256sum | cut -d' ' -f1)"
  i=$((i + 1))
done

# umoci applies the whiteouts: its tree has the tarball's names (device nodes aside).
umoci unpack --rootless --image "$layout:latest" "$T/bundle" > "$T/umoci.log" 2>&1 ||
  { cat "$T/umoci.log"; fail "umoci unpack --rootless failed"; }
[ ! -e "$T/bundle/rootfs/usr/bin/stat" ] || fail "umoci: deleted file is back"
[ ! -e "$T/bundle/rootfs/srv/app/a" ] && [ ! -e "$T/bundle/rootfs/srv/app/sub" ] ||
  fail "umoci: replaced directory kept old content"
assert_eq "umoci: new content" new "$(cat "$T/bundle/rootfs/srv/app/c")"
(cd "$T/bundle/rootfs" && find . -mindepth 1 ! -path './dev/*' | sort) > "$T/umoci.names"
tar -tzf "$T/out/demo.tar.gz" | sed 's|/$||' | grep -v '^\./dev/' | grep -v '^\.$' | sort > "$T/tar.names"
diff -u "$T/tar.names" "$T/umoci.names" > "$T/names.diff" || { head -30 "$T/names.diff"; fail "umoci tree differs from the tarball"; }
pass "umoci tree = tarball ($(wc -l < "$T/tar.names") names)"

# imager's own import of the layered image gives the tarball's entries, owners and modes.
list() { tar -tvzf "$1" --numeric-owner | awk '{ $4 = ""; $5 = ""; print }'; }
import_image() {  # import LAYOUT NAME: a build from the image, its tarball listed in $T/NAME.list
  printf 'name: %s\ndistribution: {family: debian}\nbase: {oci: %s}\nrootfs: {hostname: host-demo}\noutput: {formats: [tar]}\n' \
    "$2" "$1" > "$T/$2.yaml"
  "$IMAGER" build "$2.yaml" --cache-dir "$T/cache" -o "$T/out-$2" 2> "$T/$2.log" ||
    { cat "$T/$2.log"; fail "import of $1 failed"; }
  list "$T/out-$2/$2.tar.gz" > "$T/$2.list"
}
list "$T/out/demo.tar.gz" > "$T/export.list"
import_image out/demo.oci:latest imported
diff -u "$T/export.list" "$T/imported.list" > "$T/imp.diff" || { head -30 "$T/imp.diff"; fail "import changed the tree"; }
pass "import of the layered image = tarball ($(wc -l < "$T/imported.list") entries)"
owned=$(grep ' ./srv/app/c$' "$T/imported.list" | awk '{print $2}')
assert_eq "owner kept (single-id mode records it)" 1/1 "$owned"
wo=$(grep -o "whiteouts [0-9]*" "$T/out-imported/logs/base.log" | cut -d" " -f2)
[ "${wo:-0}" -ge 2 ] || fail "import applied ${wo:-no} whiteouts (want >= 2)"

# The same tree as the squashed export.
sed 's/layers: pipeline/layers: squashed/; s/^name: demo/name: flat/; s/formats: \[oci, tar\]/formats: [oci, oci-archive, tar]/' \
  "$T/layers.yaml" > "$T/flat.yaml"
"$IMAGER" build flat.yaml --cache-dir "$T/cache" -o "$T/out" 2> "$T/flat.log" || { cat "$T/flat.log"; fail "squashed build failed"; }
assert_eq "squashed: one layer" 1 "$(skopeo inspect --format '{{len .Layers}}' "oci:$T/out/flat.oci:latest")"
# oci-archive: the same layout as one tar file, which skopeo reads.
assert_eq "skopeo reads the oci-archive" 1 "$(skopeo inspect --format '{{len .Layers}}' "oci-archive:$T/out/flat.oci.tar:latest")"
assert_eq "archive holds the layout's manifest" \
  "$(skopeo inspect --format '{{.Digest}}' "oci:$T/out/flat.oci:latest")" \
  "$(skopeo inspect --format '{{.Digest}}' "oci-archive:$T/out/flat.oci.tar:latest")"
archive_sum=$(sha256sum < "$T/out/flat.oci.tar")
"$IMAGER" build flat.yaml --cache-dir "$T/cache" -o "$T/out" --rebuild oci 2> "$T/flat2.log"
assert_eq "oci-archive: same bytes on rebuild" "$archive_sum" "$(sha256sum < "$T/out/flat.oci.tar")"
import_image out/flat.oci:latest flatimp
diff -u "$T/imported.list" "$T/flatimp.list" > "$T/flat.diff" || { head -30 "$T/flat.diff"; fail "layered and squashed images differ"; }
pass "layered image = squashed image"

# zstd: media type, skopeo, import.
"$IMAGER" build zdemo.yaml --cache-dir "$T/cache" -o "$T/out" 2> "$T/z.log" || { cat "$T/z.log"; fail "zstd build failed"; }
zl="$T/out/zdemo.oci"
zm="$zl/blobs/sha256/$(json 'd["manifests"][0]["digest"][7:]' "$zl/index.json")"
assert_eq "zstd layers" "application/vnd.oci.image.layer.v1.tar+zstd" \
  "$(json '" ".join(sorted(set(l["mediaType"] for l in d["layers"])))' "$zm")"
assert_eq "skopeo reads the zstd image" 3 "$(skopeo inspect --format '{{len .Layers}}' "oci:$zl:latest")"
import_image out/zdemo.oci:latest zimp
diff -u "$T/imported.list" "$T/zimp.list" > "$T/z.diff" || { head -30 "$T/z.diff"; fail "zstd image differs"; }
pass "zstd image = gzip image"

# Rebuilding the layered output gives the same manifest digest.
"$IMAGER" build zdemo.yaml --cache-dir "$T/cache" -o "$T/out" --rebuild oci 2> "$T/z2.log"
assert_eq "rebuild ran oci" oci "$(stages_built "$T/z2.log")"
assert_eq "same manifest on rebuild" "$zm" \
  "$zl/blobs/sha256/$(json 'd["manifests"][0]["digest"][7:]' "$zl/index.json")"
