#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The default profile's live ISO, built by the calling (unprivileged) user from the host's apt
# mirror and booted in QEMU (TCG):
#   1. the ISO and SHA256SUMS are there; xorriso sees a BIOS and a UEFI El Torito entry, an MBR
#      and a GPT with the ESP;
#   2. BIOS (isolinux) boots to the login prompt on the serial console;
#   3. UEFI with Secure Boot enforced (OVMF secboot, Microsoft's keys; shim, GRUB) boots to the
#      login prompt, and from inside: the kernel is locked down, the booter's modules loaded;
#   4. the same ISO written to a disk (dd) boots from a USB stick under UEFI;
#   5. a medium whose identity file says another build is refused with the booter's message;
#   6. rebuilding everything after the rootfs gives the same bytes;
#   7. the edit loop: a changed host name rebuilds only the layers above the packages, their
#      small images, the initramfs, the bootloader and the ISO (the packages' image is reused);
#      then one package added with --incremental goes on the packages layer as a layer and an
#      image of its own (the packages' layer and image reused); the new ISO boots under BIOS
#      with the new name at its login prompt and the added package's program;
#   8. boot.signing with Debian ovmf's snakeoil key rebuilds only the tools, the bootloader and
#      the ISO; firmware trusting only that key (OVMF_VARS_4M.snakeoil.fd, Secure Boot) refuses
#      the ISO before and boots the signed one to its login prompt with the kernel locked down.
# Needs IMAGER (CTest sets it); the package cache is the user's (shared with other tests).
# KEEP=DIR keeps the ISO and the serial logs. Exit 77 (skip) when qemu or xorriso are missing.
set -euo pipefail
# shellcheck source=../lib/e2e.sh
source "$(dirname "$0")/../lib/e2e.sh"

for tool in qemu-system-x86_64 xorriso; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (see dev/deps.txt)"
done
[ "$(id -u)" != 0 ] || [ -n "${IMAGER_ALLOW_ROOT:-}" ] ||
  fail "run this as an unprivileged user (tests/run.sh does)"

work=$(mktemp -d "${TMPDIR:-/tmp}/imager-live-iso.XXXXXX")
cleanup() {
  [ -z "${KEEP:-}" ] || cp "$work"/*.log "$work"/out/*.iso "$KEEP"/ 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# The shipped profile as it is, in a directory this user may write its lock into.
mkdir -p "$work/profiles"
cp "$src/profiles/debian-live.yaml" "$work/profiles/"
cp -r "$src/profiles/keys" "$work/profiles/"
build() {
  "$IMAGER" build "$work/profiles/debian-live.yaml" -o "$work/out" "$@" >"$work/build.log" 2>&1 ||
    {
      tail -40 "$work/build.log"
      fail "imager build $* (log: $work/build.log)"
    }
}
start=$SECONDS
build
echo "built in $((SECONDS - start)) s"
iso=$work/out/debian-live.iso

# --- 1. what was written ------------------------------------------------------------------------
[ -s "$iso" ] || fail "no $iso"
(cd "$work/out" && sha256sum -c SHA256SUMS >/dev/null) || fail "SHA256SUMS does not match the ISO"
xorriso -indev "$iso" -report_el_torito plain >"$work/eltorito.txt" 2>&1 || true
grep -q "El Torito boot img :   1  BIOS" "$work/eltorito.txt" || {
  cat "$work/eltorito.txt"
  fail "no BIOS El Torito entry"
}
grep -q "El Torito boot img :   2  UEFI" "$work/eltorito.txt" || {
  cat "$work/eltorito.txt"
  fail "no UEFI El Torito entry"
}
xorriso -indev "$iso" -report_system_area plain >"$work/sysarea.txt" 2>&1 || true
grep -q "GPT partition name" "$work/sysarea.txt" || grep -q "GPT type GUID" "$work/sysarea.txt" ||
  {
    cat "$work/sysarea.txt"
    fail "no GPT in the system area"
  }
grep -qi "MBR partition" "$work/sysarea.txt" || fail "no MBR partition table"
# An image per layer, stacked by the booter (stages/iso_stages.h, LayeredMedium).
images=$("$IMAGER" iso ls "$iso" /live | awk '/\.squashfs$/ { print $NF }' | sort | tr '\n' ' ')
[ "$images" = "config.squashfs filesystem.squashfs users.squashfs " ] ||
  fail "the medium's images are '$images', not the packages' and one per layer above them"
pass "ISO $(du -h "$iso" | cut -f1) with BIOS and UEFI entries, MBR and GPT, SHA256SUMS, images: $images"

# --- 2.-3. boot to a login prompt ------------------------------------------------------------------
boot() {  # boot NAME EXPECT [imager boot options]
  local name=$1 expect=$2
  shift 2
  local t0=$SECONDS
  "$IMAGER" boot "$@" --expect "$expect" --timeout "${BOOT_TIMEOUT:-900}" \
    --log "$work/$name.log" >/dev/null 2>"$work/$name.err" || {
    tail -30 "$work/$name.log" 2>/dev/null || true
    cat "$work/$name.err"
    fail "$name: no match for '$expect'"
  }
  pass "$name: '$expect' after $((SECONDS - t0)) s"
}
# Two boots at a time (each QEMU is one TCG thread): a failing one has said why (boot), and
# `together` fails the test after both are done.
together() {  # together PID...
  local pid rc=0
  for pid in "$@"; do wait "$pid" || rc=1; done
  [ "$rc" = 0 ] || fail "a boot failed (see above)"
}
# UEFI with Secure Boot enforced (OVMF's Secure Boot build, Microsoft's keys enrolled): shim, GRUB
# and the kernel are Debian's signed ones; the booter loads squashfs, overlay and isofs as signed
# modules under the kernel's lockdown, or the live system would never come up. From inside: the
# lockdown Debian's kernel turns on only when the firmware says Secure Boot is on, and the modules.
secure_boot=""
[ -r /usr/share/OVMF/OVMF_CODE_4M.secboot.fd ] && [ -r /usr/share/OVMF/OVMF_VARS_4M.ms.fd ] &&
  secure_boot=1
boot bios 'login:' "$iso" &
bios_pid=$!
if [ -n "$secure_boot" ]; then
  # shellcheck disable=SC2016 # expanded by the guest's shell
  checks='echo "lockdown: $(cat /sys/kernel/security/lockdown)";'
  # shellcheck disable=SC2016
  checks+=' echo "modules: $(grep -cE "^(squashfs|overlay|isofs) " /proc/modules)"; echo CHECKS-$((40+2))'
  boot uefi-sb '^CHECKS-42' --secure-boot "$iso" --send 'login: *$' live --send 'Password: *$' live \
    --send '[$] *$' "$checks" &
else
  boot uefi 'login:' --uefi "$iso" &
fi
together "$bios_pid" $!
grep -aq 'imager-booter: firmware: BIOS, kernel lockdown: \[none\]' "$work/bios.log" ||
  fail "bios: the booter did not report BIOS and no lockdown ($(grep -a 'firmware:' "$work/bios.log"))"
if [ -n "$secure_boot" ]; then
  answer() { guest_answer "$work/uefi-sb.log" "$1"; }
  answer lockdown | grep -Eq '\[(integrity|confidentiality)\]' ||
    fail "uefi-sb: the kernel is not locked down ($(answer lockdown))"
  grep -aq 'imager-booter: firmware: UEFI, kernel lockdown: none \[integrity\]' "$work/uefi-sb.log" ||
    fail "uefi-sb: the booter did not see the lockdown ($(grep -a 'firmware:' "$work/uefi-sb.log"))"
  [ "$(answer modules)" = 3 ] || fail "uefi-sb: squashfs, overlay and isofs not all loaded ($(answer modules))"
  pass "uefi-sb: Secure Boot enforced (lockdown $(answer lockdown | grep -o '\[[a-z]*\]')), the booter's modules loaded"
fi

# --- 4.-5. from a USB stick; the wrong medium (side by side) -------------------------------------
echo "someone-elses-build" >"$work/wrong-id"
xorriso -indev "$iso" -outdev "$work/wrong.iso" -boot_image any replay \
  -map "$work/wrong-id" /.imager-id >/dev/null 2>&1 || fail "xorriso could not make the wrong medium"
boot uefi-usb 'login:' --uefi --as-usb "$iso" &
usb_pid=$!
boot wrong-id 'BOOT FAILED' "$work/wrong.iso" &
together "$usb_pid" $!
grep -q 'wrong identity: /.imager-id holds "someone-elses-build"' "$work/wrong-id.log" || {
  grep imager-booter "$work/wrong-id.log"
  fail "the booter did not name the wrong identity"
}
rm -f "$work/wrong.iso"

# --- 6. the same bytes again ---------------------------------------------------------------------
first=$(cut -d' ' -f1 "$work/out/SHA256SUMS")
build --rebuild squashfs-packages --rebuild squashfs-config --rebuild squashfs-users --rebuild tools
second=$(cut -d' ' -f1 "$work/out/SHA256SUMS")
[ "$first" = "$second" ] || fail "rebuilt ISO differs: $first vs $second"
pass "rebuilt the images, initramfs, bootloader and ISO: same sha256 $first"

# --- 7. the edit loop ------------------------------------------------------------------------
# A name no earlier run used: the cache is the user's, and a warm one would hold its layers.
host=edited-$(date +%s)
sed -i "s/^  hostname: debian-live\$/  hostname: $host/" "$work/profiles/debian-live.yaml"
grep -q "^  hostname: $host\$" "$work/profiles/debian-live.yaml" ||
  fail "could not change the host name in the profile copy"
start=$SECONDS
build
took=$((SECONDS - start))
built=$(stages_built "$work/build.log" | tr ' ' '\n' | sort | tr '\n' ' ')
[ "$built" = "bootloader config initramfs iso squashfs-config squashfs-users users " ] || {
  tail -20 "$work/build.log"
  fail "a changed host name rebuilt '$built'"
}
[ "$took" -le 30 ] || fail "a changed host name took $took s to a new ISO"
pass "changed host name: a new ISO in $took s, rebuilt $built"
sed -i 's/^  include: \[linux-image-amd64, systemd-sysv\]$/  include: [linux-image-amd64, systemd-sysv, htop]/' \
  "$work/profiles/debian-live.yaml"
grep -q 'include: .*htop' "$work/profiles/debian-live.yaml" || fail "could not add htop to the profile copy"
start=$SECONDS
build --incremental
took=$((SECONDS - start))
summary=$(stages_summary "$work/build.log")
cached=" $(stages_cached "$work/build.log") "
stages=" $(stages_built "$work/build.log")$cached"
# The packages' layer and image reused (a warm cache may hold the added ones too).
[[ "$cached" == *" packages "* && "$cached" == *" squashfs-packages "* &&
  "$stages" == *" packages-added "* && "$stages" == *" squashfs-packages-added "* ]] || {
  tail -20 "$work/build.log"
  fail "--incremental did not add htop on the cached packages layer ($summary)"
}
grep -q "incremental: .* added on the last full build's packages (.*htop" "$work/build.log" ||
  fail "--incremental did not say what it added"
pass "one package (htop) added with --incremental: a new ISO in $took s ($summary)"
# boot.signing with Debian ovmf's test key: the ISO's shim and MokManager are signed with it
# (sbsigntool joins the tools), so firmware whose db trusts only that key (OVMF_VARS_4M.snakeoil.fd)
# boots it under Secure Boot; the ISO before, signed by Microsoft alone, it refuses.
snakeoil=/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd
signed=
if [ -r "$snakeoil" ] && [ -r /usr/share/ovmf/PkKek-1-snakeoil.key ] && command -v openssl >/dev/null; then
  cp "$iso" "$work/unsigned.iso"
  (umask 077 && openssl pkey -in /usr/share/ovmf/PkKek-1-snakeoil.key -passin pass:snakeoil \
    -out "$work/profiles/db.key") || fail "openssl: decrypting the snakeoil key"
  cp /usr/share/ovmf/PkKek-1-snakeoil.pem "$work/profiles/db.crt"
  sed -i 's/^  serial: ttyS0,115200$/  serial: ttyS0,115200\n  signing: {key: db.key, cert: db.crt}/' \
    "$work/profiles/debian-live.yaml"
  grep -q 'signing:' "$work/profiles/debian-live.yaml" || fail "could not add boot.signing"
  start=$SECONDS
  build --incremental
  built=" $(stages_built "$work/build.log") "
  [[ "$built" == *" bootloader "* && "$built" != *" squashfs-packages "* ]] ||
    fail "boot.signing rebuilt '$built'"
  grep -q "sbsign EFI/BOOT/BOOTX64.EFI (boot.signing): exited with 0" "$work/out/logs/bootloader.log" ||
    fail "the bootloader stage did not sign shim"
  pass "boot.signing: a new ISO in $((SECONDS - start)) s, rebuilt$built"
  signed=1
else
  echo "note: no snakeoil OVMF variables or key (package ovmf), or no openssl: boot.signing not tested"
fi
# The signed ISO is the edited one with htop: BIOS checks the edits, UEFI the signature.
# shellcheck disable=SC2016 # expanded by the guest's shell
boot bios-edited '^CHECKS-42' "$iso" --send "$host login: *\$" live --send 'Password: *$' live \
  --send '[$] *$' 'echo "htop: $(command -v htop)"; echo CHECKS-$((40+2))' &
pids=($!)
if [ -n "$signed" ]; then
  boot unsigned-snakeoil 'Access Denied' --secure-boot --uefi-vars "$snakeoil" "$work/unsigned.iso"
  pass "firmware trusting only the test key refuses the ISO signed by Microsoft alone"
  boot signed-snakeoil 'login:' --secure-boot --uefi-vars "$snakeoil" "$iso" &
  pids+=($!)
fi
together "${pids[@]}"
[ "$(guest_answer "$work/bios-edited.log" htop)" = /usr/bin/htop ] ||
  fail "the edited ISO has no htop ('$(guest_answer "$work/bios-edited.log" htop)')"
pass "the edited ISO logs in as $host and has htop"
if [ -n "$signed" ]; then
  grep -aq 'imager-booter: firmware: UEFI, kernel lockdown: none \[integrity\]' \
    "$work/signed-snakeoil.log" ||
    fail "signed-snakeoil: the booter's firmware line ($(grep -a 'firmware:' "$work/signed-snakeoil.log"))"
  pass "the ISO signed by boot.signing boots under Secure Boot with only the test key enrolled (lockdown on)"
fi
