# SPDX-License-Identifier: GPL-3.0-or-later
# imager iso reads xorriso-made hybrid ISOs without mounting, as an unprivileged user: inspect
# names the El Torito BIOS and UEFI entries, the isohybrid MBR, the GPT and the appended ESP, the
# boot configurations and the layout; ls, cat and extract give Rock Ridge names, modes and
# symlinks (a symlink loop among them, created as it is). Hostile images (a Rock Ridge name
# rewritten to '..' or 'a/c', a symlink a directory would be extracted through, a truncated
# image) fail with a clear error and write nothing outside DEST.
source "$TESTLIB"
for tool in xorriso mkfs.fat mcopy python3; do
  PATH=$PATH:/usr/sbin command -v $tool >/dev/null || { echo "SKIP: $tool missing (dev/deps.txt)"; exit 77; }
done
[ -r /usr/lib/ISOLINUX/isolinux.bin ] || { echo "SKIP: isolinux missing (dev/deps.txt)"; exit 77; }
cd "$T"

# The tree: Rock Ridge names, modes, symlinks, a BIOS loader and its config, an ESP image.
src=$T/src
mkdir -p "$src/isolinux" "$src/EFI/BOOT" "$src/boot/grub" "$src/a/b" "$src/esd" "$src/live" "$src/.disk"
cp /usr/lib/ISOLINUX/isolinux.bin "$src/isolinux/"
echo "default live" > "$src/isolinux/isolinux.cfg"
echo "menuentry live {}" > "$src/boot/grub/grub.cfg"
echo "Debian GNU/Linux fixture" > "$src/.disk/info"
printf 'hello\n' > "$src/a/b/Mixed Case Name.txt"
printf '#!/bin/sh\n' > "$src/a/tool" && chmod 0750 "$src/a/tool"
printf 'secret\n' > "$src/a/b/secret" && chmod 0600 "$src/a/b/secret"
printf 'dots\n' > "$src/a/xx"
printf 'slash\n' > "$src/a/abc"
ln -s "b/Mixed Case Name.txt" "$src/a/link"
ln -s /etc/passwd "$src/a/abs"
ln -s loop2 "$src/a/loop1" && ln -s loop1 "$src/a/loop2"  # a symlink loop: never followed
ln -s "$T/outside" "$src/esc"  # a directory named esc (patched below) would go through it
printf 'through\n' > "$src/esd/file"
touch -d @1700000000 "$src/a/tool"
PATH=$PATH:/usr/sbin mkfs.fat -C efi.img 2048 >/dev/null
mmd -i efi.img ::/EFI ::/EFI/BOOT
mcopy -i efi.img "$src/boot/grub/grub.cfg" ::/EFI/BOOT/grub.cfg
(cd "$src" && sha256sum isolinux/isolinux.cfg a/tool > sha256sum.txt)

mkiso() {  # mkiso OUT EXTRA...
  local out=$1
  shift
  xorriso -as mkisofs -R -J -V FIXTURE_LIVE -o "$out" -b isolinux/isolinux.bin -c isolinux/boot.cat \
    -no-emul-boot -boot-load-size 4 -boot-info-table "$@" "$src" > "$T/xorriso.log" 2>&1 ||
    { cat "$T/xorriso.log"; fail "xorriso failed"; }
}
mkiso hybrid.iso -isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin -eltorito-alt-boot \
  -e --interval:appended_partition_2:all:: -no-emul-boot -append_partition 2 0xef efi.img
mkiso gpt.iso -isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin -eltorito-alt-boot \
  -e --interval:appended_partition_2:all:: -no-emul-boot -isohybrid-gpt-basdat \
  -append_partition 2 0xef efi.img

# inspect: the boot setup as xorriso reports it.
"$IMAGER" iso inspect --json hybrid.iso > hybrid.json || fail "inspect hybrid.iso failed"
"$IMAGER" iso inspect --json gpt.iso > gpt.json || fail "inspect gpt.iso failed"
q() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$@"; }
assert_eq "volume id" FIXTURE_LIVE "$(q hybrid.json 'j["volume_id"]')"
assert_eq "El Torito entries" "BIOS none 4 /isolinux/isolinux.bin|UEFI none appended partition 2" \
  "$(q hybrid.json '"|".join(" ".join(x for x in [e["platform"], e["emulation"], str(e["load_sectors"]) if e["platform"] == "BIOS" else "", e["image"]] if x) for e in j["el_torito"])')"
xorriso -indev hybrid.iso -report_el_torito plain 2> /dev/null > report.txt
bios_lba=$(awk '/El Torito boot img : +1 +BIOS/ { print $NF }' report.txt)
assert_eq "BIOS image LBA as xorriso reports it" "$bios_lba" "$(q hybrid.json 'j["el_torito"][0]["lba"]')"
assert_eq "MBR: the ESP as partition 2" "2 0xef" "$(q hybrid.json '" ".join(str(p["number"]) + " " + p["type"] for p in j["mbr"] if p["type"] == "0xef")')"
assert_eq "hybrid.iso has no GPT" 0 "$(q hybrid.json 'len(j["gpt"])')"
assert_eq "gpt.iso: GPT partitions" 2 "$(q gpt.json 'len(j["gpt"])')"
assert_eq "gpt.iso: the ESP's GPT start is the UEFI entry's" "True" \
  "$(q gpt.json 'j["gpt"][1]["start"] == 4 * j["el_torito"][1]["lba"]')"
assert_eq "boot configs (the ESP's too)" "/isolinux/isolinux.cfg /boot/grub/grub.cfg ESP:/EFI/BOOT/grub.cfg" "$(q hybrid.json '" ".join(j["boot_configs"])')"
assert_eq "ESP image" "appended partition 2" "$(q hybrid.json 'j["esp_image"]')"
assert_eq "layout" debian-live "$(q hybrid.json 'j["layout"]')"
assert_eq "sha256sum.txt verified" "True" "$(q hybrid.json 'j["checksums"][0]["ok"]')"
text=$("$IMAGER" iso inspect hybrid.iso)
assert_contains "text: UEFI entry" "UEFI, emulation none" "$text"
# isomd5sum's implant, verified as checkisomd5 does; a changed byte fails inspect (exit 1).
if command -v implantisomd5 >/dev/null && command -v checkisomd5 >/dev/null; then
  cp hybrid.iso md5.iso
  implantisomd5 md5.iso > /dev/null && checkisomd5 md5.iso > /dev/null 2>&1 || fail "isomd5sum rejects md5.iso"
  assert_contains "isomd5sum verified" "isomd5sum (primary volume descriptor): OK" "$("$IMAGER" iso inspect md5.iso)"
  python3 -c "import sys; d = bytearray(open(sys.argv[1], 'rb').read()); i = d.find(b'default live'); d[i] ^= 0x20; open(sys.argv[1], 'wb').write(d)" md5.iso
  checkisomd5 md5.iso > /dev/null 2>&1 && fail "checkisomd5 accepts a changed md5.iso"
  rc=0
  "$IMAGER" iso inspect md5.iso > md5.txt || rc=$?
  assert_eq "a changed byte: inspect exit code" 1 "$rc"
  assert_contains "a changed byte: isomd5sum fails" "isomd5sum (primary volume descriptor): FAILED" "$(cat md5.txt)"
else
  echo "note: isomd5sum missing, its implant is not checked here (dev/deps.txt)"
fi

# ls, cat: Rock Ridge names, modes, symlink targets.
ls_out=$("$IMAGER" iso ls -l hybrid.iso /a)
assert_contains "ls: mode of a 0750 file" "-rwxr-x---" "$(grep ' tool$' <<<"$ls_out")"
assert_contains "ls: symlink target" "link -> b/Mixed Case Name.txt" "$ls_out"
assert_contains "ls: Rock Ridge name" "Mixed Case Name.txt" "$("$IMAGER" iso ls hybrid.iso a/b)"
assert_eq "cat" hello "$("$IMAGER" iso cat hybrid.iso "/a/b/Mixed Case Name.txt")"
"$IMAGER" iso cat hybrid.iso /nope 2> err.txt && fail "cat of a missing file succeeded"
assert_contains "cat: the error names the image and the path" "hybrid.iso: /nope: no such file" "$(cat err.txt)"

# extract: the same names, contents, modes and symlinks as the source tree.
"$IMAGER" iso extract hybrid.iso out || fail "extract failed"
listing() { (cd "$1" && find . -path ./isolinux/boot.cat -prune -o -printf '%M %s %p %l\n' | sort); }
diff <(listing "$src") <(listing out) > diff.txt || { cat diff.txt; fail "extracted tree differs"; }
pass "extracted tree = source tree ($(listing out | wc -l) entries: modes, sizes, symlinks)"
assert_eq "mtime kept" 1700000000 "$(stat -c %Y out/a/tool)"
[ ! -e "$T/outside" ] || fail "extraction wrote through a symlink"
"$IMAGER" iso extract hybrid.iso part /a/b/secret || fail "extract of one path failed"
assert_eq "one path with its parents" secret "$(cat part/a/b/secret)"

# Hostile images. patch FILE FROM TO: the first FROM (python bytes literal) replaced by TO.
patch() {
  python3 - "$@" <<'EOF'
import sys
path, old, new = sys.argv[1], eval(sys.argv[2]), eval(sys.argv[3])
data = open(path, 'rb').read()
at = data.find(old)
assert at >= 0 and len(old) == len(new), (old, new)
open(path, 'wb').write(data[:at] + new + data[at + len(old):])
EOF
}
# Each extracts into an empty directory of its own, h/DEST: nothing may appear beside DEST.
expect_refused() {  # expect_refused ISO DEST NEEDLE
  local rc=0
  rm -rf "$T/h" && mkdir "$T/h"
  "$IMAGER" iso extract "$1" "$T/h/$2" 2> err.txt || rc=$?
  assert_eq "$1: exit code" 1 "$rc"
  assert_contains "$1: error" "$3" "$(cat err.txt)"
  assert_eq "$1: nothing written beside DEST" "$2" "$(ls -A "$T/h")"
  [ ! -e "$T/outside" ] || fail "$1: written through a symlink"
  [ ! -e "$T/dots" ] && [ ! -e "$T/h/c" ] || fail "$1: a file escaped DEST"
}
cp hybrid.iso dots.iso
patch dots.iso "b'NM\x07\x01\x00xx'" "b'NM\x07\x01\x00..'"
expect_refused dots.iso d1 "/a: an entry named '..' is refused"
cp hybrid.iso slash.iso
patch slash.iso "b'NM\x08\x01\x00abc'" "b'NM\x08\x01\x00a/c'"
expect_refused slash.iso d2 "/a: an entry named 'a/c' is refused"
"$IMAGER" iso ls slash.iso /a > /dev/null 2>&1 && fail "ls of a hostile directory succeeded"
cp hybrid.iso through.iso
patch through.iso "b'NM\x08\x01\x00esd'" "b'NM\x08\x01\x00esc'"
expect_refused through.iso d3 "through.iso: /esc: open the directory in $T/h/d3: Not a directory"
# Cut through isolinux.bin: the directories are whole, a file's data is not.
head -c $(((bios_lba + 2) * 2048)) hybrid.iso > truncated.iso
rc=0
"$IMAGER" iso extract truncated.iso d4 2> err.txt || rc=$?
assert_eq "truncated: exit code" 1 "$rc"
assert_contains "truncated: a clear error" "truncated.iso: " "$(cat err.txt)"
assert_contains "truncated: says so" "truncated" "$(cat err.txt)"
"$IMAGER" iso inspect truncated.iso > trunc.txt 2>&1 || true
assert_contains "inspect of a truncated image warns" "truncated" "$(cat trunc.txt)"
head -c 1000 hybrid.iso > tiny.iso
"$IMAGER" iso inspect tiny.iso 2> err.txt && fail "inspect of a 1000-byte file succeeded"
assert_contains "not an ISO" "tiny.iso: not an ISO 9660 image" "$(cat err.txt)"
rc=0
"$IMAGER" iso extract 2> /dev/null || rc=$?
assert_eq "usage error exit code" 2 "$rc"
