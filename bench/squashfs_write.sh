#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# squashfs writing: `imager internal write-squashfs` against mksquashfs, tar2sqfs and gensquashfs
# on the same tree with the same settings (zstd, level, 128 KiB blocks, one thread per core, tail
# packing on, no NFS export table), timed by hyperfine in one run; prints ratios (ours / theirs)
# and image sizes. tar2sqfs reads a tarball of the tree (made beforehand, its natural input).
# The tree: TREE if given, else a Debian bookworm minbase made with mmdebstrap --mode=unshare
# through the host's apt mirror, unpacked without owners or device nodes (they do not matter
# for speed). Run as an unprivileged user:
#   bash bench/squashfs_write.sh [RUNS] [TREE]        (LEVEL=15 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
tree=${2:-}
level=${LEVEL:-15}
jobs=$(nproc)
IMAGER=${IMAGER:-$PWD/build/imager}
for t in hyperfine mksquashfs tar2sqfs gensquashfs python3; do
  command -v $t >/dev/null ||
    { echo "bench: $t is missing (apt-get install hyperfine squashfs-tools squashfs-tools-ng)"; exit 1; }
done
W=$(mktemp -d /tmp/imager-sqfs-bench.XXXXXX)
trap 'chmod -R u+rwX "$W"; rm -rf "$W"' EXIT

if [ -z "$tree" ]; then
  mirror=$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  echo "making a bookworm minbase tree with mmdebstrap --mode=unshare ..."
  mmdebstrap -q --mode=unshare --variant=minbase bookworm "$W/minbase.tar" ${mirror:+"$mirror"}
  mkdir "$W/tree"
  tar -C "$W/tree" -xf "$W/minbase.tar" --no-same-owner --exclude='./dev/*'
  rm "$W/minbase.tar"
  tree=$W/tree
fi
tar -C "$tree" --sort=name -cf "$W/tree.tar" .
echo "tree: $(du -sh --apparent-size "$tree" | cut -f1), $(find "$tree" | wc -l) entries;" \
  "zstd level $level, 128 KiB blocks, $jobs threads"

hyperfine -N --warmup 1 --runs "$runs" --export-json "$W/r.json" \
  -n imager "$IMAGER internal write-squashfs $tree $W/imager.sqfs --comp zstd --level $level --block-size 131072 --threads $jobs" \
  -n mksquashfs "mksquashfs $tree $W/mksquashfs.sqfs -noappend -quiet -no-progress -comp zstd -Xcompression-level $level -b 131072 -processors $jobs -always-use-fragments -no-exports" \
  -n tar2sqfs "sh -c 'tar2sqfs -q -f -c zstd -X level=$level -b 131072 -j $jobs $W/tar2sqfs.sqfs < $W/tree.tar'" \
  -n gensquashfs "gensquashfs -q -f -c zstd -X level=$level -b 131072 -j $jobs -k -x -D $tree $W/gensquashfs.sqfs" >/dev/null

python3 - "$W" <<'PY'
import json, os, sys
w = sys.argv[1]
r = {x["command"]: x for x in json.load(open(f"{w}/r.json"))["results"]}
cpu = {n: x["user"] + x["system"] for n, x in r.items()}
size = {n: os.path.getsize(f"{w}/{n}.sqfs") for n in r}
# Wall time is what a build waits for; CPU time (user + system, children included) is steadier
# on a shared machine. Ratios are ours / theirs: below 1 means imager is faster or smaller.
print(f"{'writer':12} {'wall s':>7} {'stddev':>6} {'wall ratio':>10} {'cpu s':>7} "
      f"{'cpu ratio':>9} {'image MiB':>9} {'size ratio':>10}")
for n, x in r.items():
    print(f"{n:12} {x['mean']:7.2f} {x['stddev']:6.2f} {r['imager']['mean'] / x['mean']:10.2f} "
          f"{cpu[n]:7.2f} {cpu['imager'] / cpu[n]:9.2f} {size[n] / 2**20:9.2f} "
          f"{size['imager'] / size[n]:10.3f}")
PY
