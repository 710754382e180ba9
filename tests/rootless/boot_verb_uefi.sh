# SPDX-License-Identifier: GPL-3.0-or-later
# imager boot --uefi: OVMF (TCG) finds nothing to boot on a BIOS-only disk, says so on the serial
# console ("BdsDxe: failed to load Boot0001 ...") and starts its built-in UEFI shell, whose
# prompt (an unfinished line) is what --expect waits for; a PNG screendump is taken at the end.
source "$TESTLIB"
command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: qemu-system-x86_64 missing"; exit 77; }
ls /usr/share/OVMF/OVMF_CODE*.fd >/dev/null 2>&1 || { echo "SKIP: ovmf not installed"; exit 77; }

printf 'not bootable under UEFI\n' >"$T/disk.img"
truncate -s 1M "$T/disk.img"

mkdir "$T/run"  # imager's temporary directory (OVMF variables, QMP socket) goes there
start=$SECONDS
XDG_RUNTIME_DIR=$T/run "$IMAGER" boot --uefi --as-disk --memory 256 --cpus 1 --no-network --expect '^Shell> ' \
  --timeout 60 --log "$T/boot.log" --screendump "$T/screen.png" "$T/disk.img" >"$T/out" 2>"$T/err" ||
  fail "UEFI boot to the shell failed: $(cat "$T/err")"
echo "   took $((SECONDS - start)) s"
cat "$T/err"
assert_contains "OVMF's boot manager on the serial console" "BdsDxe: failed to load" "$(cat "$T/boot.log")"
assert_contains "UEFI shell started" "UEFI Interactive Shell" "$(cat "$T/boot.log")"
assert_eq "screendump is a PNG" "PNG" "$(head -c 4 "$T/screen.png" | tail -c 3)"
[ -z "$(ls -A "$T/run")" ] || fail "temporary directory left: $(ls -A "$T/run")"
pass "no temporary directory left"
pgrep -u "$(id -u)" -f "qemu-system-x86_64 .*$T/" && fail "a QEMU process is left over"
pass "no QEMU left"
echo PASS
