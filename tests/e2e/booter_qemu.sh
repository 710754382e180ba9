#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The booter on a real kernel in QEMU (TCG): a hand-made initramfs (build/imager-booter as /init,
# its config, the module closure of a Debian kernel) and hand-made ISO media holding a tiny
# squashfs rootfs whose /sbin/init prints a marker and powers off. Everything is rootless.
#   1. only a medium with the wrong identity: the booter rejects it, names both ids, powers off;
#   2. wrong medium on the CD drive, ours on a virtio disk, order cdrom,virtio: sr0 rejected,
#      vda accepted, the image's init runs on a writable overlay root;
#   3. as 2 with imager.toram and imager.probe=/dev/vd*: the image runs from RAM.
# Needs BOOTER and MODCLOSURE (CTest sets them). A kernel comes from IMAGER_TEST_KERNEL_DIR (a
# tree with boot/vmlinuz-* and lib/modules/RELEASE) or is fetched once with apt-get download into
# ~/.cache/imager/test-kernel. Exit 77 (skip) when qemu, the tools or a kernel are missing.
set -euo pipefail
PATH=$PATH:/usr/sbin:/sbin  # depmod lives there and user PATHs often lack it
: "${BOOTER:?BOOTER must point to build/imager-booter}"
: "${MODCLOSURE:?MODCLOSURE must point to build/tests/imager-modclosure}"

skip() {
  echo "SKIP: $*"
  exit 77
}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
pass() { echo "ok: $*"; }

for tool in qemu-system-x86_64 mksquashfs xorriso cpio depmod dpkg-deb; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (see dev/deps.txt)"
done
BUSYBOX=$(command -v busybox || true)
[ -n "$BUSYBOX" ] && file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
  skip "a static busybox is needed (busybox-static)"

T=$(mktemp -d "${TMPDIR:-/tmp}/imager-booter-e2e.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

# --- a kernel and its modules ------------------------------------------------------------------
KDIR=${IMAGER_TEST_KERNEL_DIR:-}
if [ -z "$KDIR" ]; then
  KDIR=${XDG_CACHE_HOME:-$HOME/.cache}/imager/test-kernel
  if ! ls "$KDIR"/boot/vmlinuz-* >/dev/null 2>&1; then
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: \(linux-image-[0-9].*\)/\1/p' | head -1)
    [ -n "$pkg" ] || skip "no kernel: set IMAGER_TEST_KERNEL_DIR or make linux-image-amd64 known to apt"
    mkdir -p "$KDIR.tmp"
    (cd "$KDIR.tmp" && apt-get download "$pkg" >/dev/null 2>&1) || skip "apt-get download $pkg failed"
    dpkg-deb -x "$KDIR.tmp"/*.deb "$KDIR.tmp/x"
    rm -f "$KDIR.tmp"/*.deb
    rm -rf "$KDIR" && mv "$KDIR.tmp/x" "$KDIR" && rmdir "$KDIR.tmp"
  fi
fi
VMLINUZ=$(ls "$KDIR"/boot/vmlinuz-* 2>/dev/null | head -1)
[ -r "$VMLINUZ" ] || skip "no readable vmlinuz under $KDIR/boot"
REL=${VMLINUZ##*/vmlinuz-}
MODDIR=$KDIR/lib/modules/$REL
[ -d "$MODDIR" ] || skip "no modules for $REL under $KDIR"
# A .deb ships no modules.dep: depmod writes it (into the tree, rootless).
[ -f "$MODDIR/modules.dep" ] || depmod -b "$KDIR" "$REL" || fail "depmod -b $KDIR $REL"
echo "kernel $REL from $KDIR"

# --- the initramfs ------------------------------------------------------------------------------
# QEMU's PC machine: the CD drive hangs off the PIIX IDE controller, the disk off virtio-pci.
WANTED="ata_piix sr_mod isofs virtio_pci virtio_blk loop squashfs overlay"
"$MODCLOSURE" "$MODDIR" $WANTED >"$T/closure" || fail "module closure for: $WANTED"
for m in sr_mod isofs virtio_blk squashfs; do
  grep -q "/$m\.ko" "$T/closure" || fail "closure lacks $m: $(tr '\n' ' ' <"$T/closure")"
done
pass "module closure: $(wc -l <"$T/closure") files"

GOOD_ID="e2e-good-$RANDOM$RANDOM"
mkinitramfs() {  # mkinitramfs OUT PROBE_ORDER [with-shell]
  local root=$T/initramfs
  rm -rf "$root" && mkdir -p "$root/etc"
  cp "$BOOTER" "$root/init"
  if [ -n "${3:-}" ]; then
    mkdir -p "$root/bin" && cp "$BUSYBOX" "$root/bin/busybox" && ln -s busybox "$root/bin/sh"
  fi
  {
    echo "# written by tests/e2e/booter_qemu.sh"
    echo "probe=$2"
    echo "timeout=20"
    echo "image=/live/filesystem.squashfs"
    echo "id=$GOOD_ID"
    echo "on_failure=poweroff"
    while read -r p; do
      mkdir -p "$root/lib/modules/$REL/$(dirname "$p")"
      cp "$MODDIR/$p" "$root/lib/modules/$REL/$p"
      echo "module=$p"
    done <"$T/closure"
  } >"$root/etc/imager-booter.conf"
  (cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$1"
}
mkinitramfs "$T/initrd" cdrom,virtio
mkinitramfs "$T/initrd-shell" cdrom,virtio with-shell
pass "initramfs: $(($(stat -c %s "$T/initrd") / 1024)) KiB (uncompressed)"

# --- the image and the media --------------------------------------------------------------------
R=$T/rootfs
mkdir -p "$R/bin" "$R/sbin" "$R/dev" "$R/proc" "$R/sys" "$R/run" "$R/tmp"
cp "$BUSYBOX" "$R/bin/busybox"
cat >"$R/sbin/init" <<'INIT'
#!/bin/busybox sh
bb=/bin/busybox
rootfs=$($bb awk '$2 == "/" { print $3 }' /proc/mounts | $bb tail -n 1)
echo hello >/written-by-init && w=yes || w=no
ram=no
medium=$($bb cat /run/imager/medium/.imager-id 2>/dev/null || echo none)
$bb grep -q ' /run/imager/ram ' /proc/mounts && ram=yes
link=/run/imager/images/0.squashfs
image=$($bb readlink $link || echo none)
[ -f $link ] || image="$image(dangling)"
echo "IMAGER-E2E-INIT pid=$$ root=$rootfs writable=$w toram=$ram medium=$medium image=$image"
$bb poweroff -f
INIT
chmod 755 "$R/sbin/init"
mksquashfs "$R" "$T/filesystem.squashfs" -quiet -no-progress -all-root -comp gzip >/dev/null ||
  fail "mksquashfs"

mkmedium() {  # mkmedium OUT ID
  local m=$T/medium
  rm -rf "$m" && mkdir -p "$m/live"
  cp "$T/filesystem.squashfs" "$m/live/"
  printf '%s\n' "$2" >"$m/.imager-id"
  xorriso -as mkisofs -quiet -R -V IMAGER_E2E -o "$1" "$m" 2>/dev/null || fail "xorriso $1"
}
mkmedium "$T/good.iso" "$GOOD_ID"
mkmedium "$T/wrong.iso" "someone-elses-build"

# --- boots --------------------------------------------------------------------------------------
boot() {  # boot LOG INITRD CMDLINE-EXTRA QEMU-DRIVE-ARGS...
  local log=$1 initrd=$2 extra=$3
  shift 3
  local start=$SECONDS
  timeout 300 qemu-system-x86_64 -machine pc -accel tcg -m 512 -smp 1 \
    -display none -monitor none -serial "file:$log" -no-reboot \
    -kernel "$VMLINUZ" -initrd "$initrd" \
    -append "console=ttyS0 panic=-1 loglevel=4 $extra" "$@" </dev/null ||
    fail "qemu exited with $? (log: $(tail -5 "$log"))"
  echo "   boot took $((SECONDS - start)) s"
}
show() { sed 's/^/   | /' "$1" | grep -E 'imager-booter|IMAGER-E2E|Kernel panic' || true; }
expect() {  # expect LOG WHAT PATTERN
  grep -qE -- "$3" "$1" || { show "$1"; fail "$2: no '$3' on the serial console"; }
  pass "$2"
}

echo "boot 1: only a medium with the wrong identity"
boot "$T/boot1.log" "$T/initrd" "imager.timeout=3" \
  -drive "file=$T/wrong.iso,media=cdrom,if=ide,readonly=on"
show "$T/boot1.log"
expect "$T/boot1.log" "wrong identity rejected with both ids" \
  "/dev/sr0 \[cdrom[^]]*\] via cdrom: iso9660: wrong identity: /.imager-id holds \"someone-elses-build\", this build is \"$GOOD_ID\""
expect "$T/boot1.log" "failure says what it probed" "examined [0-9]+ device\(s\) in [0-9]+ round\(s\)"
expect "$T/boot1.log" "no device for virtio reported" "no device matched: virtio"
expect "$T/boot1.log" "clean power-off after failure" "BOOT FAILED: this build's medium was not found"
grep -q IMAGER-E2E-INIT "$T/boot1.log" && fail "the wrong medium was booted"
grep -q 'Kernel panic' "$T/boot1.log" && fail "kernel panic in boot 1"

echo "boot 2: wrong medium on the CD drive, ours on virtio, order cdrom,virtio"
boot "$T/boot2.log" "$T/initrd" "" \
  -drive "file=$T/wrong.iso,media=cdrom,if=ide,readonly=on" \
  -drive "file=$T/good.iso,if=virtio,format=raw,readonly=on"
show "$T/boot2.log"
expect "$T/boot2.log" "cdrom probed first and rejected" "/dev/sr0 \[cdrom[^]]*\] via cdrom: iso9660: wrong identity"
expect "$T/boot2.log" "virtio medium accepted" "medium /dev/vda \(iso9660\) accepted"
expect "$T/boot2.log" "image init ran as pid 1 on a writable overlay" \
  "IMAGER-E2E-INIT pid=1 root=overlay writable=yes toram=no medium=$GOOD_ID image=/run/imager/medium/live/filesystem.squashfs[[:space:]]*$"
[ "$(grep -n 'sr0' "$T/boot2.log" | head -1 | cut -d: -f1)" -lt \
  "$(grep -n 'medium /dev/vda' "$T/boot2.log" | cut -d: -f1)" ] || fail "vda examined before sr0"

echo "boot 3: imager.toram, imager.probe=/dev/vd*"
boot "$T/boot3.log" "$T/initrd" "imager.toram imager.probe=/dev/vd*" \
  -drive "file=$T/wrong.iso,media=cdrom,if=ide,readonly=on" \
  -drive "file=$T/good.iso,if=virtio,format=raw,readonly=on"
show "$T/boot3.log"
expect "$T/boot3.log" "path spec selects vda" "/dev/vda \[virtio,disk\] via /dev/vd\*: iso9660: accepted"
grep -q '/dev/sr0' "$T/boot3.log" && fail "sr0 was probed although the order names only /dev/vd*"
expect "$T/boot3.log" "medium released after toram" "toram: medium released"
expect "$T/boot3.log" "image runs from RAM" "IMAGER-E2E-INIT pid=1 root=overlay writable=yes toram=yes medium=none image=/run/imager/ram/0.squashfs[[:space:]]*$"
echo "boot 4: wrong medium only, the initramfs ships /bin/sh: the emergency shell takes commands"
mkfifo "$T/console-in"
start=$SECONDS
timeout 300 qemu-system-x86_64 -machine pc -accel tcg -m 512 -smp 1 \
  -display none -monitor none -serial stdio -no-reboot \
  -kernel "$VMLINUZ" -initrd "$T/initrd-shell" \
  -append "console=ttyS0 panic=-1 loglevel=4 imager.timeout=2" \
  -drive "file=$T/wrong.iso,media=cdrom,if=ide,readonly=on" <"$T/console-in" >"$T/boot4.log" 2>&1 &
qemu=$!
exec 9>"$T/console-in"
for _ in $(seq 240); do
  grep -q 'BOOT FAILED' "$T/boot4.log" && break
  kill -0 $qemu 2>/dev/null || break
  sleep 1
done
sleep 2  # let the shell reach its prompt
echo 'echo SHELL-$((6*7))' >&9
echo '/bin/busybox poweroff -f' >&9
wait $qemu || fail "qemu exited with $? in boot 4"
exec 9>&-
echo "   boot took $((SECONDS - start)) s"
show "$T/boot4.log"
expect "$T/boot4.log" "failure reported before the shell" "BOOT FAILED: this build's medium was not found"
expect "$T/boot4.log" "emergency shell ran a command" "SHELL-42"
echo "PASS"
