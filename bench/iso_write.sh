#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Hybrid ISO writing: `imager internal write-iso` (libisofs in process) against
# `xorriso -as mkisofs` with the same image: Rock Ridge, Joliet, ISO level 3, isolinux El Torito
# with boot info table and isohybrid MBR (when syslinux is installed), an ESP appended as
# partition 2 (0xef) and named by the El Torito UEFI entry, GPT, SOURCE_DATE_EPOCH times.
# The tree: a BIG_MB (default 400) MiB random file standing in for the squashfs, a copy of the
# host's /usr/share/doc (many small files) and isolinux. Runs alternate imager, xorriso, imager,
# ... (after one untimed warm-up of each) so load on a shared machine falls on both; wall and CPU
# time come from /usr/bin/time. Prints the ratios (imager / xorriso) and the image sizes.
#   bash bench/iso_write.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
big_mb=${BIG_MB:-400}
IMAGER=${IMAGER:-$PWD/build/imager}
for t in xorriso mkfs.fat python3 /usr/bin/time; do
  command -v $t >/dev/null ||
    { echo "bench: $t is missing (apt-get install xorriso dosfstools python3 time)"; exit 1; }
done
W=$(mktemp -d /tmp/imager-iso-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT

tree=$W/tree
mkdir -p "$tree/live" "$tree/isolinux"
head -c $((big_mb * 1024 * 1024)) /dev/urandom >"$tree/live/filesystem.squashfs"
cp -r /usr/share/doc "$tree/doc"
mkfs.fat -C "$W/efi.img" 8192 >/dev/null
epoch=1764593311
imager_boot=() xorriso_boot=()
if [ -r /usr/lib/ISOLINUX/isolinux.bin ] && [ -r /usr/lib/ISOLINUX/isohdpfx.bin ]; then
  cp /usr/lib/ISOLINUX/isolinux.bin "$tree/isolinux/"
  imager_boot=(--bios-boot isolinux/isolinux.bin --bios-catalog isolinux/boot.cat
    --isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin)
  xorriso_boot=(-isohybrid-mbr /usr/lib/ISOLINUX/isohdpfx.bin -b isolinux/isolinux.bin
    -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table -eltorito-alt-boot
    -isohybrid-gpt-basdat)
else
  echo "bench: isolinux/syslinux-common not installed: no BIOS boot in either image"
fi
imager_cmd=("$IMAGER" internal write-iso --quiet --root "$tree" --output "$W/imager.iso"
  --volume-id BENCH --epoch $epoch "${imager_boot[@]}" --efi-image "$W/efi.img")
xorriso_cmd=(env SOURCE_DATE_EPOCH=$epoch xorriso -as mkisofs -quiet -R -J -iso-level 3
  -V BENCH -o "$W/xorriso.iso" "${xorriso_boot[@]}"
  -e --interval:appended_partition_2:all:: -no-emul-boot
  -append_partition 2 0xef "$W/efi.img" "$tree")
echo "tree: $(du -sh --apparent-size "$tree" | cut -f1), $(find "$tree" | wc -l) entries;" \
  "xorriso $(xorriso -version 2>/dev/null | awk '/^xorriso version/ { print $4; exit }')"

run() {  # NAME ROUND COMMAND...: one timed run, "NAME wall user sys" appended to times
  local name=$1 round=$2
  shift 2
  /usr/bin/time -f "$name %e %U %S" -a -o "$W/times.$round" "$@" >/dev/null
}
run imager warmup "${imager_cmd[@]}"
run xorriso warmup "${xorriso_cmd[@]}"
for i in $(seq "$runs"); do
  run imager runs "${imager_cmd[@]}"
  run xorriso runs "${xorriso_cmd[@]}"
done

python3 - "$W" <<'PY'
import os, statistics, sys
w = sys.argv[1]
t = {}
for line in open(f"{w}/times.runs"):
    f = line.split()
    if len(f) == 4 and f[0] in ("imager", "xorriso"):
        t.setdefault(f[0], []).append((float(f[1]), float(f[2]) + float(f[3])))
print(f"{'writer':8} {'runs':>4} {'wall s (mean ± sd)':>20} {'cpu s':>7} {'image bytes':>12}")
for n, v in t.items():
    wall = [x[0] for x in v]
    cpu = [x[1] for x in v]
    sd = statistics.stdev(wall) if len(wall) > 1 else 0.0
    print(f"{n:8} {len(v):4} {statistics.mean(wall):12.2f} ± {sd:5.2f} "
          f"{statistics.mean(cpu):7.2f} {os.path.getsize(f'{w}/{n}.iso'):12}")
mw = {n: statistics.mean(x[0] for x in v) for n, v in t.items()}
mc = {n: statistics.mean(x[1] for x in v) for n, v in t.items()}
print(f"imager / xorriso: wall {mw['imager'] / mw['xorriso']:.2f}, "
      f"cpu {mc['imager'] / mc['xorriso']:.2f}, "
      f"size {os.path.getsize(f'{w}/imager.iso') / os.path.getsize(f'{w}/xorriso.iso'):.4f}")
PY
for n in imager xorriso; do
  echo "== $n: $(xorriso -indev "$W/$n.iso" -report_system_area plain 2>/dev/null |
    awk -F': ' '/System area summary/ { print $2 }')"
done
