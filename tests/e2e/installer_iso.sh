#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The installer ISO (profiles/debian-installer.yaml), built by the calling (unprivileged) user
# from the host's apt mirror:
#   1. the medium has the target image, the installer's two images and the offline repository
#      (the mirror's signed InRelease, grub-pc and grub-efi-amd64 in pool/); the target image
#      carries no installer, the installer image does;
#   2. Calamares with the generated configuration runs in imager's sandbox on the live session's
#      layers under a host Xvfb until its welcome page is up (screenshot kept with KEEP);
#   3. BIOS (with a blank disk, which Calamares must accept) and UEFI boots reach a running
#      Calamares (its log on the serial console; the QEMU screendump must show its window);
#   4. changing only the branding rebuilds only the installer's config layer, its check and its
#      image, the initramfs and bootloader (they carry the medium's identity) and the ISO.
# Needs IMAGER (CTest sets it). KEEP=DIR keeps the ISO, logs and screenshots.
# Exit 77 (skip) when qemu, xorriso or Xvfb are missing.
set -euo pipefail
# shellcheck source=../lib/e2e.sh
source "$(dirname "$0")/../lib/e2e.sh"

for tool in qemu-system-x86_64 xorriso unsquashfs Xvfb xwd; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (see dev/deps.txt)"
done
[ "$(id -u)" != 0 ] || [ -n "${IMAGER_ALLOW_ROOT:-}" ] ||
  fail "run this as an unprivileged user (tests/run.sh does)"

work=$(mktemp -d "${TMPDIR:-/tmp}/imager-installer-iso.XXXXXX")
cleanup() {
  [ -z "${KEEP:-}" ] || cp "$work"/*.log "$work"/*.png "$work"/*.ppm "$work"/out/*.iso \
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

# --- 3. boot to a running Calamares ----------------------------------------------------------
boot() {  # boot NAME [imager boot options]
  local name=$1 t0=$SECONDS
  shift
  "$IMAGER" boot "$@" --serial --expect "${CALAMARES_UP:-STARTUP: Window now visible}" \
    --timeout "${BOOT_TIMEOUT:-1200}" --log "$work/$name.log" --settle 30 \
    --screendump "$work/$name.ppm" >/dev/null 2>"$work/$name.err" || {
    tail -40 "$work/$name.log" 2>/dev/null || true
    cat "$work/$name.err"
    fail "$name: Calamares did not come up"
  }
  # A painted window, not X's empty screen: many distinct colours in the screendump.
  colours=$(python3 -c '
import sys
data = open(sys.argv[1], "rb").read()
parts, pos = [], 0
while len(parts) < 4:  # P6, width, height, maxval (no comments in QEMU'"'"'s header)
    while data[pos:pos + 1].isspace():
        pos += 1
    end = pos
    while not data[end:end + 1].isspace():
        end += 1
    parts.append(data[pos:end])
    pos = end
pixels = data[pos + 1:]
print(len({pixels[i:i + 3] for i in range(0, len(pixels) - 2, 3)}))' "$work/$name.ppm")
  [ "$colours" -gt 64 ] || fail "$name: the screen shows $colours colours: no Calamares window"
  pass "$name: Calamares running after $((SECONDS - t0)) s ($colours colours on screen)"
}
# BIOS with a blank 8 GiB disk: Calamares (kpmcore over the live system's D-Bus and polkit)
# finds it, so every requirement of the welcome page is met and the install could start.
truncate -s 8G "$work/blank.raw"
boot bios "$iso" --disk "$work/blank.raw" # after the image: --disk takes several values
for req in partitions storage ram; do
  grep -aq "requirement [0-9] \"$req\" satisfied? true" "$work/bios.log" ||
    fail "bios: Calamares' requirement '$req' is not met with a blank disk attached"
done
pass "bios: Calamares sees the blank disk; its requirements are met"
rm -f "$work/blank.raw"
boot uefi --uefi "$iso"

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
