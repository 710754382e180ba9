#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# A live ISO of an RPM distribution, built by the calling (unprivileged) user and booted in QEMU
# (TCG). The distribution is the fixture of tests/fixtures/rpm_distro.sh: Debian's binaries
# repackaged with rpmbuild in openEuler's layout (the kernel in /lib/modules/RELEASE/vmlinuz,
# shim and GRUB under /boot/efi/EFI/openEuler/, syslinux in /usr/share/syslinux/), every package
# signed, busybox as init. Checks:
#   1. the build verifies every signature (gpgcheck), the boot loaders come from the target's own
#      packages (the tools tree is unpacked from rpms) and the ISO has BIOS and UEFI entries;
#      the same fixture with Fedora's names (shim-x64, EFI/fedora/) builds too: the boot loaders
#      are asked for by their files;
#   2. the packages stage moved the rpmdb to where the image's own rpm reads it (the fixture's
#      rpm says /usr/lib/sysimage/rpm), and rpm -qa reads it there; in the booted system (3.) the
#      image's own rpm -qa lists the packages; a package added with --incremental goes into the
#      image's database by a transaction on top of the cached packages layer;
#   3. BIOS (isolinux) and UEFI with Secure Boot enforced (shim, GRUB) boot to the login prompt,
#      side by side; from the serial console: the fixture's kernel, the booter's firmware line;
#      the Fedora-named fixture's ISO after `imager iso edit --cmdline-add/--cmdline-remove` boots
#      under both with the edited command line (isolinux.cfg, the medium's grub.cfg and the ESP's);
#   4. a package whose payload was altered after signing stops the build before anything is
#      installed, naming the package.
# Needs IMAGER; the fixture's Debian packages are downloaded once into ~/.cache/imager-fixtures.
# KEEP=DIR keeps the ISO and the serial logs. Exit 77 (skip) when a tool is missing.
set -euo pipefail
# shellcheck source=../lib/e2e.sh
source "$(dirname "$0")/../lib/e2e.sh"
# shellcheck source=../fixtures/rpm_distro.sh
source "$src/tests/fixtures/rpm_distro.sh"

for tool in qemu-system-x86_64 xorriso rpmbuild rpmsign createrepo_c gpg unsquashfs; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (see dev/deps.txt)"
done
[ "$(id -u)" != 0 ] || [ -n "${IMAGER_ALLOW_ROOT:-}" ] ||
  fail "run this as an unprivileged user (tests/run.sh does)"

work=$(mktemp -d "${TMPDIR:-/tmp}/imager-rpm-live.XXXXXX")
cleanup() {
  [ -z "${KEEP:-}" ] || cp "$work"/*.log "$work"/out/*.iso "$KEEP"/ 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

start=$SECONDS
make_rpm_distro "$work/fx" >"$work/fixture.log" 2>&1 || {
  tail -30 "$work/fixture.log"
  fail "building the fixture distribution (log: $work/fixture.log)"
}
pass "fixture distribution in $((SECONDS - start)) s: $(find "$work/fx/repo" -name '*.rpm' | wc -l) signed rpms"

# profile NAME REPO-DIR [FIXTURE-DIR]: writes $work/NAME.yaml (the key: FIXTURE-DIR's, $work/fx's)
profile() {
  cat >"$work/$1.yaml" <<YAML
name: $1
description: RPM fixture live system (busybox init, console login)
distribution: {family: rpm, release: "1", arch: x86_64}
repositories:
  - {type: rpm-md, url: "file://$2", gpgcheck: true, repo_gpgcheck: false,
     keyring: ${3:-$work/fx}/RPM-GPG-KEY-fixture}
packages: {include: [kernel, setup, busybox, rpm]}
base: none
rootfs: {hostname: fixture-live}
boot: {cmdline: "imager.test=rpm", serial: "ttyS0,115200", bios: true, uefi: true}
output: {formats: [iso], volume_id: FIXTURE_LIVE, checksum: sha256}
YAML
}

# --- 1. the build -----------------------------------------------------------------------------
profile fixture-live "$work/fx/repo"
start=$SECONDS
"$IMAGER" build "$work/fixture-live.yaml" -o "$work/out" >"$work/build.log" 2>&1 || {
  tail -40 "$work/build.log"
  fail "imager build (log: $work/build.log)"
}
pass "built in $((SECONDS - start)) s"
iso=$work/out/fixture-live.iso
[ -s "$iso" ] || fail "no $iso"
(cd "$work/out" && sha256sum -c SHA256SUMS >/dev/null) || fail "SHA256SUMS does not match the ISO"
# The summary line names every stage, built or taken from the cache.
summary=$(stages_summary "$work/build.log")
for s in tools packages squashfs-packages squashfs-config initramfs bootloader iso; do
  [[ "$summary" =~ [(\ ]$s[\ )] ]] || fail "stage $s is not in the plan ($summary)"
done
# syslinux, shim, grub2-efi-x64, dosfstools, mtools, and glibc, which the last two need.
grep -q 'unpacked 6 packages' "$work/out/logs/tools.log" ||
  fail "the tools tree is not the 6 boot loader and ESP packages ($(grep unpacked "$work/out/logs/tools.log"))"
xorriso -indev "$iso" -report_el_torito plain >"$work/eltorito.txt" 2>&1 || true
for entry in 'El Torito boot img :   1  BIOS' 'El Torito boot img :   2  UEFI'; do
  grep -q "$entry" "$work/eltorito.txt" || {
    cat "$work/eltorito.txt"
    fail "no '$entry'"
  }
done
pass "ISO $(du -h "$iso" | cut -f1): $summary; BIOS and UEFI entries"

# A second cold build (another cache and output, TZ and umask) gives the same bytes.
(umask 077 && TZ=Asia/Shanghai "$IMAGER" build "$work/fixture-live.yaml" --cache-dir "$work/cache2" \
  -o "$work/out2" >"$work/build2.log" 2>&1) || {
  tail -20 "$work/build2.log"
  fail "the second cold build (log: $work/build2.log)"
}
cmp -s "$iso" "$work/out2/fixture-live.iso" ||
  fail "two cold builds differ: $(sha256sum "$iso" "$work/out2/fixture-live.iso")"
"$IMAGER" iso inspect "$iso" >"$work/inspect.txt" 2>&1 || {
  cat "$work/inspect.txt"
  fail "imager iso inspect"
}
grep -qi 'layout.*imager' "$work/inspect.txt" && grep -q 'ESP:/EFI/BOOT/grub.cfg' "$work/inspect.txt" || {
  cat "$work/inspect.txt"
  fail "imager iso inspect: not imager's layout, or no grub.cfg found in the ESP"
}
rm -rf "$work/cache2" "$work/out2"
pass "a second cold build (other cache, TZ, umask) has the same bytes; imager iso inspect reads it"

# --- 1b. Fedora's names: shim-x64, EFI/fedora/ ----------------------------------------------------
# The tools are asked for by the files they install (/boot/efi/EFI/*/shimx64.efi), so a
# distribution that names its packages otherwise builds too. Its ISO is the one step 3b edits
# and boots.
RPM_DISTRO_VENDOR=fedora RPM_DISTRO_SHIM=shim-x64 make_rpm_distro "$work/fxf" \
  >"$work/fixture-fedora.log" 2>&1 || {
  tail -30 "$work/fixture-fedora.log"
  fail "building the Fedora-named fixture distribution (log: $work/fixture-fedora.log)"
}
profile fixture-fedora "$work/fxf/repo" "$work/fxf"
"$IMAGER" build "$work/fixture-fedora.yaml" -o "$work/out-fedora" >"$work/build-fedora.log" 2>&1 || {
  tail -30 "$work/build-fedora.log"
  fail "imager build of the Fedora-named fixture (log: $work/build-fedora.log)"
}
tools=$(python3 -c 'import json, sys; print(" ".join(sorted(p["name"] for p in json.load(open(sys.argv[1]))["tools"])))' \
  "$work/fixture-fedora.lock")
[ "$tools" = "dosfstools glibc grub2-efi-x64 mtools shim-x64 syslinux" ] ||
  fail "the Fedora-named fixture's tools: '$tools'"
pass "Fedora's names (shim-x64, EFI/fedora/) resolve by the boot loaders' files: $tools"

# --- 2. the image's rpmdb, where the image's own rpm reads it -----------------------------------
# librpm writes /var/lib/rpm; the fixture's rpm (Debian's, configured as Fedora's) reads
# /usr/lib/sysimage/rpm, so the packages stage moves the database there and has that rpm list it.
grep -q "package database: /usr/lib/sysimage/rpm (sqlite, moved from /var/lib/rpm), 5 packages; the image's RPM version [0-9.]* lists them all" \
  "$work/out/logs/packages.log" || {
  grep -a 'package database\|rpm' "$work/out/logs/packages.log" | tail -5
  fail "the packages stage did not hand the database to the image's rpm"
}
xorriso -osirrox on -indev "$iso" -extract /live/filesystem.squashfs "$work/root.squashfs" \
  >/dev/null 2>&1 || fail "xorriso could not extract the root image"
unsquashfs -q -no-xattrs -d "$work/rootfs" "$work/root.squashfs" usr/lib/sysimage var >/dev/null ||
  fail "unsquashfs usr/lib/sysimage var"
[ ! -e "$work/rootfs/var/lib/rpm" ] || fail "/var/lib/rpm is still in the image"
qa=$(rpm --dbpath "$work/rootfs/usr/lib/sysimage/rpm" -qa --qf '%{NAME}\n' | sort | tr '\n' ' ')
[ "$qa" = "busybox glibc kernel rpm setup " ] || fail "rpm -qa on the image's database: '$qa'"
pass "the database is where the image's rpm reads it (/usr/lib/sysimage/rpm): $qa"
rm -rf "$work/rootfs" "$work/root.squashfs"

# --- 2b. a package added with --incremental: rpm on the installed system --------------------------
# mtools goes on the cached packages layer by one librpm transaction on the image's database,
# where the image's rpm reads it (asked before the transaction this time). The ISO booted in 3.
sed -i 's/^packages: {include: \[kernel, setup, busybox, rpm\]}$/packages: {include: [kernel, setup, busybox, rpm, mtools]}/' \
  "$work/fixture-live.yaml"
grep -q 'include: .*mtools' "$work/fixture-live.yaml" || fail "could not add mtools to the profile"
start=$SECONDS
"$IMAGER" build --incremental "$work/fixture-live.yaml" -o "$work/out" >"$work/build-inc.log" 2>&1 || {
  tail -30 "$work/build-inc.log"
  fail "imager build --incremental (log: $work/build-inc.log)"
}
cached=" $(stages_cached "$work/build-inc.log") "
built=" $(stages_built "$work/build-inc.log") "
[[ "$cached" == *" packages "* && "$built" == *" packages-added "* ]] ||
  fail "--incremental did not add mtools on the cached packages layer ($(stages_summary "$work/build-inc.log"))"
grep -q "package database: /usr/lib/sysimage/rpm (sqlite), 6 packages; the image's RPM version [0-9.]* lists them all" \
  "$work/out/logs/packages-added.log" || {
  grep -a 'package database\|error' "$work/out/logs/packages-added.log" | tail -5
  fail "the added packages did not go into the image's database"
}
pass "mtools added with --incremental in $((SECONDS - start)) s: one rpm transaction on the image's database"

# --- 3. boot to a login prompt, BIOS and UEFI side by side --------------------------------------
boot() { # boot NAME EXPECT [imager boot options]
  local name=$1 expect=$2
  shift 2
  "$IMAGER" boot "$@" --expect "$expect" --timeout "${BOOT_TIMEOUT:-600}" \
    --log "$work/$name.log" >/dev/null 2>"$work/$name.err"
}
uefi=(--uefi)
firmware='UEFI, kernel lockdown: \[none\]'
if [ -r /usr/share/OVMF/OVMF_CODE_4M.secboot.fd ] && [ -r /usr/share/OVMF/OVMF_VARS_4M.ms.fd ]; then
  uefi=(--secure-boot)
  firmware='UEFI, kernel lockdown: none \[integrity\]'
fi
# boot_both PREFIX ISO [EXPECT [SEND...]]: PREFIXbios and PREFIXuefi side by side, each to the
# login prompt or to EXPECT after imager boot's --send pairs SEND.
boot_both() {
  local prefix=$1 image=$2 expect=${3:-login:} bios_pid uefi_pid name
  shift 2
  [ $# -eq 0 ] || shift
  boot "${prefix}bios" "$expect" "$image" "$@" &
  bios_pid=$!
  boot "${prefix}uefi" "$expect" "${uefi[@]}" "$image" "$@" &
  uefi_pid=$!
  for name in bios uefi; do
    local pid_var=${name}_pid
    wait "${!pid_var}" || {
      tail -30 "$work/$prefix$name.log" 2>/dev/null || true
      cat "$work/$prefix$name.err"
      fail "$prefix$name: no login prompt (or no answer to: $*)"
    }
  done
}
# Logged in as root (no password), the image's own rpm lists the installed packages; the answer
# on a line of its own, the command line that echoes it does not match (RPMQA-$((40+2))).
# shellcheck disable=SC2016 # expanded by the guest's shell
qa_cmd='echo "rpmqa: $(/usr/bin/rpm -qa --qf "%{NAME}\n" | sort | tr "\n" " ")"; echo RPMQA-$((40+2))'
start=$SECONDS
boot_both "" "$iso" '^RPMQA-42' --send 'login: *$' root --send '# *$' "$qa_cmd"
pass "bios and uefi (${uefi[*]}) reached 'login:' and ran rpm -qa in $((SECONDS - start)) s"
release=$(cat "$work/fx/kernel-release")
for name in bios uefi; do
  qa=$(guest_answer "$work/$name.log" rpmqa)
  qa=${qa% }
  [ "$qa" = "busybox glibc kernel mtools rpm setup" ] ||
    fail "$name: the image's own rpm -qa in the booted system: '$qa'"
done
pass "in the booted system, the image's own rpm -qa reads the database: $qa"
for name in bios uefi; do
  [ "$(guest_answer "$work/$name.log" 'fixture-os: kernel')" = "$release" ] ||
    fail "$name: the running kernel is not the fixture's $release"
  guest_answer "$work/$name.log" 'fixture-os: cmdline' | grep -q 'imager.test=rpm' ||
    fail "$name: the profile's command line is missing"
done
grep -aq 'imager-booter: firmware: BIOS, kernel lockdown: \[none\]' "$work/bios.log" ||
  fail "bios: the booter's firmware line ($(grep -a 'firmware:' "$work/bios.log"))"
grep -aq "imager-booter: firmware: $firmware" "$work/uefi.log" ||
  fail "uefi: the booter's firmware line ($(grep -a 'firmware:' "$work/uefi.log"))"
pass "the fixture's kernel $release runs the profile's command line; firmware lines as expected"

# --- 3b. the ISO edited by imager iso edit boots with the new command line -------------------------
"$IMAGER" iso edit "$work/out-fedora/fixture-fedora.iso" -o "$work/edited.iso" \
  --cmdline-add "edited.by=imager" \
  --cmdline-remove imager.test >"$work/edit.log" 2>&1 || {
  cat "$work/edit.log"
  fail "imager iso edit --cmdline-add"
}
start=$SECONDS
boot_both edited- "$work/edited.iso"
for name in bios uefi; do
  cmdline=$(guest_answer "$work/edited-$name.log" 'fixture-os: cmdline')
  [[ " $cmdline " == *" edited.by=imager "* && " $cmdline " != *" imager.test=rpm "* ]] ||
    fail "edited-$name: the edited command line is not the kernel's ($cmdline)"
done
rm -f "$work/edited.iso"
pass "the Fedora-named fixture's ISO after imager iso edit boots under BIOS and UEFI with the edited command line ($((SECONDS - start)) s)"

# --- 4. a tampered package --------------------------------------------------------------------
mkdir -p "$work/bad"
cp -r "$work/fx/repo" "$work/bad/repo"
bad=$(find "$work/bad/repo" -name 'busybox-*.rpm')
# Flip one byte near the end of the payload: the signature's payload digest no longer matches.
size=$(stat -c %s "$bad")
printf '\xff' | dd of="$bad" bs=1 seek=$((size - 64)) conv=notrunc status=none
createrepo_c --quiet "$work/bad/repo" >/dev/null
profile fixture-bad "$work/bad/repo"
if "$IMAGER" build "$work/fixture-bad.yaml" -o "$work/out-bad" >"$work/bad.log" 2>&1; then
  fail "a tampered package was installed"
fi
grep -q "$(basename "$bad")" "$work/bad.log" || {
  tail -20 "$work/bad.log"
  fail "the error does not name $(basename "$bad")"
}
[ ! -e "$work/out-bad/fixture-bad.iso" ] || fail "an ISO was written after the refusal"
pass "a package altered after signing is refused by name"
