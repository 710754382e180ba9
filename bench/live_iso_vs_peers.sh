#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The default profile's live ISO (profiles/debian-live.yaml), built cold by `imager build`, against
# the same live ISO assembled rootless from peer tools:
#   mmdebstrap --mode=unshare (minbase + the image's packages + live-boot, user live/live)
#   -> tar2sqfs (imager's squashfs settings: zstd level 15, 128 KiB blocks, one job per core)
#   -> ESP (mkfs.fat + mcopy: shim, signed GRUB) + xorriso -as mkisofs (isolinux + ESP, hybrid).
# Then: both ISOs booted in QEMU (TCG, `imager boot --expect login:`), BIOS and UEFI, seconds to
# the login prompt; and the size of imager's initrd against the live-boot initrd that Debian's
# initramfs-tools made in the peer's rootfs.
#
# Run as an unprivileged user with a subordinate id range:
#   bash bench/live_iso_vs_peers.sh [RUNS]
# Both read the packages from a local signed file:// mirror made from imager's package cache, so
# the network is out of the measurement; the package set is resolved and downloaded once through
# the host's apt mirror (untimed, into SEED_CACHE, default ~/.cache/imager). "Cold": imager gets
# an empty --cache-dir and no lock (it resolves, copies the packages from the file:// mirror and
# builds every stage); mmdebstrap runs apt-get update and downloads from the same mirror.
# Runs alternate imager, peers, imager, ... Environment: IMAGER (default build/imager), KEEP=1
# keeps the work directory, BOOT=0 skips the boots, UEFI=0 skips the UEFI boots.
# The profile of issue 22's [iso, tar] measurement: EXTRA=iproute2,less,vim-tiny adds packages to
# both sides' include list, TAR=1 asks imager for output.formats [iso, tar] and gives the peers a
# timed `gzip -n` of mmdebstrap's tarball (libarchive's gzip level is gzip's default, 6).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
runs=${1:-1}
IMAGER=${IMAGER:-$PWD/build/imager}
SEED_CACHE=${SEED_CACHE:-$HOME/.cache/imager}
jobs=$(nproc)
for tool in mmdebstrap tar2sqfs xorriso dpkg-deb dpkg-scanpackages gpg xz python3 /usr/bin/time \
  qemu-system-x86_64; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
done
[[ $(id -u) != 0 ]] || { echo "run this as an unprivileged user (e.g. runuser -u USER)" >&2; exit 2; }

W=$(mktemp -d /tmp/imager-live-bench.XXXXXX)
chmod 755 "$W"  # mmdebstrap's apt runs as a subordinate id and must read the mirror
prune() { "$IMAGER" -q cache prune --all --cache-dir "$1" >/dev/null 2>&1 || true; rm -rf "$1"; }
cleanup() {
  GNUPGHOME=$W/gnupg gpgconf --kill gpg-agent 2>/dev/null || true
  [[ -n ${KEEP:-} ]] && { echo "kept $W"; return; }
  prune "$W/cache-imager"
  chmod -R u+rwX "$W" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- 1. the package sets, through the host's mirror (not timed) ----------------------------------
# imager's: the shipped profile (its packages and its tools: isolinux, shim, GRUB, mtools, ...).
# The peers': the same include list + live-boot (what makes initramfs-tools build a live initrd).
mkdir -p "$W/net"
extra=${EXTRA:+, ${EXTRA//,/, }}
formats=iso
[[ ${TAR:-0} == 1 ]] && formats="iso, tar"
sed -e "s/include: \[linux-image-amd64, systemd-sysv\]/include: [linux-image-amd64, systemd-sysv$extra]/" \
  -e "s/^output: {formats: \[iso\]/output: {formats: [$formats]/" \
  "$src/profiles/debian-live.yaml" >"$W/net/debian-live.yaml"
grep -q "formats: \[$formats\]" "$W/net/debian-live.yaml" || { echo "could not set the formats" >&2; exit 1; }
cp -r "$src/profiles/keys" "$W/net/"
sed 's/include: \[linux-image-amd64, systemd-sysv/include: [linux-image-amd64, systemd-sysv, live-boot/' \
  "$W/net/debian-live.yaml" | sed 's/^name: debian-live/name: peer-live/' >"$W/net/peer-live.yaml"
grep -q live-boot "$W/net/peer-live.yaml" || { echo "could not add live-boot to the profile" >&2; exit 1; }
"$IMAGER" -q fetch "$W/net/debian-live.yaml" --cache-dir "$SEED_CACHE" >/dev/null
"$IMAGER" -q fetch "$W/net/peer-live.yaml" --cache-dir "$SEED_CACHE" >/dev/null

# --- 2. a signed file:// mirror with the union of both sets (hard links or copies) ---------------
# shellcheck source=local_mirror.sh
source "$src/bench/local_mirror.sh"
make_local_mirror "$W" "$SEED_CACHE" "$W/net/debian-live.lock" "$W/net/peer-live.lock"
M=$W/mirror

# --- 3. the two pipelines ------------------------------------------------------------------------
# imager: the shipped profile, only its mirror and key pointed at the local mirror.
mkdir -p "$W/prof"
sed -e "s|mirror: auto .*|mirror: \"file://$M\"|" -e "s|keyring: keys/debian-bookworm.asc|keyring: $W/bench.asc|" \
  "$W/net/debian-live.yaml" >"$W/prof/debian-live.yaml"
grep -q "file://$M" "$W/prof/debian-live.yaml" || { echo "could not point the profile at the mirror" >&2; exit 1; }
imager_cmd=("$IMAGER" build "$W/prof/debian-live.yaml" --cache-dir "$W/cache-imager" -o "$W/out")

# The peers: the same package set + live-boot; the profile's hostname and user (live/live, group
# sudo as imager creates it); a serial getty comes from systemd's getty generator (console=ttyS0).
# copy-out of /boot gives the kernel and the live-boot initrd initramfs-tools made.
# shellcheck disable=SC2054 # the commas are mmdebstrap's list
mm_cmd=(mmdebstrap -q --mode=unshare --variant=minbase --include=linux-image-amd64,systemd-sysv,live-boot${EXTRA:+,$EXTRA}
  --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount --keyring="$W/bench.gpg"
  --customize-hook='echo debian-live >"$1/etc/hostname"'
  --customize-hook='chroot "$1" groupadd -f sudo && chroot "$1" useradd -m -s /bin/bash -G sudo live && echo live:live | chroot "$1" chpasswd'
  --customize-hook="sync-out /boot $W/peer/boot"
  bookworm "$W/peer/rootfs.tar" "file://$M")
# imager's squashfs writer defaults (formats/squashfs.h): zstd at libsquashfs' default level 15,
# 128 KiB blocks, one thread per core.
sq_cmd=(sh -c "tar2sqfs -q -f -c zstd -X level=15 -b 131072 -j $jobs $W/peer/iso/live/filesystem.squashfs <$W/peer/rootfs.tar")
# Boot files from the same tools packages imager's lock has (unpacked with dpkg-deb -x), menus
# like imager's (serial first, 5 s), an ESP image, and xorriso's hybrid ISO.
tools_debs=$(python3 - "$W/net/debian-live.lock" "$M/pool/main" <<'PY'
import json, sys
for p in json.load(open(sys.argv[1]))["tools"]:
    ver = p["version"].split(":", 1)[-1]
    print(f"{sys.argv[2]}/{p['name']}_{ver}_{p['architecture']}.deb")
PY
)
tools_debs=$(echo $tools_debs | tr '\n' ' ')
cat >"$W/peer-iso.sh" <<'SH'
set -euo pipefail
P=$1; shift
T=$P/tools; I=$P/iso
rm -rf "$T" "$P/esp" "$P/efi.img" "$I/isolinux" "$I/boot" "$I/EFI"
mkdir -p "$T" "$I/isolinux" "$I/boot/grub" "$P/esp/EFI/BOOT" "$P/esp/boot/grub"
for d in "$@"; do dpkg-deb -x "$d" "$T"; done
cp "$P"/boot/vmlinuz-* "$I/live/vmlinuz"
cp "$P"/boot/initrd.img-* "$I/live/initrd.img"
cp "$T/usr/lib/ISOLINUX/isolinux.bin" "$I/isolinux/"
for m in ldlinux.c32 menu.c32 libutil.c32; do cp "$T/usr/lib/syslinux/modules/bios/$m" "$I/isolinux/"; done
append="boot=live quiet console=tty0 console=ttyS0,115200"
cat >"$I/isolinux/isolinux.cfg" <<EOF
SERIAL 0 115200
UI menu.c32
MENU TITLE peer live
TIMEOUT 50
DEFAULT live
LABEL live
  MENU LABEL peer live
  LINUX /live/vmlinuz
  INITRD /live/initrd.img
  APPEND $append
EOF
echo "peer-live-bench" >"$I/.peer-live-id"
cat >"$I/boot/grub/grub.cfg" <<EOF
search --no-floppy --file --set=root /.peer-live-id
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=5
set default=0
menuentry "peer live" {
  linux /live/vmlinuz $append
  initrd /live/initrd.img
}
EOF
cp "$T/usr/lib/shim/shimx64.efi.signed" "$P/esp/EFI/BOOT/BOOTX64.EFI"
cp "$T/usr/lib/shim/mmx64.efi.signed" "$P/esp/EFI/BOOT/mmx64.efi"
cp "$T/usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed" "$P/esp/EFI/BOOT/grubx64.efi"
cat >"$P/esp/boot/grub/grub.cfg" <<EOF
search --no-floppy --file --set=root /.peer-live-id
set prefix=(\$root)/boot/grub
configfile \$prefix/grub.cfg
EOF
kib=$(( ($(du -sk --apparent-size "$P/esp" | cut -f1) / 1024 + 2) * 1024 ))
"$T/sbin/mkfs.fat" -C -n EFIBOOT "$P/efi.img" "$kib" >/dev/null
export MTOOLS_SKIP_CHECK=1
"$T/usr/bin/mmd" -i "$P/efi.img" ::/EFI ::/EFI/BOOT ::/boot ::/boot/grub
"$T/usr/bin/mcopy" -i "$P/efi.img" "$P"/esp/EFI/BOOT/* ::/EFI/BOOT/
"$T/usr/bin/mcopy" -i "$P/efi.img" "$P/esp/boot/grub/grub.cfg" ::/boot/grub/
xorriso -as mkisofs -quiet -o "$P/peer-live.iso" -V DEBIAN_LIVE -R -J -iso-level 3 \
  -isohybrid-mbr "$T/usr/lib/ISOLINUX/isohdpfx.bin" \
  -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
  -eltorito-alt-boot -e --interval:appended_partition_2:all:: -no-emul-boot -isohybrid-gpt-basdat \
  -append_partition 2 0xef "$P/efi.img" "$I"
SH
iso_cmd=(bash "$W/peer-iso.sh" "$W/peer")
echo "imager:     ${imager_cmd[*]}"
echo "mmdebstrap: ${mm_cmd[*]}"
echo "squashfs:   ${sq_cmd[*]}"
echo "iso:        bash peer-iso.sh (dpkg-deb -x of the lock's $(wc -w <<<"$tools_debs") tools packages; mkfs.fat, mcopy; xorriso -as mkisofs)"

: >"$W/times"
# time TAG RUN CMD...: wall, CPU user, CPU sys, max RSS into $W/times
timed() {
  local tag=$1 run=$2
  shift 2
  sync
  /usr/bin/time -f "$tag $run %e %U %S %M" -a -o "$W/times" "$@" >"$W/$tag.log" 2>&1 ||
    { tail -40 "$W/$tag.log" >&2; echo "$tag failed (run $run)" >&2; exit 1; }
}
for ((i = 1; i <= runs; i++)); do
  prune "$W/cache-imager"
  rm -rf "$W/out" "$W/prof/debian-live.lock"
  timed imager "$i" "${imager_cmd[@]}"
  echo "run $i: imager stages:" $(tr '\r' '\n' <"$W/imager.log" | grep -oE '[a-z]+: done in [0-9][0-9.ms ]*' | tr '\n' ' ')
  rm -rf "$W/peer"
  mkdir -p "$W/peer/boot" "$W/peer/iso/live"
  timed mmdebstrap "$i" "${mm_cmd[@]}"
  timed squashfs "$i" "${sq_cmd[@]}"
  [[ ${TAR:-0} == 1 ]] && timed gzip "$i" gzip -n -k -f "$W/peer/rootfs.tar"
  # shellcheck disable=SC2086
  timed iso "$i" "${iso_cmd[@]}" $tools_debs
  grep " $i " "$W/times" | sed "s/^/run $i: /"
done
ls -l "$W/out/debian-live.iso" "$W/peer/peer-live.iso" "$W/peer/rootfs.tar" \
  "$W/peer/iso/live/filesystem.squashfs"
# imager's ISO stacks one image per layer (packages, config, users): their sum.
echo "squashfs images: imager $(find "$W/cache-imager/artifacts" -name '*.squashfs' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }') bytes; peer $(stat -c %s "$W/peer/iso/live/filesystem.squashfs") bytes"

# --- 4. initramfs sizes -------------------------------------------------------------------------
xorriso -osirrox on -indev "$W/out/debian-live.iso" -extract /live/initrd.img "$W/imager-initrd.img" \
  >/dev/null 2>&1
ours=$(stat -c %s "$W/imager-initrd.img")
theirs=$(stat -c %s "$W"/peer/boot/initrd.img-*)
echo "initramfs: imager $ours bytes; live-boot (initramfs-tools, $(basename "$W"/peer/boot/initrd.img-*)) $theirs bytes; ratio $(python3 -c "print(f'{$ours/$theirs:.3f}')")"

# --- 5. boot to login ----------------------------------------------------------------------------
: >"$W/boots"
boot() {  # boot TAG ISO [imager boot options]
  local tag=$1 iso=$2
  shift 2
  local t0 t1
  t0=$(date +%s.%N)
  if "$IMAGER" boot "$@" "$iso" --expect 'login:' --timeout 600 --log "$W/$tag.serial" >/dev/null 2>"$W/$tag.err"; then
    t1=$(date +%s.%N)
    echo "$tag $(python3 -c "print(f'{$t1 - $t0:.1f}')")" >>"$W/boots"
  else
    echo "$tag FAILED" >>"$W/boots"
    echo "--- $tag: no 'login:'; last serial lines:" >&2
    tail -25 "$W/$tag.serial" >&2 || true
    cat "$W/$tag.err" >&2
  fi
  tail -1 "$W/boots"
}
if [[ ${BOOT:-1} != 0 ]]; then
  for ((i = 1; i <= runs; i++)); do
    boot imager-bios "$W/out/debian-live.iso"
    boot peer-bios "$W/peer/peer-live.iso"
    if [[ ${UEFI:-1} != 0 ]]; then
      boot imager-uefi "$W/out/debian-live.iso" --uefi
      boot peer-uefi "$W/peer/peer-live.iso" --uefi
    fi
  done
fi

# --- 6. summary ----------------------------------------------------------------------------------
python3 - "$W/times" "$W/boots" <<'PY'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    tag, run, wall, user, sys_, kb = line.split()
    t.setdefault(tag, []).append((float(wall), float(user) + float(sys_), int(kb)))
mean = lambda xs: statistics.mean(xs)
def row(name, rows):
    w = [r[0] for r in rows]; c = [r[1] for r in rows]
    sd = f" ± {statistics.stdev(w):.1f}" if len(w) > 1 else ""
    print(f"{name:28} wall {mean(w):7.1f} s{sd} (runs: {', '.join(f'{x:.1f}' for x in w)}); CPU {mean(c):7.1f} s")
    return mean(w), mean(c)
iw, ic = row("imager build", t["imager"])
peer_steps = [s for s in ("mmdebstrap", "squashfs", "gzip", "iso") if s in t]
steps = [row(f"  peer: {s}", t[s]) for s in peer_steps]
n = len(t["imager"])
tot = [tuple(sum(t[s][i][k] for s in peer_steps) for k in (0, 1)) for i in range(n)]
pw, pc = row("peers total", [(a, b, 0) for a, b in tot])
print(f"imager / peers: wall {iw / pw:.2f} (target <= 0.5), CPU {ic / pc:.2f}")
b = {}
for line in open(sys.argv[2]):
    tag, v = line.split()
    b.setdefault(tag, []).append(v)
for fw in ("bios", "uefi"):
    a, p = b.get(f"imager-{fw}"), b.get(f"peer-{fw}")
    if not a or not p:
        continue
    fa = [float(x) for x in a if x != "FAILED"]; fp = [float(x) for x in p if x != "FAILED"]
    msg = f"boot {fw}: imager {', '.join(a)} s; peer {', '.join(p)} s"
    if fa and fp:
        msg += f"; ratio {mean(fa) / mean(fp):.2f}"
    print(msg)
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
