#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Checks of a disk image built by imager (output.formats: raw, qcow2), run by reproducible.sh on
# the image its first cold build wrote (so no build of its own), or by hand:
#   tests/e2e/disk_checks.sh out/debian-live/debian-live.raw [out/.../debian-live.qcow2]
#   1. the GPT has the BIOS boot partition, the ESP and the root (sfdisk reads it back);
#   2. the root (e2fsck -fn) and the ESP (fsck.fat -n) are clean, extracted with dd at their
#      offsets; the ESP has shim at the removable path;
#   3. the qcow2 has the raw image's content (qemu-img compare);
#   4. two boots side by side: the raw image to a login prompt under BIOS (SeaBIOS); the qcow2
#      (or the raw image), made 1 GiB larger through an overlay, under UEFI with Secure Boot
#      enforced (OVMF's secboot build, Microsoft's keys): it logs in over the serial console
#      and checks from inside that the kernel saw Secure Boot (the lockdown Debian's kernel turns
#      on for it) and that systemd-repart and x-systemd.growfs grew the root partition and
#      filesystem into the added space.
# Needs IMAGER. Exit 77 when a tool is missing. BOOT_TIMEOUT (s) bounds each boot.
set -euo pipefail
# shellcheck source=../lib/e2e.sh
source "$(dirname "$0")/../lib/e2e.sh"
raw=${1:?usage: disk_checks.sh DISK.raw [DISK.qcow2]}
qcow2=${2:-}
PATH=$PATH:/usr/sbin:/sbin # sfdisk, e2fsck, fsck.fat: also for users
for tool in qemu-system-x86_64 qemu-img sfdisk e2fsck fsck.fat mdir; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (see dev/deps.txt)"
done
[ -r /usr/share/OVMF/OVMF_CODE_4M.secboot.fd ] || skip "OVMF's Secure Boot build is missing (ovmf)"
user=live password=live # the default profile's user (profiles/debian-live.yaml)
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
debugfs -R "cat /etc/repart.d/50-imager-root.conf" "$work/root.ext4" 2>/dev/null |
  grep -q "^Type=root" || fail "the root has no repart.d file of imager's"
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
boot_bg() {  # boot_bg NAME EXPECT [imager boot options]: in the background; the pid is in pids
  local name=$1 expect=$2
  shift 2
  "$IMAGER" boot "$@" --memory 1024 --expect "$expect" --timeout "${BOOT_TIMEOUT:-900}" \
    --log "$work/$name.log" >"$work/$name.out" 2>&1 &
  pids+=($!)
}
# The disk as a user would grow it, without copying it: a qcow2 overlay 1 GiB larger.
base=${qcow2:-$raw}
root_mib=$(($(part 3 size) / 2048))
qemu-img create -q -f qcow2 -F "$([ -n "$qcow2" ] && echo qcow2 || echo raw)" \
  -b "$(realpath "$base")" "$work/grown.qcow2" "$(($(stat -c %s "$raw") + (1 << 30)))"
# One line typed after the login; each answer on a line of its own, the command line that
# echoes it does not match (CHECKS-$((40+2)) prints CHECKS-42).
# shellcheck disable=SC2016 # expanded by the guest's shell
checks='echo "lockdown: $(cat /sys/kernel/security/lockdown)";'
# shellcheck disable=SC2016
checks+=' echo "part: $(($(cat /sys/class/block/vda3/size) / 2048))";'
# shellcheck disable=SC2016
checks+=' echo "fs: $(df -B1M --output=size / | tail -1)"; echo CHECKS-$((40+2))'
boot_bg bios 'login:' "$raw"
boot_bg uefi-sb '^CHECKS-42' --secure-boot "$work/grown.qcow2" --send 'login: *$' "$user" \
  --send 'Password: *$' "$password" --send '[$] *$' "$checks"
failed=0
for i in 0 1; do
  name=$([ "$i" = 0 ] && echo bios || echo uefi-sb)
  if wait "${pids[$i]}"; then
    # login: when the user name was typed (--send 1), then the match
    pass "$name: $(grep -oE "(--send 1 .*typed|'[^']*' appeared) after [0-9.]* s" "$work/$name.out" |
      sed 's/--send 1 .*typed/login: typed/' | paste -sd ';' - || echo matched)"
  else
    tail -30 "$work/$name.log" 2>/dev/null || true
    cat "$work/$name.out"
    echo "FAIL: $name: no login prompt (or no answer to the checks)" >&2
    failed=1
  fi
done
pids=()
[ "$failed" = 0 ] || exit 1
answer() { guest_answer "$work/uefi-sb.log" "$1"; }
# Debian's kernel locks itself down ("integrity") when, and only when, the firmware says Secure
# Boot is on (efi: "Kernel is locked down from EFI Secure Boot mode"); the kernel's own "Secure
# boot enabled" is not on the console with the profile's "quiet", the user cannot read dmesg,
# and /sys/firmware/efi/efivars had no SecureBoot variable at the prompt (not looked into).
answer lockdown | grep -Eq '\[(integrity|confidentiality)\]' ||
  fail "uefi-sb: the kernel is not locked down ($(answer lockdown))"
part_mib=$(answer part) fs_mib=$(answer fs)
[ "${part_mib:-0}" -ge $((root_mib + 1000)) ] ||
  fail "uefi-sb: the root partition did not grow: ${part_mib:-?} MiB, was $root_mib MiB"
[ "${fs_mib:-0}" -ge $((root_mib + 900)) ] ||
  fail "uefi-sb: the root filesystem did not grow: ${fs_mib:-?} MiB in a ${part_mib} MiB partition"
pass "uefi-sb: Secure Boot enforced (kernel lockdown $(answer lockdown | grep -o '\[[a-z]*\]')); root grown from $root_mib to $part_mib MiB (filesystem $fs_mib MiB)"
pass "disk checks in $((SECONDS - start)) s"
