#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The default profile (profiles/debian-live.yaml) as a raw disk image (output.formats: [raw]),
# built cold by `imager build`, against the same disk assembled rootless from peer tools:
#   mmdebstrap --mode=unshare (minbase + linux-image-amd64 + systemd-sysv, user live/live,
#     fstab and GRUB menu by UUID; Debian's initramfs-tools makes the initrd) -> a tarball
#   -> mke2fs -d of it unpacked (inside mmdebstrap --unshare-helper, so owners are kept)
#   -> ESP (mkfs.fat + mcopy: shim, signed GRUB, a menu that finds the root)
#   -> sfdisk (GPT: BIOS boot, ESP, root), dd of both filesystems, grub-mkimage's core.img in the
#      BIOS boot partition and boot.img in the MBR, patched as grub-bios-setup does (python).
# The peers' disk is booted once under BIOS to check that it is the same kind of thing; with
# BOOT=1 both disks are booted (BIOS) and the seconds to login: printed.
#
# Run as an unprivileged user with a subordinate id range:
#   bash bench/disk_vs_peers.sh [RUNS]
# Packages come from a local signed file:// mirror made from imager's package cache
# (bench/local_mirror.sh), resolved and downloaded once through the host's apt mirror (untimed,
# into SEED_CACHE, default ~/.cache/imager). "Cold": imager gets an empty --cache-dir and no lock;
# mmdebstrap runs apt-get update and downloads from the same mirror. Runs alternate imager,
# peers, imager, ... Environment: IMAGER (default build/imager), KEEP=1 keeps the work directory.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
runs=${1:-1}
IMAGER=${IMAGER:-$PWD/build/imager}
SEED_CACHE=${SEED_CACHE:-$HOME/.cache/imager}
PATH=$PATH:/usr/sbin:/sbin
for tool in mmdebstrap mke2fs sfdisk dpkg-deb dpkg-scanpackages gpg xz python3 /usr/bin/time \
  qemu-system-x86_64; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
done
[[ $(id -u) != 0 ]] || { echo "run this as an unprivileged user (e.g. runuser -u USER)" >&2; exit 2; }

W=$(mktemp -d /tmp/imager-disk-bench.XXXXXX)
chmod 755 "$W" # mmdebstrap's apt runs as a subordinate id and must read the mirror
prune() { "$IMAGER" -q cache prune --all --cache-dir "$1" >/dev/null 2>&1 || true; rm -rf "$1"; }
cleanup() {
  GNUPGHOME=$W/gnupg gpgconf --kill gpg-agent 2>/dev/null || true
  [[ -n ${KEEP:-} ]] && { echo "kept $W"; return; }
  prune "$W/cache-imager"
  [ ! -d "$W/peer/root" ] || mmdebstrap --unshare-helper rm -rf "$W/peer/root" 2>/dev/null || true
  chmod -R u+rwX "$W" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- 1. the package set and a local mirror of it (not timed) -------------------------------------
mkdir -p "$W/net" "$W/prof"
sed 's/^output: {formats: \[iso\]/output: {formats: [raw]/' "$src/profiles/debian-live.yaml" \
  >"$W/net/debian-live.yaml"
grep -q "formats: \[raw\]" "$W/net/debian-live.yaml" || { echo "could not set formats: [raw]" >&2; exit 1; }
cp -r "$src/profiles/keys" "$W/net/"
"$IMAGER" -q fetch "$W/net/debian-live.yaml" --cache-dir "$SEED_CACHE" >/dev/null
# shellcheck source=local_mirror.sh
source "$src/bench/local_mirror.sh"
make_local_mirror "$W" "$SEED_CACHE" "$W/net/debian-live.lock"
M=$W/mirror

# --- 2. the two pipelines ------------------------------------------------------------------------
sed -e "s|mirror: auto .*|mirror: \"file://$M\"|" -e "s|keyring: keys/debian-bookworm.asc|keyring: $W/bench.asc|" \
  "$W/net/debian-live.yaml" >"$W/prof/debian-live.yaml"
grep -q "file://$M" "$W/prof/debian-live.yaml" || { echo "could not point the profile at the mirror" >&2; exit 1; }
imager_cmd=("$IMAGER" build "$W/prof/debian-live.yaml" --cache-dir "$W/cache-imager" -o "$W/out")

# The peers: fixed UUIDs as imager has them, the menu and fstab written by hooks.
root_uuid=5f1e0c2a-6d1b-4c1e-9a5e-3b7f2d9c8e41
cat >"$W/grub.cfg" <<EOF
search --no-floppy --fs-uuid --set=root $root_uuid
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=3
set default=0
menuentry "peer disk" {
  linux /vmlinuz root=UUID=$root_uuid ro quiet console=tty0 console=ttyS0,115200
  initrd /initrd.img
}
EOF
chmod 644 "$W/grub.cfg"
mm_cmd=(mmdebstrap -q --mode=unshare --variant=minbase --include=linux-image-amd64,systemd-sysv
  --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount --keyring="$W/bench.gpg"
  --customize-hook='echo debian-live >"$1/etc/hostname"'
  --customize-hook='chroot "$1" groupadd -f sudo && chroot "$1" useradd -m -s /bin/bash -G sudo live && echo live:live | chroot "$1" chpasswd'
  --customize-hook="echo 'UUID=$root_uuid / ext4 defaults,errors=remount-ro,x-systemd.growfs 0 1' >\"\$1/etc/fstab\""
  --customize-hook='mkdir -p "$1/boot/grub"' --customize-hook="copy-in $W/grub.cfg /boot/grub"
  bookworm "$W/peer/rootfs.tar" "file://$M")
# The root: the tarball unpacked with its owners (as root of a user namespace over the
# subordinate range, which writes $W/peer as its first subordinate id), then mke2fs -d; 30% +
# 64 MiB over the tarball, as a size from the content.
cat >"$W/peer-root.sh" <<'SH'
set -euo pipefail
P=$1 uuid=$2
mib=$(( $(stat -c %s "$P/rootfs.tar") * 13 / 10 / 1048576 + 64 ))
mkdir -p "$P/root"
# No device nodes: a user namespace cannot mknod them (the booted system's /dev is devtmpfs).
tar -C "$P/root" --numeric-owner --exclude='./dev/*' -xpf "$P/rootfs.tar"
mke2fs -q -t ext4 -L root -U "$uuid" -d "$P/root" "$P/root.ext4" "${mib}M"
rm -rf "$P/root"
SH
root_cmd=(mmdebstrap --unshare-helper bash "$W/peer-root.sh" "$W/peer" "$root_uuid")
# The boot pieces from the tools packages imager's lock has (dpkg-deb -x), the ESP, the GPT and
# GRUB's BIOS stages written into the file.
tools_debs=$(python3 - "$W/net/debian-live.lock" "$M/pool/main" <<'PY'
import json, sys
for p in json.load(open(sys.argv[1]))["tools"]:
    ver = p["version"].split(":", 1)[-1]
    print(f"{sys.argv[2]}/{p['name']}_{ver}_{p['architecture']}.deb")
PY
)
tools_debs=$(echo $tools_debs | tr '\n' ' ')
cat >"$W/peer-disk.sh" <<'SH'
set -euo pipefail
P=$1 uuid=$2; shift 2
T=$P/tools
rm -rf "$T" "$P/esp" "$P/esp.img" "$P/disk.raw"
mkdir -p "$T" "$P/esp/EFI/BOOT" "$P/esp/boot/grub"
for d in "$@"; do dpkg-deb -x "$d" "$T"; done
cp "$T/usr/lib/shim/shimx64.efi.signed" "$P/esp/EFI/BOOT/BOOTX64.EFI"
cp "$T/usr/lib/shim/mmx64.efi.signed" "$P/esp/EFI/BOOT/mmx64.efi"
cp "$T/usr/lib/grub/x86_64-efi-signed/gcdx64.efi.signed" "$P/esp/EFI/BOOT/grubx64.efi"
printf 'search --no-floppy --fs-uuid --set=root %s\nset prefix=($root)/boot/grub\nconfigfile $prefix/grub.cfg\n' \
  "$uuid" >"$P/esp/boot/grub/grub.cfg"
esp_mib=$(( $(du -sk --apparent-size "$P/esp" | cut -f1) / 1024 + 2 ))
"$T/sbin/mkfs.fat" -C -n ESP "$P/esp.img" $((esp_mib * 1024)) >/dev/null
export MTOOLS_SKIP_CHECK=1
"$T/usr/bin/mmd" -i "$P/esp.img" ::/EFI ::/EFI/BOOT ::/boot ::/boot/grub
"$T/usr/bin/mcopy" -i "$P/esp.img" "$P"/esp/EFI/BOOT/* ::/EFI/BOOT/
"$T/usr/bin/mcopy" -i "$P/esp.img" "$P/esp/boot/grub/grub.cfg" ::/boot/grub/
"$T/usr/bin/grub-mkimage" -O i386-pc -d "$T/usr/lib/grub/i386-pc" -p '(,gpt3)/boot/grub' \
  -o "$P/core.img" biosdisk part_gpt ext2 search search_fs_uuid normal linux boot configfile \
  echo test serial terminal sleep reboot halt
root_mib=$(( ($(stat -c %s "$P/root.ext4") + 1048575) / 1048576 ))
truncate -s $(( (2 + esp_mib + root_mib + 1) * 1048576 )) "$P/disk.raw"
sfdisk -q "$P/disk.raw" <<EOF
label: gpt
start=2048, size=2048, type=21686148-6449-6E6F-744E-656564454649, name="BIOS boot"
start=4096, size=$((esp_mib * 2048)), type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="EFI System"
start=$(( (2 + esp_mib) * 2048 )), size=$((root_mib * 2048)), type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name=root
EOF
dd if="$P/esp.img" of="$P/disk.raw" bs=1M seek=2 conv=notrunc,sparse status=none
dd if="$P/root.ext4" of="$P/disk.raw" bs=1M seek=$((2 + esp_mib)) conv=notrunc,sparse status=none
# grub-bios-setup without a device (as osbuild's grub2.inst): boot.img's code in the MBR with
# core.img's LBA, the drive check skipped; core.img's first sector gets its blocklist.
python3 - "$P/disk.raw" "$T/usr/lib/grub/i386-pc/boot.img" "$P/core.img" <<'PY'
import struct, sys
disk, boot, core = sys.argv[1], open(sys.argv[2], "rb").read(), bytearray(open(sys.argv[3], "rb").read())
code = bytearray(boot[:440])
struct.pack_into("<Q", code, 0x5c, 2048)
if code[0x66] == 0xeb:
    code[0x66:0x68] = b"\x90\x90"
struct.pack_into("<QH", core, 500, 2049, (len(core) + 511) // 512 - 1)
with open(disk, "r+b") as f:
    f.write(code)
    f.seek(2048 * 512)
    f.write(core)
PY
rm -f "$P/esp.img" "$P/root.ext4" "$P/core.img"
SH
disk_cmd=(bash "$W/peer-disk.sh" "$W/peer" "$root_uuid")
echo "imager:     ${imager_cmd[*]}"
echo "mmdebstrap: ${mm_cmd[*]}"
echo "root:       ${root_cmd[*]} (tar -xp, mke2fs -d)"
echo "disk:       bash peer-disk.sh (dpkg-deb -x of the lock's $(wc -w <<<"$tools_debs") tools packages; mkfs.fat, mcopy; grub-mkimage; sfdisk; dd; boot.img/core.img patch)"

: >"$W/times"
# timed TAG RUN CMD...: wall, CPU user, CPU sys, max RSS into $W/times
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
  echo "run $i: imager stages:" $(tr '\r' '\n' <"$W/imager.log" | grep -oE '[a-z0-9]+: done in [0-9][0-9.ms ]*' | tr '\n' ' ')
  [ ! -d "$W/peer/root" ] || mmdebstrap --unshare-helper rm -rf "$W/peer/root"
  rm -rf "$W/peer"
  # Written by the user namespace's root (the first subordinate id) as well as by this user.
  mkdir -m 777 -p "$W/peer"
  timed mmdebstrap "$i" "${mm_cmd[@]}"
  timed root "$i" "${root_cmd[@]}"
  # shellcheck disable=SC2086
  timed disk "$i" "${disk_cmd[@]}" $tools_debs
  grep " $i " "$W/times" | sed "s/^/run $i: /"
done
ls -ls "$W/out/debian-live.raw" "$W/peer/disk.raw"

# --- 3. boot to login ----------------------------------------------------------------------------
: >"$W/boots"
boot() {  # boot TAG DISK [imager boot options]
  local tag=$1 disk=$2
  shift 2
  local t0 t1
  t0=$(date +%s.%N)
  if "$IMAGER" boot "$@" "$disk" --memory 1024 --expect 'login:' --timeout 600 --log "$W/$tag.serial" \
    >/dev/null 2>"$W/$tag.err"; then
    t1=$(date +%s.%N)
    echo "$tag $(python3 -c "print(f'{$t1 - $t0:.1f}')")" >>"$W/boots"
  else
    echo "$tag FAILED" >>"$W/boots"
    tail -25 "$W/$tag.serial" >&2 || true
    cat "$W/$tag.err" >&2
  fi
  tail -1 "$W/boots"
}
[[ ${BOOT:-0} == 0 ]] || boot imager-bios "$W/out/debian-live.raw"
boot peer-bios "$W/peer/disk.raw"

# --- 4. summary ----------------------------------------------------------------------------------
python3 - "$W/times" <<'PY'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    tag, run, wall, user, sys_, kb = line.split()
    t.setdefault(tag, []).append((float(wall), float(user) + float(sys_), int(kb)))
mean = statistics.mean
def row(name, rows):
    w = [r[0] for r in rows]; c = [r[1] for r in rows]
    sd = f" ± {statistics.stdev(w):.1f}" if len(w) > 1 else ""
    print(f"{name:28} wall {mean(w):7.1f} s{sd} (runs: {', '.join(f'{x:.1f}' for x in w)}); CPU {mean(c):7.1f} s")
    return mean(w), mean(c)
steps = ("mmdebstrap", "root", "disk")
iw, ic = row("imager build (raw)", t["imager"])
for s in steps:
    row(f"  peer: {s}", t[s])
n = len(t["imager"])
tot = [tuple(sum(t[s][i][k] for s in steps) for k in (0, 1)) for i in range(n)]
pw, pc = row("peers total", [(a, b, 0) for a, b in tot])
print(f"imager / peers: wall {iw / pw:.2f} (target <= 0.5), CPU {ic / pc:.2f}")
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
