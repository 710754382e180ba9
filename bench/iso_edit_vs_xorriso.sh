#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Kickstart injection: `imager iso edit --kickstart` vs what lorax's mkksiso runs, xorriso
# `-indev IN -outdev OUT -boot_image any replay -map ks.cfg /ks.cfg -map ...`, on the same
# Anaconda/lorax-like ISO (the layout of tests/rootless/iso_edit.sh, with SIZE_MB of payload in
# images/install.img, default 1024). Both rewrite isolinux.cfg and EFI/BOOT/grub.cfg and
# replace images/efiboot.img (for xorriso, edited beforehand with mtools: not timed). Best of
# three runs each, warm page cache, each run followed by a sync of the output (imager fsyncs
# before its rename). Prints each time and the ratio imager/xorriso.
# LAYOUT=live-build: instead a live-build ISO (Debian 12's binary_iso options: isohdpfx.bin with
# -partition_offset 16, boot/grub/efi.img in GPT and APM), SIZE_MB in live/filesystem.squashfs,
# `imager iso edit --cmdline-add` vs xorriso replay mapping the same edited live.cfg and grub.cfg.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGER=${IMAGER:-$PWD/build/imager}
size=${SIZE_MB:-1024}
work=$(mktemp -d /var/tmp/imager-bench-isoedit.XXXXXX)
trap 'rm -rf "$work"' EXIT
export MTOOLS_SKIP_CHECK=1 SOURCE_DATE_EPOCH=1700000000
src=$work/src
if [ "${LAYOUT:-anaconda}" = live-build ]; then
  mkdir -p "$src/isolinux" "$src/boot/grub" "$src/live" "$src/.disk"
  cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$src/isolinux/"
  printf 'include live.cfg\n' >"$src/isolinux/isolinux.cfg"
  printf 'label live\n\tlinux /live/vmlinuz\n\tappend boot=live components quiet\n' >"$src/isolinux/live.cfg"
  printf 'menuentry "Live" {\n\tlinux\t/live/vmlinuz boot=live components quiet\n}\n' >"$src/boot/grub/grub.cfg"
  echo "Debian bench" >"$src/.disk/info"
  head -c "${size}M" /dev/urandom >"$src/live/filesystem.squashfs"
  /usr/sbin/mkfs.fat -C "$src/boot/grub/efi.img" 8192 >/dev/null
  mmd -i "$src/boot/grub/efi.img" ::/EFI ::/EFI/boot ::/boot ::/boot/grub
  printf 'search --set=root --file /.disk/info\nsource /boot/grub/grub.cfg\n' >"$work/esp.cfg"
  mcopy -i "$src/boot/grub/efi.img" "$work/esp.cfg" ::/boot/grub/grub.cfg
  xorriso -as mkisofs -R -r -J -joliet-long -l -cache-inodes -iso-level 3 \
    -isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin -partition_offset 16 -V "d-live bench" \
    -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
    -eltorito-alt-boot -e boot/grub/efi.img -no-emul-boot -isohybrid-gpt-basdat \
    -isohybrid-apm-hfsplus -o "$work/in.iso" "$src" >/dev/null 2>&1
  echo "input: $(du -h "$work/in.iso" | cut -f1) (live-build)"
  sed 's|quiet$|quiet x.y=1|' "$src/isolinux/live.cfg" >"$work/live.cfg"
  sed 's|quiet$|quiet x.y=1|' "$src/boot/grub/grub.cfg" >"$work/grub.cfg"
  imager_edit=(--cmdline-add x.y=1)
  xorriso_maps=(-map "$work/live.cfg" /isolinux/live.cfg -map "$work/grub.cfg" /boot/grub/grub.cfg)
else
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
  imager_edit=(--kickstart "$work/ks.cfg")
  xorriso_maps=(-map "$work/ks.cfg" /ks.cfg -map "$work/isolinux.cfg" /isolinux/isolinux.cfg
    -map "$work/grub.cfg" /EFI/BOOT/grub.cfg -map "$work/efiboot.img" /images/efiboot.img)
fi

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
t_imager=$(best imager "$IMAGER" iso edit "$work/in.iso" -o "$work/out.iso" "${imager_edit[@]}")
t_xorriso=$(best xorriso xorriso -no_rc -indev "$work/in.iso" -outdev "$work/out.iso" \
  -boot_image any replay "${xorriso_maps[@]}")
printf 'imager iso edit %s: %.2f s\nxorriso replay: %.2f s\nratio imager/xorriso: %.2f\n' "${imager_edit[0]}" \
  "$t_imager" "$t_xorriso" "$(echo "$t_imager $t_xorriso" | awk '{print $1 / $2}')"
