#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Checks of a disk image built by imager (output.formats: raw, qcow2), run by reproducible.sh on
# the image its first cold build wrote (so no build of its own), or by hand:
#   tests/e2e/disk_checks.sh out/debian-live/debian-live.raw [out/.../debian-live.qcow2]
#   1. the GPT has the BIOS boot partition, the ESP and the root (sfdisk reads it back);
#   2. the root (e2fsck -fn) and the ESP (fsck.fat -n) are clean, extracted with dd at their
#      offsets; the ESP has shim at the removable path;
#   3. the qcow2 has the raw image's content (qemu-img compare);
#   4. the raw image boots to a login prompt under BIOS (SeaBIOS) and UEFI (OVMF), side by side.
# Needs IMAGER. Exit 77 when a tool is missing. BOOT_TIMEOUT (s) bounds each boot.
set -euo pipefail
# shellcheck source=../lib/e2e.sh
source "$(dirname "$0")/../lib/e2e.sh"
raw=${1:?usage: disk_checks.sh DISK.raw [DISK.qcow2]}
qcow2=${2:-}
PATH=$PATH:/usr/sbin:/sbin # sfdisk, e2fsck, fsck.fat: also for users
for tool in qemu-system-x86_64 sfdisk e2fsck fsck.fat mdir; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (see dev/deps.txt)"
done
work=$(mktemp -d "${TMPDIR:-/tmp}/imager-disk.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -z "${KEEP:-}" ] || cp "$work"/*.log "$KEEP"/ 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
start=$SECONDS

# --- 1. the partition table -----------------------------------------------------------------------
sfdisk --json "$raw" >"$work/table.json" 2>"$work/sfdisk.err" || {
  cat "$work/sfdisk.err"
  fail "sfdisk cannot read the partition table of $raw"
}
[ ! -s "$work/sfdisk.err" ] || {
  cat "$work/sfdisk.err"
  fail "sfdisk complains about $raw"
}
part() {  # part N FIELD: a field of partition N from sfdisk's JSON
  python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["partitiontable"]
p=t["partitions"][int(sys.argv[2])-1]; print(p[sys.argv[3]])' "$work/table.json" "$1" "$2"
}
[ "$(part 1 type)" = 21686148-6449-6E6F-744E-656564454649 ] || fail "p1 is not a BIOS boot partition"
[ "$(part 2 type)" = C12A7328-F81F-11D2-BA4B-00A0C93EC93B ] || fail "p2 is not an ESP"
[ "$(part 3 type)" = 4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709 ] || fail "p3 is not an x86-64 root"
pass "GPT: BIOS boot, ESP, root ($(du -h --apparent-size "$raw" | cut -f1), $(du -h "$raw" | cut -f1) on disk)"

# --- 2. the filesystems -----------------------------------------------------------------------------
extract() {  # extract N FILE
  dd if="$raw" of="$2" bs=512 skip="$(part "$1" start)" count="$(part "$1" size)" \
    conv=sparse status=none
}
extract 3 "$work/root.ext4"
e2fsck -fn "$work/root.ext4" >"$work/e2fsck.log" 2>&1 || {
  cat "$work/e2fsck.log"
  fail "e2fsck -fn found problems in the root filesystem"
}
debugfs -R "cat /etc/fstab" "$work/root.ext4" 2>/dev/null | grep -q "x-systemd.growfs" ||
  fail "the root has no fstab of imager's"
rm -f "$work/root.ext4"
extract 2 "$work/esp.fat"
fsck.fat -n "$work/esp.fat" >"$work/fsck.fat.log" 2>&1 || {
  cat "$work/fsck.fat.log"
  fail "fsck.fat -n found problems in the ESP"
}
MTOOLS_SKIP_CHECK=1 mdir -i "$work/esp.fat" ::/EFI/BOOT/BOOTX64.EFI >/dev/null ||
  fail "the ESP has no EFI/BOOT/BOOTX64.EFI"
pass "e2fsck -fn and fsck.fat -n: clean; shim at EFI/BOOT/BOOTX64.EFI"

# --- 3. qcow2 --------------------------------------------------------------------------------------
if [ -n "$qcow2" ]; then
  qemu-img compare -f raw -F qcow2 "$raw" "$qcow2" >/dev/null || fail "$qcow2 differs from $raw"
  pass "qcow2: the same content as the raw image ($(du -h "$qcow2" | cut -f1))"
fi

# --- 4. boot -----------------------------------------------------------------------------------------
boot_bg() {  # boot_bg NAME [imager boot options]: in the background; the pid is in pids
  local name=$1
  shift
  "$IMAGER" boot "$@" --memory 1024 --expect 'login:' --timeout "${BOOT_TIMEOUT:-900}" \
    --log "$work/$name.log" >"$work/$name.out" 2>&1 &
  pids+=($!)
}
boot_bg bios "$raw"
boot_bg uefi --uefi "$raw"
failed=0
for i in 0 1; do
  name=$([ "$i" = 0 ] && echo bios || echo uefi)
  if wait "${pids[$i]}"; then
    pass "$name: $(grep -o "'login:' appeared after [0-9.]* s" "$work/$name.out" || echo login:)"
  else
    tail -30 "$work/$name.log" 2>/dev/null || true
    cat "$work/$name.out"
    echo "FAIL: $name: no login prompt" >&2
    failed=1
  fi
done
pids=()
[ "$failed" = 0 ] || exit 1
pass "disk checks in $((SECONDS - start)) s"
