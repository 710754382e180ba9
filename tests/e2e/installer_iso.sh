#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The installer ISO (profiles/debian-installer.yaml), built by the calling (unprivileged) user
# from the host's apt mirror:
#   1. the medium has the target image, the installer's two images and the offline repository
#      (the mirror's signed InRelease, grub-pc and grub-efi-amd64 in pool/); the target image
#      carries no installer, the installer image does;
#   2. Calamares with the generated configuration runs in imager's sandbox on the live session's
#      layers under a host Xvfb until its welcome page is up (screenshot kept with KEEP);
#   3. BIOS and UEFI (Secure Boot enforced): the ISO boots to Calamares, which
#      tests/lib/calamares_drive.py clicks through an install onto a blank disk; the installed
#      system (read with debugfs) has the user, host name and the firmware's boot loader from the
#      offline repository, and its disk alone boots to a login prompt;
#   4. changing only the branding rebuilds only the installer's config layer, its check and its
#      image, the initramfs and bootloader (they carry the medium's identity) and the ISO.
# Needs IMAGER (CTest sets it). KEEP=DIR keeps the ISO, logs and screenshots.
# Exit 77 (skip) when qemu, xorriso or Xvfb are missing.
set -euo pipefail
# shellcheck source=../lib/e2e.sh
source "$(dirname "$0")/../lib/e2e.sh"

# debugfs (e2fsprogs) is in sbin, which an unprivileged user's PATH may lack.
PATH=$PATH:/usr/sbin:/sbin
for tool in qemu-system-x86_64 xorriso unsquashfs Xvfb xwd debugfs python3; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (see dev/deps.txt)"
done
[ "$(id -u)" != 0 ] || [ -n "${IMAGER_ALLOW_ROOT:-}" ] ||
  fail "run this as an unprivileged user (tests/run.sh does)"

work=$(mktemp -d "${TMPDIR:-/tmp}/imager-installer-iso.XXXXXX")
cleanup() {
  [ -z "${KEEP:-}" ] || cp -r "$work"/*.log "$work"/*.png "$work"/*-shots "$work"/out/*.iso \
    "$KEEP"/ 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/profiles"
cp "$src/profiles/debian-installer.yaml" "$work/profiles/"
cp -r "$src/profiles/keys" "$work/profiles/"
profile=$work/profiles/debian-installer.yaml
build() {  # build LOG [imager build options]
  local log=$1
  shift
  "$IMAGER" build "$profile" -o "$work/out" "$@" >"$work/$log" 2>"$work/$log.err" || {
    tail -40 "$work/$log.err"
    fail "imager build $* (log: $work/$log.err)"
  }
}
start=$SECONDS
build build.log
echo "built in $((SECONDS - start)) s"
iso=$work/out/debian-installer.iso

# --- 1. what the medium carries --------------------------------------------------------------
(cd "$work/out" && sha256sum -c SHA256SUMS >/dev/null) || fail "SHA256SUMS does not match the ISO"
xorriso -indev "$iso" -find / -type f 2>/dev/null | tr -d "'" | sort >"$work/files.txt"
for f in /live/filesystem.squashfs /live/installer.squashfs /live/installer-config.squashfs \
  /dists/bookworm/InRelease; do
  grep -qx "$f" "$work/files.txt" || fail "the medium has no $f"
done
for p in grub-pc grub-efi-amd64; do
  grep -q "^/pool/main/.*/${p}_.*_amd64.deb$" "$work/files.txt" ||
    fail "the offline repository has no $p"
done
grep -q '^/dists/bookworm/main/binary-amd64/Packages' "$work/files.txt" ||
  fail "the offline repository has no Packages index"
pass "medium: 3 images, offline repository with $(grep -c '^/pool/.*\.deb$' "$work/files.txt") packages"
for image in filesystem installer; do
  xorriso -osirrox on -indev "$iso" -extract "/live/$image.squashfs" "$work/$image.squashfs" \
    >/dev/null 2>&1 || fail "cannot extract $image.squashfs"
  unsquashfs -lls "$work/$image.squashfs" >"$work/$image.list" 2>/dev/null
done
if grep -q ' squashfs-root/usr/bin/calamares$' "$work/filesystem.list"; then
  fail "the target image contains Calamares"
fi
grep -q ' squashfs-root/usr/bin/calamares$' "$work/installer.list" ||
  fail "the installer image has no /usr/bin/calamares"
grep -q ' squashfs-root/boot/vmlinuz-' "$work/filesystem.list" || fail "the target has no kernel"
pass "the target image has no installer; the installer image has Calamares"
rm -f "$work"/*.squashfs

# --- 2. Calamares on the live session's layers, under Xvfb -----------------------------------
CALAMARES_LOG=$work/calamares-xvfb.log bash "$src/tests/lib/calamares_xvfb.sh" \
  --profile "$profile" -o "$work/out" -- "$work/calamares-welcome.png" ||
  fail "Calamares did not bring up its welcome page (log: $work/calamares-xvfb.log)"
pass "Calamares' welcome page under Xvfb (screenshot calamares-welcome.png)"

# --- 3. install onto a blank disk (BIOS and UEFI at once), then boot the installed system ----
# tests/lib/calamares_drive.py clicks through Calamares (QMP pointer events on a USB tablet) and
# waits for its "completion: succeeded"; each firmware gets its own machine and 8 GiB disk. Under
# TCG an install takes about 15 minutes (most of it update-initramfs), so both run together.
install() {  # install NAME DRIVER-OPTIONS [imager boot options]; leaves NAME.status
  local name=$1 drive_opts=$2 t0=$SECONDS rc=0
  shift 2
  truncate -s 8G "$work/$name.raw"
  "$IMAGER" boot "$@" "$iso" --disk "$work/$name.raw" --tablet --qmp "$work/$name.qmp" \
    --no-network --timeout "${INSTALL_TIMEOUT:-3000}" --log "$work/$name.log" \
    >"$work/$name.boot" 2>&1 &
  local qemu=$!
  # shellcheck disable=SC2086 # drive_opts: words
  python3 "$src/tests/lib/calamares_drive.py" --qmp "$work/$name.qmp" --serial "$work/$name.log" \
    --shots "$work/$name-shots" --install-timeout "${INSTALL_TIMEOUT:-3000}" $drive_opts \
    >"$work/$name.drive" 2>&1 || rc=$?
  wait "$qemu" || rc=$((rc ? rc : 2))
  echo "$rc $((SECONDS - t0))" >"$work/$name.status"
}
# BIOS boots the menu's "load into RAM" entry: the booter releases the medium, unpackfs reads the
# RAM copy of the target image and the offline repository is found again on the CD drive.
install bios --ram-entry --memory 3072 &
bios_job=$!
# UEFI boots the installer with Secure Boot enforced where OVMF has it (Microsoft's keys; the
# medium's shim, GRUB and kernel are Debian's signed ones); grub-install then puts shim and the
# signed GRUB on the installed system's ESP, whose disk boots under Secure Boot below.
secure_boot=
if [ -r /usr/share/OVMF/OVMF_CODE_4M.secboot.fd ] && [ -r /usr/share/OVMF/OVMF_VARS_4M.ms.fd ]; then
  secure_boot=--secure-boot
fi
install uefi "" --uefi $secure_boot &
uefi_job=$!
wait $bios_job $uefi_job || true

# The root filesystem's byte offset: the largest partition of an MBR or GPT disk.
root_offset() {
  python3 -c '
import struct, sys
d = open(sys.argv[1], "rb")
mbr = d.read(512)
parts = [struct.unpack_from("<4xB3xII", mbr, 446 + 16 * i) for i in range(4)]
if any(t == 0xEE for t, _, _ in parts):
    d.seek(512); hdr = d.read(92)
    lba, count, size = struct.unpack_from("<QII", hdr, 72)
    d.seek(lba * 512); table = d.read(count * size)
    parts = [(1, *struct.unpack_from("<QQ", table, i * size + 32)) for i in range(count)]
    parts = [(t, first, last - first + 1) for t, first, last in parts if first]
best = max((p for p in parts if p[0] and p[2]), key=lambda p: p[2])
print(best[1] * 512)' "$1"
}
installed_file() {  # installed_file NAME PATH: a file of the installed system (debugfs, no mount)
  debugfs -R "cat $2" "$work/$1.raw?offset=$(root_offset "$work/$1.raw")" 2>/dev/null
}
for name in bios uefi; do
  [ -s "$work/$name.status" ] || fail "$name: the install job ended without a status"
  read -r rc secs <"$work/$name.status"
  if [ "$rc" != 0 ]; then
    tail -30 "$work/$name.log" 2>/dev/null || true
    cat "$work/$name.drive" "$work/$name.boot"
    fail "$name: the install did not complete (screendumps: $work/$name-shots)"
  fi
  for req in partitions storage ram; do
    grep -aq "requirement [0-9] \"$req\" satisfied? true" "$work/$name.log" ||
      fail "$name: Calamares' requirement '$req' is not met with a blank disk attached"
  done
  pass "$name: Calamares installed onto the blank disk in $secs s"
  if [ $name = uefi ] && [ -n "$secure_boot" ]; then
    grep -aq 'imager-booter: firmware: UEFI, kernel lockdown: none \[integrity\]' "$work/uefi.log" ||
      fail "uefi: the installer's kernel is not locked down ($(grep -a 'firmware:' "$work/uefi.log"))"
    pass "uefi: the installer booted with Secure Boot enforced (kernel lockdown [integrity])"
  fi
  if [ $name = bios ]; then
    grep -aq 'toram: medium released' "$work/$name.log" || fail "bios: not booted into RAM"
    grep -aq 'offline-repo: the medium found again on /dev/' "$work/$name.log" ||
      fail "bios: the offline repository was not found again after toram"
    pass "bios: installed from RAM (the medium released, found again for the offline repository)"
  fi
  # What Calamares wrote: the user, the host name, the offline boot loader of this firmware,
  # the live consoles for GRUB, no installer and no leftover of the offline repository.
  installed_file $name /etc/hostname | grep -qx imagerbox || fail "$name: /etc/hostname"
  installed_file $name /etc/passwd | grep -q '^tester:x:1000:' || fail "$name: no user tester"
  installed_file $name /etc/group | grep -q '^sudo:.*tester' || fail "$name: tester not in sudo"
  installed_file $name /var/lib/dpkg/status >"$work/$name.status-db"
  want=grub-pc other=grub-efi-amd64
  [ $name = bios ] || { want=grub-efi-amd64 other=grub-pc; }
  grep -A1 -x "Package: $want" "$work/$name.status-db" | grep -q 'install ok installed' ||
    fail "$name: $want was not installed from the offline repository"
  if grep -A1 -x "Package: \(calamares\|$other\)" "$work/$name.status-db" | grep -q 'ok installed'
  then
    fail "$name: the installed system has calamares or $other"
  fi
  installed_file $name /etc/default/grub.d/imager-console.cfg | grep -q 'console=ttyS0' ||
    fail "$name: the live consoles were not carried to GRUB"
  [ -z "$(installed_file $name /etc/apt/sources.list.d/imager-offline.list)" ] ||
    fail "$name: the offline repository is still in the installed system's sources"
  pass "$name: the installed system has user tester, host imagerbox, $want, no calamares"
done
# The installed disks alone, both at once, each with a fresh variable store: UEFI starts the
# removable path (EFI/BOOT/BOOTX64.EFI). Under Secure Boot that must be shim (Microsoft's
# signature), then Debian's signed GRUB and kernel: the installed system proves it from inside
# with the kernel's lockdown.
boot_installed() {  # boot_installed NAME EXPECT [imager boot options]; leaves NAME-disk.status
  local name=$1 expect=$2 t0=$SECONDS rc=0
  shift 2
  # The image first: --send takes every word up to the next option.
  "$IMAGER" boot "$work/$name.raw" --as-disk --no-network --expect "$expect" \
    --timeout "${BOOT_TIMEOUT:-900}" --log "$work/$name-disk.log" "$@" \
    >/dev/null 2>"$work/$name-disk.err" || rc=$?
  echo "$rc $((SECONDS - t0))" >"$work/$name-disk.status"
}
boot_installed bios 'imagerbox login:' &
bios_job=$!
if [ -n "$secure_boot" ]; then
  # shellcheck disable=SC2016 # expanded by the guest's shell
  checks='echo "lockdown: $(cat /sys/kernel/security/lockdown)"; echo CHECKS-$((40+2))'
  boot_installed uefi '^CHECKS-42' --uefi --secure-boot --send 'imagerbox login: *$' tester \
    --send 'Password: *$' tester1 --send '[$] *$' "$checks" &
else
  boot_installed uefi 'imagerbox login:' --uefi &
fi
uefi_job=$!
wait $bios_job $uefi_job || true
for name in bios uefi; do
  read -r rc secs <"$work/$name-disk.status" || fail "$name: the disk boot left no status"
  [ "$rc" = 0 ] || {
    tail -30 "$work/$name-disk.log" 2>/dev/null || true
    cat "$work/$name-disk.err"
    grep -a 'efi-removable:' "$work/uefi.log" | tr -d '\r' | sort -u || true
    fail "$name: the installed disk did not boot to a login prompt"
  }
  pass "$name: the installed disk boots to 'imagerbox login:' in $secs s (beside the other)"
  rm -f "$work/$name.raw"
done
if [ -n "$secure_boot" ]; then
  lockdown=$(guest_answer "$work/uefi-disk.log" lockdown)
  case "$lockdown" in
    *'[integrity]'* | *'[confidentiality]'*) ;;
    *) fail "uefi: the installed system is not locked down under Secure Boot ('$lockdown')" ;;
  esac
  pass "uefi: the installed system boots under Secure Boot from a fresh variable store (shim at the removable path, lockdown $lockdown)"
fi

# --- 4. a branding change rebuilds only what shows it ----------------------------------------
# A name no earlier run used: the user's cache may hold the stages of an earlier rebranding.
sed -i "s/product_name: Debian (Imager)/product_name: Debian (Imager) $(date +%s%N)/" "$profile"
build rebrand.log --json
ran=$(python3 -c '
import json, sys
print(" ".join(sorted(e["stage"] for e in map(json.loads, open(sys.argv[1]))
                      if e.get("event") == "stage_done")))' "$work/rebrand.log")
want="bootloader initramfs installer-check installer-config installer-config-squashfs iso"
[ "$ran" = "$want" ] || fail "a branding change rebuilt: $ran (expected: $want)"
pass "branding change rebuilt only: $ran"
