#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# initramfs compression: formats::initramfs::Write on a realistic booter initramfs (a static
# binary + 60 kernel modules of storage and filesystem drivers) at several zstd levels, and xz and
# gzip for comparison: output size, write time (best of RUNS) and `zstd -d`/`xz -d`/`gzip -d`
# time as a proxy for the kernel's unpacking.
#   bash bench/initramfs_levels.sh [RUNS]
# Modules come from KMODDIR (a lib/modules/RELEASE tree; default: the e2e test kernel in
# ~imager-test/.cache or ~/.cache), the binary from BIN (default: /bin/busybox, static).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
BIN=${BIN:-/bin/busybox}
KMODDIR=${KMODDIR:-$(ls -d ~/.cache/imager/test-kernel/lib/modules/* ~imager-test/.cache/imager/test-kernel/lib/modules/* 2>/dev/null | head -1 || true)}
[ -d "$KMODDIR/kernel" ] || { echo "bench: no module tree (set KMODDIR)"; exit 1; }
W=$(mktemp -d /tmp/imager-initramfs-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT

# A driver around Write(): LIST (path<TAB>source lines) COMPRESSION LEVEL OUT.
cat >"$W/driver.cc" <<'CC'
#include <chrono>
#include <fstream>
#include <iostream>
#include "formats/initramfs.h"
using namespace imager::formats::initramfs;
int main(int argc, char** argv) {
  std::vector<Entry> entries;
  std::ifstream list(argv[1]);
  std::string line;
  while (std::getline(list, line)) {
    auto tab = line.find('\t');
    entries.push_back({line.substr(0, tab), Entry::kFile, line.substr(tab + 1)});
  }
  auto c = ParseCompression(argv[2]);
  WriteOptions o{.output = argv[4], .compression = *c, .level = std::stoi(argv[3])};
  auto t0 = std::chrono::steady_clock::now();
  auto r = Write(entries, o);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!r) { std::cerr << r.error() << "\n"; return 1; }
  std::cout << r->bytes << " " << r->output_bytes << " " << s << "\n";
}
CC
g++ -std=c++20 -O2 -I. "$W/driver.cc" formats/initramfs.cc base/strings.cc base/fd.cc -larchive -llzma \
  -o "$W/driver"

rel=$(basename "$KMODDIR")
printf 'init\t%s\n' "$BIN" >"$W/list"
find "$KMODDIR"/kernel/{drivers/ata,drivers/usb/storage,drivers/scsi,drivers/block,drivers/nvme,drivers/virtio,drivers/cdrom,fs/isofs,fs/squashfs,fs/overlayfs,fs/ext4,fs/fat,fs/nls} \
  -name '*.ko*' 2>/dev/null | LC_ALL=C sort | head -60 |
  while read -r m; do printf 'lib/modules/%s/%s\t%s\n' "$rel" "${m#"$KMODDIR"/}" "$m"; done >>"$W/list"
echo "input: $(($(wc -l <"$W/list") - 1)) modules from $KMODDIR + $BIN"

printf '%-8s %6s %10s %9s %8s %10s\n' codec level bytes ratio write_s unpack_s
for spec in zstd:1 zstd:3 zstd:9 zstd:15 zstd:19 xz:6 gzip:9; do
  codec=${spec%:*} level=${spec#*:}
  best=999
  for _ in $(seq "$runs"); do
    read -r raw out s < <("$W/driver" "$W/list" "$codec" "$level" "$W/out")
    best=$(python3 -c "print(min($best, $s))")
  done
  case $codec in zstd) dec="zstd -dc" ;; xz) dec="xz -dc" ;; gzip) dec="gzip -dc" ;; esac
  t0=$(date +%s.%N)
  for _ in $(seq 5); do $dec "$W/out" >/dev/null; done
  unpack=$(python3 -c "print(($(date +%s.%N) - $t0) / 5)")
  printf '%-8s %6s %10s %9.3f %8.2f %10.3f\n' "$codec" "$level" "$out" \
    "$(python3 -c "print($out / $raw)")" "$best" "$unpack"
done
echo "uncompressed content: $raw bytes"
