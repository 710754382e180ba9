# SPDX-License-Identifier: GPL-3.0-or-later
# imager iso edit, as an unprivileged user, without mounting: (a) --kickstart on an
# Anaconda/lorax-like ISO (isolinux, images/efiboot.img as the El Torito UEFI image and GPT
# basic-data partition, EFI/BOOT/grub.cfg, .discinfo, .treeinfo, an isomd5sum implant): /ks.cfg
# and inst.ks on every kernel line, the grub.cfg inside efiboot.img included, the same boot
# entries and partitions as xorriso reports them, checkisomd5 passing; (b) --cmdline-add and
# --volid on an imager-like ISO (appended ESP partition 2); (c) errors write nothing; (d) two
# runs give the same bytes; (e) a live-build ISO (isohybrid MBR with a partition offset, GPT and
# Apple Partition Map); (f) an archiso-like ISO (GRUB2's MBR, an appended GPT ESP); (g) a
# grub-mkrescue-like ISO (GRUB2's MBR, the in-tree UEFI image as GPT ESP).
source "$TESTLIB"
for tool in xorriso mkfs.fat mcopy mdir implantisomd5 checkisomd5 python3; do
  PATH=$PATH:/usr/sbin:/usr/bin command -v $tool >/dev/null ||
    { echo "SKIP: $tool missing (dev/deps.txt)"; exit 77; }
done
[ -r /usr/lib/ISOLINUX/isolinux.bin ] || { echo "SKIP: isolinux missing (dev/deps.txt)"; exit 77; }
cd "$T"
export MTOOLS_SKIP_CHECK=1 SOURCE_DATE_EPOCH=1700000000

# (a) The Anaconda/lorax-like fixture, as lorax's x86 and EFI templates lay it out.
src=$T/ana
mkdir -p "$src/isolinux" "$src/EFI/BOOT" "$src/images/pxeboot"
cp /usr/lib/ISOLINUX/isolinux.bin "$src/isolinux/"
for m in ldlinux libcom32 libutil vesamenu; do cp /usr/lib/syslinux/modules/bios/$m.c32 "$src/isolinux/"; done
echo kernel > "$src/images/pxeboot/vmlinuz"
echo initrd > "$src/images/pxeboot/initrd.img"
cp "$src/images/pxeboot/vmlinuz" "$src/images/pxeboot/initrd.img" "$src/isolinux/"
cat > "$src/isolinux/isolinux.cfg" <<'CFG'
default vesamenu.c32
timeout 600
label linux
  menu label ^Install Fixture Linux 38
  kernel vmlinuz
  append initrd=initrd.img inst.stage2=hd:LABEL=Fixture-38-x86_64 quiet
label check
  menu label Test this ^media & install Fixture Linux 38
  menu default
  kernel vmlinuz
  append initrd=initrd.img inst.stage2=hd:LABEL=Fixture-38-x86_64 rd.live.check quiet
label local
  menu label Boot from ^local drive
  localboot 0xffff
CFG
cat > "$src/EFI/BOOT/grub.cfg" <<'CFG'
set default="1"
search --no-floppy --set=root -l 'Fixture-38-x86_64'
menuentry 'Install Fixture Linux 38' --class fedora --class gnu-linux --class os {
	linuxefi /images/pxeboot/vmlinuz inst.stage2=hd:LABEL=Fixture-38-x86_64 quiet
	initrdefi /images/pxeboot/initrd.img
}
menuentry 'Test this media & install Fixture Linux 38' --class fedora {
	linuxefi /images/pxeboot/vmlinuz inst.stage2=hd:LABEL=Fixture-38-x86_64 rd.live.check quiet
	initrdefi /images/pxeboot/initrd.img
}
CFG
echo "BOOTX64.EFI stand-in" > "$src/EFI/BOOT/BOOTX64.EFI"
printf '1700000000.000000\nFixture Linux 38\nx86_64\n' > "$src/.discinfo"
printf '[general]\nfamily = Fixture\nversion = 38\n[images-x86_64]\nefiboot.img = images/efiboot.img\n' > "$src/.treeinfo"
PATH=$PATH:/usr/sbin mkfs.fat -C --invariant -i 12345678 -n ANACONDA "$src/images/efiboot.img" 4096 >/dev/null
mmd -i "$src/images/efiboot.img" ::/EFI ::/EFI/BOOT
mcopy -i "$src/images/efiboot.img" "$src/EFI/BOOT/grub.cfg" "$src/EFI/BOOT/BOOTX64.EFI" ::/EFI/BOOT/
xorriso -as mkisofs -R -J -V Fixture-38-x86_64 -o ana.iso -b isolinux/isolinux.bin -c isolinux/boot.cat \
  -no-emul-boot -boot-load-size 4 -boot-info-table -eltorito-alt-boot -e images/efiboot.img \
  -no-emul-boot -isohybrid-gpt-basdat -isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin "$src" \
  > xorriso.log 2>&1 || { cat xorriso.log; fail "xorriso failed"; }
implantisomd5 ana.iso > /dev/null || fail "implantisomd5 failed"

printf 'text\nreboot\n' > ks.cfg
"$IMAGER" iso edit ana.iso -o ana-ks.iso --kickstart ks.cfg 2> edit.log || { cat edit.log; fail "edit --kickstart failed"; }
ks='inst.ks=hd:LABEL=Fixture-38-x86_64:/ks.cfg'
assert_eq "/ks.cfg" "$(cat ks.cfg)" "$("$IMAGER" iso cat ana-ks.iso /ks.cfg)"
"$IMAGER" iso ls -l ana-ks.iso / | grep -q '^-rw-r--r--     0     0 .* ks.cfg$' || fail "/ks.cfg not 0644 0:0"
assert_eq "volume id kept" Fixture-38-x86_64 "$("$IMAGER" iso inspect --json ana-ks.iso | python3 -c 'import json,sys; print(json.load(sys.stdin)["volume_id"])')"
# inspect lists the configurations inside the ESP image (images/efiboot.img) too.
assert_contains "inspect reads the ESP's grub.cfg" "ESP:/EFI/BOOT/grub.cfg" \
  "$("$IMAGER" iso inspect ana-ks.iso | grep '^Boot configs:')"
kernel_lines() { grep -cE '^\s*(append|linuxefi) ' "$1"; }
with_ks() { grep -E '^\s*(append|linuxefi) ' "$1" | grep -c -- " $ks\$"; }
"$IMAGER" iso cat ana-ks.iso /isolinux/isolinux.cfg > isolinux.cfg
"$IMAGER" iso cat ana-ks.iso /EFI/BOOT/grub.cfg > grub.cfg
"$IMAGER" iso cat ana-ks.iso /images/efiboot.img > efiboot.img
mcopy -n -i efiboot.img ::/EFI/BOOT/grub.cfg esp-grub.cfg
for f in isolinux.cfg grub.cfg esp-grub.cfg; do
  assert_eq "$f: kernel lines" 2 "$(kernel_lines $f)"
  assert_eq "$f: kernel lines with inst.ks" 2 "$(with_ks $f)"
done
assert_eq "the BOOTX64.EFI in efiboot.img" "BOOTX64.EFI stand-in" "$(mtype -i efiboot.img ::/EFI/BOOT/BOOTX64.EFI)"
assert_eq "isolinux.cfg: only the kernel lines changed" \
  "$(sed "s|^\(  append .*\)|\1 $ks|" "$src/isolinux/isolinux.cfg")" "$(cat isolinux.cfg)"
pass "--kickstart: /ks.cfg and inst.ks on all kernel lines, the ESP image's grub.cfg included"

# The boot setup, as xorriso reports it, is the input's: the same El Torito entries (platform,
# emulation, load size, image path; the LBAs move with the data) and the same partitions (types,
# flags, names; starts and sizes follow the image's size and the efiboot.img's new place).
report() {  # report ISO WHAT: xorriso's plain report without LBAs and sizes
  xorriso -indev "$1" -report_$2 plain 2>/dev/null | grep -vE '^(Drive|Media|Volume|Boot record)' |
    sed -E 's/[0-9]{2,}/N/g' | tr -s ' '
}
assert_eq "El Torito report" "$(report ana.iso el_torito)" "$(report ana-ks.iso el_torito)"
assert_eq "system area report" "$(report ana.iso system_area)" "$(report ana-ks.iso system_area)"
assert_contains "UEFI entry" "boot img : 2 UEFI y none" "$(report ana-ks.iso el_torito)"
assert_contains "UEFI image" "img path : 2 /images/efiboot.img" "$(report ana-ks.iso el_torito)"
checkisomd5 ana-ks.iso > /dev/null 2>&1 || fail "checkisomd5 fails on the edited image"
pass "El Torito and system area as the input's; checkisomd5 passes"

# (d) The same inputs give the same bytes.
"$IMAGER" iso edit ana.iso -o ana-ks2.iso --kickstart ks.cfg 2> edit.log || { cat edit.log; fail "second edit failed"; }
cmp ana-ks.iso ana-ks2.iso || fail "two runs differ"
pass "two runs give identical bytes"

# (b) An imager-like layout, as formats::iso::Write makes it: isolinux/isolinux.cfg,
# boot/grub/grub.cfg, the ESP appended as partition 2 (in the MBR as 0xef, in the GPT as basic
# data) holding EFI/BOOT/grub.cfg and boot/grub/grub.cfg.
im=$T/im
mkdir -p "$im/isolinux" "$im/boot/grub" "$im/live"
cp /usr/lib/ISOLINUX/isolinux.bin "$im/isolinux/"
echo fixture > "$im/.imager-id"
cat > "$im/isolinux/isolinux.cfg" <<'CFG'
UI menu.c32
DEFAULT live

LABEL live
  MENU LABEL fixture
  LINUX /live/vmlinuz
  INITRD /live/initrd.img
  APPEND boot=live quiet

LABEL toram
  MENU LABEL fixture (load into RAM)
  LINUX /live/vmlinuz
  INITRD /live/initrd.img
  APPEND boot=live toram quiet
CFG
cat > "$im/boot/grub/grub.cfg" <<'CFG'
search --no-floppy --fs-uuid --set=root 2023-11-14-22-13-20-00
menuentry "fixture" {
  linux /live/vmlinuz boot=live quiet
  initrd /live/initrd.img
}
menuentry "fixture (load into RAM)" {
  linux /live/vmlinuz boot=live toram quiet
  initrd /live/initrd.img
}
CFG
PATH=$PATH:/usr/sbin mkfs.fat -C --invariant -i 0badcafe -n EFIBOOT esp.img 2048 >/dev/null
mmd -i esp.img ::/EFI ::/EFI/BOOT ::/boot ::/boot/grub
printf 'search --no-floppy --fs-uuid --set=root X\nconfigfile /boot/grub/grub.cfg\n' > esp.cfg
mcopy -i esp.img esp.cfg ::/EFI/BOOT/grub.cfg
mcopy -i esp.img "$im/boot/grub/grub.cfg" ::/boot/grub/grub.cfg  # a full menu, as some media have
xorriso -as mkisofs -r -J -V IMAGER_LIVE --modification-date=2023111422132000 -o im.iso \
  -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
  -isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin -eltorito-alt-boot \
  -e --interval:appended_partition_2:all:: -no-emul-boot -isohybrid-gpt-basdat \
  -append_partition 2 0xef esp.img "$im" \
  > xorriso.log 2>&1 || { cat xorriso.log; fail "xorriso failed"; }
"$IMAGER" iso edit im.iso -o im2.iso --cmdline-add "imager.test=1 console=ttyS0" --cmdline-remove quiet \
  2> edit.log || { cat edit.log; fail "edit --cmdline-add failed"; }
"$IMAGER" iso cat im2.iso /isolinux/isolinux.cfg | grep APPEND > got
assert_eq "isolinux APPEND lines" "  APPEND boot=live imager.test=1 console=ttyS0
  APPEND boot=live toram imager.test=1 console=ttyS0" "$(cat got)"
"$IMAGER" iso cat im2.iso /boot/grub/grub.cfg | grep linux > got
"$IMAGER" iso ls -l im2.iso /boot/grub | grep -q ' 0     0 .* grub.cfg$' || fail "grub.cfg not owned by 0:0"
assert_eq "GRUB linux lines" "  linux /live/vmlinuz boot=live imager.test=1 console=ttyS0
  linux /live/vmlinuz boot=live toram imager.test=1 console=ttyS0" "$(cat got)"
assert_eq "volume dates kept (GRUB's fs-uuid)" \
  "$(xorriso -indev im.iso -pvd_info 2>/dev/null | grep 'Modif. Time')" \
  "$(xorriso -indev im2.iso -pvd_info 2>/dev/null | grep 'Modif. Time')"
assert_eq "El Torito report" "$(report im.iso el_torito)" "$(report im2.iso el_torito)"
assert_eq "system area report" "$(report im.iso system_area)" "$(report im2.iso system_area)"
"$IMAGER" iso inspect --json im2.iso > im2.json || fail "inspect im2.iso failed"
python3 - im2.json im2.iso esp2.img <<'PY' || fail "the appended ESP is not the El Torito UEFI image"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["esp_image"] == "appended partition 2", j["esp_image"]
p = [p for p in j["mbr"] if p["number"] == 2][0]
with open(sys.argv[2], "rb") as iso, open(sys.argv[3], "wb") as out:
    iso.seek(p["start"] * 512)
    out.write(iso.read(p["sectors"] * 512))
PY
mcopy -n -i esp2.img ::/boot/grub/grub.cfg esp-grub.cfg
assert_eq "the appended ESP's boot/grub/grub.cfg" "$(grep linux got)" "$(grep linux esp-grub.cfg)"
mcopy -n -i esp2.img ::/EFI/BOOT/grub.cfg esp-efi.cfg
assert_eq "the appended ESP's EFI/BOOT/grub.cfg, without kernel lines" "$(cat esp.cfg)" "$(cat esp-efi.cfg)"
pass "--cmdline-add/--cmdline-remove on an imager-like ISO, boot setup kept"

# --volid: the labels follow, \x20 escapes in kernel lines, quoted in GRUB's search.
mkdir -p adddir/sub && echo more > adddir/sub/more.txt
"$IMAGER" iso edit ana.iso -o ana-vol.iso --volid "My Disc" --add ks.cfg:/extra/ks.cfg --remove /.discinfo \
  --add adddir:/EFI \
  2> edit.log || { cat edit.log; fail "edit --volid failed"; }
"$IMAGER" iso cat ana-vol.iso /EFI/BOOT/grub.cfg > grub.cfg
assert_contains "grub.cfg search" "-l 'My Disc'" "$(cat grub.cfg)"
assert_eq "grub.cfg stage2 labels" 2 "$(grep -cF 'inst.stage2=hd:LABEL=My\x20Disc ' grub.cfg)"
"$IMAGER" iso cat ana-vol.iso /images/efiboot.img > efiboot.img
mcopy -n -i efiboot.img ::/EFI/BOOT/grub.cfg esp-grub.cfg
assert_eq "efiboot.img grub.cfg stage2 labels" 2 "$(grep -cF 'inst.stage2=hd:LABEL=My\x20Disc ' esp-grub.cfg)"
assert_eq "volume id" "My Disc" "$("$IMAGER" iso inspect --json ana-vol.iso | python3 -c 'import json,sys; print(json.load(sys.stdin)["volume_id"])')"
assert_eq "--add" "$(cat ks.cfg)" "$("$IMAGER" iso cat ana-vol.iso /extra/ks.cfg)"
"$IMAGER" iso ls ana-vol.iso / | grep -qx .discinfo && fail "--remove left /.discinfo"
assert_eq "--add of a directory merged into /EFI" "more" "$("$IMAGER" iso cat ana-vol.iso /EFI/sub/more.txt)"
"$IMAGER" iso cat ana-vol.iso /EFI/BOOT/BOOTX64.EFI > /dev/null || fail "--add adddir:/EFI lost /EFI/BOOT"
pass "--volid, --add, --remove"

# (e) A live-build layout (Debian 12's live-build 20230502, binary_iso): entries in
# isolinux/live.cfg (included), boot/grub/grub.cfg, the ESP boot/grub/efi.img in the tree
# (EFI/boot in lower case) with its own boot/grub/grub.cfg that only finds the medium; made with
# live-build's exact xorriso options: isohdpfx.bin with -partition_offset 16, the UEFI image
# named in the GPT (basic data) and in an Apple Partition Map (-isohybrid-apm-hfsplus).
dl=$T/dl
mkdir -p "$dl/isolinux" "$dl/boot/grub" "$dl/live" "$dl/.disk" "$dl/EFI/boot"
cp /usr/lib/ISOLINUX/isolinux.bin "$dl/isolinux/"
echo "Debian GNU/Linux 12 fixture" > "$dl/.disk/info"
printf 'include menu.cfg
default vesamenu.c32
prompt 0
timeout 0
' > "$dl/isolinux/isolinux.cfg"
printf 'menu hshift 0
include live.cfg
' > "$dl/isolinux/menu.cfg"
cat > "$dl/isolinux/live.cfg" <<'CFG'
label live-amd64
	menu label ^Live system (amd64)
	menu default
	linux /live/vmlinuz
	initrd /live/initrd.img
	append boot=live components quiet splash
label live-amd64-failsafe
	menu label Live system (amd64 fail-safe mode)
	linux /live/vmlinuz
	initrd /live/initrd.img
	append boot=live components memtest noapic noapm nodma nomce nolapic nosmp nosplash vga=788
CFG
cat > "$dl/boot/grub/grub.cfg" <<'CFG'
source /boot/grub/config.cfg
menuentry "Live system (amd64)" --hotkey=l {
	linux	/live/vmlinuz boot=live components quiet splash findiso=${iso_path}
	initrd	/live/initrd.img
}
CFG
printf 'set default=0
' > "$dl/boot/grub/config.cfg"
PATH=$PATH:/usr/sbin mkfs.fat -C --invariant -i 00c0ffee "$dl/boot/grub/efi.img" 2048 >/dev/null
mmd -i "$dl/boot/grub/efi.img" ::/EFI ::/EFI/boot ::/boot ::/boot/grub
printf 'search --set=root --file /.disk/id/fixture
set prefix=($root)/boot/grub
source $prefix/x86_64-efi/grub.cfg
' > dl-esp.cfg
mcopy -i "$dl/boot/grub/efi.img" dl-esp.cfg ::/boot/grub/grub.cfg
echo stand-in > bootx64.efi && mcopy -i "$dl/boot/grub/efi.img" bootx64.efi ::/EFI/boot/bootx64.efi
lb_opts=(-R -r -J -joliet-long -l -cache-inodes -iso-level 3
  -isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin -partition_offset 16
  -V "d-live 12 fx amd64" --modification-date=2023111422132000
  -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table
  -eltorito-alt-boot -e boot/grub/efi.img -no-emul-boot -isohybrid-gpt-basdat -isohybrid-apm-hfsplus)
echo "xorriso -as mkisofs ${lb_opts[*]} -o dl.iso binary" > "$dl/.disk/mkisofs"
xorriso -as mkisofs "${lb_opts[@]}" -o dl.iso "$dl" > xorriso.log 2>&1 ||
  { cat xorriso.log; fail "xorriso failed"; }
assert_contains "the fixture has live-build's system area" \
  "System area summary: MBR isohybrid cyl-align-on GPT APM" "$(xorriso -indev dl.iso -report_system_area plain 2>/dev/null)"
"$IMAGER" iso edit dl.iso -o dl2.iso --cmdline-add toram --cmdline-remove splash --cmdline-remove quiet \
  2> edit.log || { cat edit.log; fail "edit on the live-build ISO failed"; }
assert_eq "live.cfg append lines" "	append boot=live components toram
	append boot=live components memtest noapic noapm nodma nomce nolapic nosmp nosplash vga=788 toram" \
  "$("$IMAGER" iso cat dl2.iso /isolinux/live.cfg | grep append)"
assert_eq "grub.cfg linux line" "	linux	/live/vmlinuz boot=live components findiso=\${iso_path} toram" \
  "$("$IMAGER" iso cat dl2.iso /boot/grub/grub.cfg | grep linux)"
"$IMAGER" iso cat dl2.iso /boot/grub/efi.img > dl-efi.img
mcopy -n -i dl-efi.img ::/boot/grub/grub.cfg dl-esp2.cfg
assert_eq "the ESP's grub.cfg (no kernel line) untouched" "$(cat dl-esp.cfg)" "$(cat dl-esp2.cfg)"
assert_eq "El Torito report" "$(report dl.iso el_torito)" "$(report dl2.iso el_torito)"
assert_eq "system area report" "$(report dl.iso system_area)" "$(report dl2.iso system_area)"
"$IMAGER" iso edit dl.iso -o dl3.iso --cmdline-add toram --cmdline-remove splash --cmdline-remove quiet \
  2> edit.log || { cat edit.log; fail "second edit failed"; }
cmp dl2.iso dl3.iso || fail "two runs on the live-build ISO differ"
# --cmdline-add and --volid: the same boot setup (APM included), inspect sees the layout.
"$IMAGER" iso edit dl.iso -o dl4.iso --cmdline-add x.y=1 --volid "d-live 12 edited" \
  2> edit.log || { cat edit.log; fail "edit --volid on the live-build ISO failed"; }
assert_eq "El Torito report (--volid)" "$(report dl.iso el_torito)" "$(report dl4.iso el_torito)"
assert_eq "system area report (--volid)" "$(report dl.iso system_area)" "$(report dl4.iso system_area)"
assert_contains "APM entry" "APM partition name : 1 EFI" "$(report dl4.iso system_area)"
assert_contains "APM entry type" "APM partition path : 1 /boot/grub/efi.img" "$(report dl4.iso system_area)"
assert_contains "partition offset" "Partition offset : N" "$(report dl4.iso system_area)"
cmp -n 432 dl.iso dl4.iso || fail "the boot code (isohdpfx.bin) changed"
"$IMAGER" iso inspect dl4.iso > inspect.txt || fail "inspect dl4.iso failed"
assert_contains "inspect: layout" "Layout:       debian-live" "$(cat inspect.txt)"
assert_contains "inspect: the APM" 'type Apple_HFS (HFS/HFS+), start ' "$(grep '^  APM' inspect.txt)"
assert_contains "inspect: the ESP" "ESP image:    /boot/grub/efi.img" "$(cat inspect.txt)"
assert_eq "grub.cfg linux line (--volid)" \
  "	linux	/live/vmlinuz boot=live components quiet splash findiso=\${iso_path} x.y=1" \
  "$("$IMAGER" iso cat dl4.iso /boot/grub/grub.cfg | grep linux)"
"$IMAGER" iso edit dl.iso -o dl5.iso --cmdline-add x.y=1 --volid "d-live 12 edited" 2> edit.log ||
  { cat edit.log; fail "second edit --volid failed"; }
cmp dl4.iso dl5.iso || fail "two runs with --volid on the live-build ISO differ"
pass "live-build layout (isohybrid MBR, partition offset, GPT, APM): included live.cfg, GRUB, in-tree ESP; the same boot setup; same bytes twice"

# (f) An archiso-like layout: GRUB2's MBR (--grub2-mbr; a stand-in for boot_hybrid.img),
# -partition_offset 16, --mbr-force-bootable (a dummy active MBR partition), GRUB's El Torito
# image with --grub2-boot-info, the ESP appended as a GPT partition (-append_partition 2 <ESP
# GUID> -appended_part_as_gpt) holding the full GRUB menu.
ar=$T/ar
mkdir -p "$ar/arch/boot/x86_64" "$ar/boot/grub"
echo kernel > "$ar/arch/boot/x86_64/vmlinuz-linux"
head -c 8192 /dev/zero > "$ar/boot/grub/eltorito.img"
{ printf 'GRUB boot_hybrid.img stand-in'; head -c 417 /dev/zero; } > boot_hybrid.img
cat > "$ar/boot/grub/grub.cfg" <<'CFG'
search --no-floppy --set=root --label ARCH_202401
menuentry "Arch Linux install medium (x86_64, UEFI)" --class arch {
    linux /arch/boot/x86_64/vmlinuz-linux archisobasedir=arch archisosearchuuid=2024-01-01-00-00-00-00
}
CFG
PATH=$PATH:/usr/sbin mkfs.fat -C --invariant -i 0a5c1150 -n ARCHISO_EFI ar-esp.img 2048 >/dev/null
mmd -i ar-esp.img ::/EFI ::/EFI/BOOT ::/boot ::/boot/grub
mcopy -i ar-esp.img "$ar/boot/grub/grub.cfg" ::/boot/grub/grub.cfg
xorriso -as mkisofs -iso-level 3 -full-iso9660-filenames -joliet -joliet-long -rational-rock \
  -volid ARCH_202401 -appid "Arch Linux fixture" -partition_offset 16 --grub2-mbr boot_hybrid.img \
  --mbr-force-bootable \
  -append_partition 2 C12A7328-F81F-11D2-BA4B-00A0C93EC93B ar-esp.img -appended_part_as_gpt \
  -c boot.catalog -b boot/grub/eltorito.img -no-emul-boot -boot-load-size 4 -boot-info-table \
  --grub2-boot-info -eltorito-alt-boot -e --interval:appended_partition_2:all:: -no-emul-boot \
  -output ar.iso "$ar" > xorriso.log 2>&1 || { cat xorriso.log; fail "xorriso failed"; }
assert_contains "the fixture has GRUB2's MBR" "grub2-mbr" "$(xorriso -indev ar.iso -report_system_area plain 2>/dev/null)"
"$IMAGER" iso edit ar.iso -o ar2.iso --cmdline-add x.y=1 --volid ARCH_EDITED 2> edit.log ||
  { cat edit.log; fail "edit on an archiso-like ISO failed"; }
assert_eq "El Torito report" "$(report ar.iso el_torito)" "$(report ar2.iso el_torito)"
assert_eq "system area report" "$(report ar.iso system_area)" "$(report ar2.iso system_area)"
assert_contains "GRUB2 boot info" "img opts : 1 boot-info-table grub2-boot-info" "$(report ar2.iso el_torito)"
assert_contains "the active dummy partition" "MBR partition : 2 0xN 0xN 0 1" "$(report ar2.iso system_area)"
cmp -n 432 ar.iso ar2.iso || fail "GRUB2's MBR code changed"
"$IMAGER" iso inspect --json ar2.iso > ar2.json || fail "inspect ar2.iso failed"
python3 - ar2.json ar2.iso ar-esp2.img <<'PY' || fail "the appended ESP is not the El Torito UEFI image"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["layout"] == "archiso", j["layout"]
assert j["esp_image"] == "appended partition 2", j["esp_image"]
p = [p for p in j["gpt"] if p["number"] == 2][0]
assert p["type_name"] == "EFI System", p
with open(sys.argv[2], "rb") as iso, open(sys.argv[3], "wb") as out:
    iso.seek(p["start"] * 512)
    out.write(iso.read(p["sectors"] * 512))
PY
mcopy -n -i ar-esp2.img ::/boot/grub/grub.cfg ar-esp.cfg
want="    linux /arch/boot/x86_64/vmlinuz-linux archisobasedir=arch archisosearchuuid=2024-01-01-00-00-00-00 x.y=1"
assert_eq "grub.cfg linux line" "$want" "$("$IMAGER" iso cat ar2.iso /boot/grub/grub.cfg | grep linux)"
assert_eq "the appended ESP's grub.cfg linux line" "$want" "$(grep linux ar-esp.cfg)"
assert_contains "the label followed --volid" "--label 'ARCH_EDITED'" "$(grep search ar-esp.cfg)"
"$IMAGER" iso edit ar.iso -o ar3.iso --cmdline-add x.y=1 --volid ARCH_EDITED 2> edit.log ||
  { cat edit.log; fail "second edit failed"; }
cmp ar2.iso ar3.iso || fail "two runs on the archiso-like ISO differ"
pass "archiso-like layout (GRUB2 MBR, partition offset, appended GPT ESP): the same boot setup, the ESP's menu edited; same bytes twice"

# (g) A grub-mkrescue-like layout: GRUB2's MBR behind a protective MBR, the UEFI image /efi.img
# in the tree also the GPT's ESP (--efi-boot efi.img -efi-boot-part --efi-boot-image).
gm=$T/gm
mkdir -p "$gm/boot/grub/i386-pc"
head -c 8192 /dev/zero > "$gm/boot/grub/i386-pc/eltorito.img"
printf 'menuentry "fixture" {\n\tlinux /vmlinuz quiet\n}\n' > "$gm/boot/grub/grub.cfg"
cp ar-esp.img "$gm/efi.img"
xorriso -as mkisofs -graft-points --modification-date=2023111422132000 \
  -b boot/grub/i386-pc/eltorito.img -no-emul-boot -boot-load-size 4 -boot-info-table \
  --grub2-boot-info --grub2-mbr boot_hybrid.img --efi-boot efi.img -efi-boot-part --efi-boot-image \
  --protective-msdos-label -o gm.iso -r "$gm" --sort-weight 0 / --sort-weight 1 /boot \
  > xorriso.log 2>&1 || { cat xorriso.log; fail "xorriso failed"; }
"$IMAGER" iso edit gm.iso -o gm2.iso --cmdline-add x.y=1 2> edit.log ||
  { cat edit.log; fail "edit on a grub-mkrescue-like ISO failed"; }
assert_eq "El Torito report" "$(report gm.iso el_torito)" "$(report gm2.iso el_torito)"
assert_eq "system area report" "$(report gm.iso system_area)" "$(report gm2.iso system_area)"
assert_contains "the ESP in the GPT" "GPT partition path : 2 /efi.img" "$(report gm2.iso system_area)"
pass "grub-mkrescue-like layout (GRUB2 MBR, the in-tree UEFI image as GPT ESP): the same boot setup"

# (c) Errors, nothing written.
before=$(ls -A "$T" | sort)
"$IMAGER" iso edit im.iso -o bad.iso --kickstart ks.cfg 2> err.log && fail "--kickstart on an imager ISO succeeded"
assert_contains "unknown layout error" "needs an Anaconda/lorax medium (/.treeinfo" "$(cat err.log)"
"$IMAGER" iso edit missing.iso -o bad.iso --cmdline-add x 2> err.log && fail "a missing input succeeded"
assert_contains "missing input error" "missing.iso" "$(cat err.log)"
"$IMAGER" iso edit ana.iso -o bad.iso --remove /no/such 2> err.log && fail "--remove of a missing path succeeded"
# A kernel line it cannot parse: named with its file and line, nothing written.
sed -i "s|rd.live.check quiet|rd.live.check 'quiet|" "$src/EFI/BOOT/grub.cfg"
xorriso -as mkisofs -R -J -V Fixture-38-x86_64 -o broken.iso -b isolinux/isolinux.bin -c isolinux/boot.cat \
  -no-emul-boot -boot-load-size 4 -boot-info-table -eltorito-alt-boot -e images/efiboot.img \
  -no-emul-boot -isohybrid-gpt-basdat -isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin "$src" \
  > xorriso.log 2>&1 || { cat xorriso.log; fail "xorriso failed"; }
before=$(ls -A "$T" | sort)
"$IMAGER" iso edit broken.iso -o bad.iso --kickstart ks.cfg 2> err.log && fail "an unbalanced quote succeeded"
assert_contains "unparsable kernel line" "/EFI/BOOT/grub.cfg:8: unbalanced '" "$(cat err.log)"
assert_eq "nothing written on failure" "$before" "$(ls -A "$T" | sort)"
pass "errors: unknown layout, missing input, missing path, unparsable kernel line; nothing written"
