#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Kickstart injection: `imager iso edit --kickstart` vs what lorax's mkksiso runs, xorriso
# `-indev IN -outdev OUT -boot_image any replay -map ks.cfg /ks.cfg -map ...`, on the same
# Anaconda/lorax-like ISO (the layout of tests/rootless/iso_edit.sh, with SIZE_MB of payload in
# images/install.img, default 1024). Both rewrite isolinux.cfg and EFI/BOOT/grub.cfg and
# replace images/efiboot.img (for xorriso, edited beforehand with mtools: not timed). Best of
# three runs each, warm page cache, each run followed by a sync of the output (imager fsyncs
# before its rename). Prints each time and the ratio imager/xorriso.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGER=${IMAGER:-$PWD/build/imager}
size=${SIZE_MB:-1024}
work=$(mktemp -d /var/tmp/imager-bench-isoedit.XXXXXX)
trap 'rm -rf "$work"' EXIT
export MTOOLS_SKIP_CHECK=1 SOURCE_DATE_EPOCH=1700000000
src=$work/src
mkdir -p "$src/isolinux" "$src/EFI/BOOT" "$src/images"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$src/isolinux/"
printf 'label linux\n  kernel vmlinuz\n  append initrd=initrd.img inst.stage2=hd:LABEL=Bench quiet\n' \
  >"$src/isolinux/isolinux.cfg"
printf "menuentry 'Install' {\n\tlinuxefi /images/pxeboot/vmlinuz inst.stage2=hd:LABEL=Bench quiet\n}\n" \
  >"$src/EFI/BOOT/grub.cfg"
printf '[general]\nfamily = Bench\n' >"$src/.treeinfo"
head -c "${size}M" /dev/urandom >"$src/images/install.img"
/usr/sbin/mkfs.fat -C "$src/images/efiboot.img" 8192 >/dev/null
mmd -i "$src/images/efiboot.img" ::/EFI ::/EFI/BOOT
mcopy -i "$src/images/efiboot.img" "$src/EFI/BOOT/grub.cfg" ::/EFI/BOOT/grub.cfg
xorriso -as mkisofs -R -J -V Bench -o "$work/in.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
  -no-emul-boot -boot-load-size 4 -boot-info-table -eltorito-alt-boot -e images/efiboot.img \
  -no-emul-boot -isohybrid-gpt-basdat -isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin "$src" \
  >/dev/null 2>&1
echo 'text' >"$work/ks.cfg"
echo "input: $(du -h "$work/in.iso" | cut -f1)"

# The same edits, prepared for xorriso (as mkksiso does before it runs xorriso).
ks=' inst.ks=hd:LABEL=Bench:/ks.cfg'
sed "s|quiet\$|quiet$ks|" "$src/isolinux/isolinux.cfg" >"$work/isolinux.cfg"
sed "s|quiet\$|quiet$ks|" "$src/EFI/BOOT/grub.cfg" >"$work/grub.cfg"
cp "$src/images/efiboot.img" "$work/efiboot.img"
mcopy -o -i "$work/efiboot.img" "$work/grub.cfg" ::/EFI/BOOT/grub.cfg

best() {  # best WHAT COMMAND...: the shortest of three wall times, in seconds
  local b=
  for _ in 1 2 3; do
    rm -f "$work/out.iso"
    local t0 t1
    t0=$(date +%s.%N)
    "${@:2}" >/dev/null 2>&1 || { echo "$1 failed" >&2; exit 1; }
    sync "$work/out.iso"  # imager fsyncs its output before the rename; xorriso does not
    t1=$(date +%s.%N)
    b=$(echo "$t0 $t1 ${b:-1e9}" | awk '{d = $2 - $1; print (d < $3 ? d : $3)}')
  done
  echo "$b"
}
t_imager=$(best imager "$IMAGER" iso edit "$work/in.iso" -o "$work/out.iso" --kickstart "$work/ks.cfg")
t_xorriso=$(best xorriso xorriso -no_rc -indev "$work/in.iso" -outdev "$work/out.iso" \
  -boot_image any replay -map "$work/ks.cfg" /ks.cfg -map "$work/isolinux.cfg" /isolinux/isolinux.cfg \
  -map "$work/grub.cfg" /EFI/BOOT/grub.cfg -map "$work/efiboot.img" /images/efiboot.img)
printf 'imager iso edit --kickstart: %.2f s\nxorriso replay:              %.2f s\nratio imager/xorriso:        %.2f\n' \
  "$t_imager" "$t_xorriso" "$(echo "$t_imager $t_xorriso" | awk '{print $1 / $2}')"
