# SPDX-License-Identifier: GPL-3.0-or-later
# The squashfs writer run inside the id mapping (imager internal write-squashfs in `imager run`):
# owners given inside the sandbox, setuid bits and file capabilities end up in the image.
source "$TESTLIB"
mode=$(expect_idmode)
for t in unsquashfs sqfs2tar python3; do
  command -v $t >/dev/null || fail "$t is missing (dev/deps.txt: squashfs-tools squashfs-tools-ng)"
done

mkdir -p "$T/tree" "$T/out"
cp "$(dirname "$IMAGER")/imager" "$T/imager"
in_root --bind "$T/tree:/tree" -- /bin/sh -ec '
  mkdir -p /tree/srv/data /tree/usr/bin
  echo owned > /tree/srv/data/owned
  chown 1:1 /tree/srv/data/owned /tree/srv/data
  cp /usr/bin/true /tree/usr/bin/suid
  chmod 4755 /tree/usr/bin/suid
  cp /usr/bin/true /tree/usr/bin/capped
  /usr/sbin/setcap cap_net_raw+ep /tree/usr/bin/capped
  ln /tree/usr/bin/suid /tree/usr/bin/suid-link
  ln -s suid /tree/usr/bin/suid-sym'
in_root --bind "$T/tree:/tree:ro" --bind "$T/out:/out" --bind "$T/imager:/.imager:ro" -- \
  /.imager internal write-squashfs /tree /out/img.sqfs --source-date-epoch 0 --threads 2 \
  > "$T/write.log"
cat "$T/write.log"
assert_contains "writer stats" "inodes 9" "$(cat "$T/write.log")"

ls=$(unsquashfs -lln "$T/out/img.sqfs")
echo "$ls"
field() { echo "$ls" | awk -v p="squashfs-root$1" '$6 == p { print $'"$2"' }'; }
if [ "$mode" = range ]; then
  assert_eq "owner chowned inside the sandbox" "1/1" "$(field /srv/data/owned 2)"
  assert_eq "directory owner" "1/1" "$(field /srv/data 2)"
else
  assert_eq "owner in single-id mode (chown ignored: /tree is no layer)" "0/0" \
    "$(field /srv/data/owned 2)"
fi
# A recorded owner (what single-id builds leave on a layer, sandbox/owner_recorder.h) is the
# image's owner in either mode (SquashfsTest checks the record is not in the image).
if python3 -c 'import os, sys; os.setxattr(sys.argv[1], "user.imager.owner", b"7:8")' \
  "$T/tree/usr/bin/suid" 2>/dev/null; then
  in_root --bind "$T/tree:/tree:ro" --bind "$T/out:/out" --bind "$T/imager:/.imager:ro" -- \
    /.imager internal write-squashfs /tree /out/rec.sqfs --source-date-epoch 0 >/dev/null
  rec=$(unsquashfs -lln "$T/out/rec.sqfs")
  assert_eq "recorded owner, setuid kept" "-rwsr-xr-x 7/8" \
    "$(echo "$rec" | awk '$6 == "squashfs-root/usr/bin/suid" { print $1, $2 }')"
  python3 -c 'import os, sys; os.removexattr(sys.argv[1], "user.imager.owner")' "$T/tree/usr/bin/suid"
fi
assert_eq "files the sandbox's root made are root's" "0/0" "$(field /usr/bin/suid 2)"
assert_eq "setuid kept" "-rwsr-xr-x" "$(field /usr/bin/suid 1)"
assert_eq "hard link keeps the setuid inode" "-rwsr-xr-x" "$(field /usr/bin/suid-link 1)"
assert_eq "symlink" "suid" "$(echo "$ls" | awk '$6 == "squashfs-root/usr/bin/suid-sym" { print $8 }')"
assert_eq "times clamped" "1970-01-01 00:00" "$(field /srv/data/owned 4) $(field /srv/data/owned 5)"

# security.capability as the booted image must see it: a v2 capability (no namespace root id)
# with cap_net_raw (bit 13) permitted and effective.
caps=$(sqfs2tar "$T/out/img.sqfs" 2>/dev/null | python3 -c '
import struct, sys, tarfile
with tarfile.open(fileobj=sys.stdin.buffer, mode="r|") as t:
    for m in t:
        v = m.pax_headers.get("SCHILY.xattr.security.capability")
        if v is None:
            continue
        raw = v.encode("utf-8", "surrogateescape") if isinstance(v, str) else v
        magic, perm = struct.unpack_from("<II", raw)
        print(m.name, hex(magic & 0xff000000), "effective" if magic & 1 else "-",
              "net_raw" if perm & (1 << 13) else "-")')
assert_eq "file capability in the image" "usr/bin/capped 0x2000000 effective net_raw" "$caps"

# The same tree written twice gives the same image.
in_root --bind "$T/tree:/tree:ro" --bind "$T/out:/out" --bind "$T/imager:/.imager:ro" -- \
  /.imager internal write-squashfs /tree /out/again.sqfs --source-date-epoch 0 >/dev/null
assert_eq "rebuild is bit-identical" "$(sha256sum < "$T/out/img.sqfs")" \
  "$(sha256sum < "$T/out/again.sqfs")"
