# SPDX-License-Identifier: GPL-3.0-or-later
# A build survives its imager binary being deleted or replaced on disk mid-build (a rebuild of
# imager while a build runs): the helpers of later stages (here the tarball writer) run from the
# binary that started, pinned by a descriptor, not from the path.
source "$TESTLIB"
expect_idmode >/dev/null

cp "$IMAGER" "$T/imager"
make_tar_profile swap 'echo swap > /etc/swap
sleep 2'
cd "$T"
"$T/imager" build swap.yaml --cache-dir "$T/cache" -o "$T/out" 2> "$T/build.log" &
pid=$!
wait_started "$T/build.log" scripts
rm -f "$T/imager"  # deleted, as a linker does before writing the new one
wait $pid || fail "the build failed after its binary was deleted: $(cat "$T/build.log")"
assert_eq "the tarball was written after the binary was deleted" swap \
  "$(tar -xzOf "$T/out/swap.tar.gz" ./etc/swap)"
