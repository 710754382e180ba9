#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Package installation: imager's rootfs (packages stage) against `mmdebstrap --mode=unshare` for
# the same package set (bookworm minbase + systemd-sysv), both reading the packages from a local
# file:// mirror made from imager's package cache, in interleaved runs (imager, mmdebstrap,
# imager, ...) so that load on the machine affects both. Prints mean ± stddev of the wall time,
# the ratio imager / mmdebstrap (target ≤ 0.7) and the peak memory of each.
#
# Run as an unprivileged user with a subordinate id range: bash bench/rootfs_vs_mmdebstrap.sh [RUNS]
# Both write a gzip-compressed rootfs tarball (a profile must have an output format, so imager's
# tar stage is part of every build; mmdebstrap gets OUT.tar.gz); imager's per-stage times are
# printed too, so the packages stage alone can be read off.
# The package set is resolved and downloaded once through the host's apt mirror (untimed).
# Environment: IMAGER (default: build/imager), KEEP=1 keeps the work directory.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
runs=${1:-3}
IMAGER=${IMAGER:-$PWD/build/imager}
for tool in mmdebstrap dpkg-scanpackages gpg xz python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "$tool is not installed" >&2; exit 1; }
done
[[ $(id -u) != 0 ]] || { echo "run this as an unprivileged user (e.g. runuser -u USER)" >&2; exit 2; }

W=$(mktemp -d /tmp/imager-rootfs-bench.XXXXXX)
chmod 755 "$W"  # mmdebstrap's apt runs as a subordinate id and must read the mirror
prune() { "$IMAGER" -q cache prune --all --cache-dir "$1" >/dev/null 2>&1 || true; rm -rf "$1"; }
cleanup() {
  [[ -n ${KEEP:-} ]] && { echo "kept $W"; return; }
  for c in "$W"/cache-*; do [[ -e $c ]] && prune "$c"; done
  chmod -R u+rwX "$W" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

# 1. The package set, resolved and fetched through the host's mirror (not timed).
cat >"$W/net.yaml" <<YAML
name: net
distribution: {family: debian, release: bookworm, arch: amd64}
repositories:
  - {mirror: auto, suite: bookworm, components: [main], keyring: $src/profiles/keys/debian-bookworm.asc}
packages: {variant: minbase, include: [systemd-sysv]}
YAML
"$IMAGER" -q fetch "$W/net.yaml" --cache-dir "$W/seed" >/dev/null

# 2. A signed file:// mirror with exactly those packages (hard links into the cache), with the
# archive's Priority and Section (they differ from the packages' own control files: apt says
# "important", the archive "required"; variant minbase selects by the archive's Priority).
# shellcheck source=local_mirror.sh
source "$src/bench/local_mirror.sh"
make_local_mirror "$W" "$W/seed" "$W/net.lock"
M=$W/mirror
chmod -R a+rX "$W/seed"

# 3. The same request for both tools, from the local mirror.
cat >"$W/local.yaml" <<YAML
name: local
distribution: {family: debian, release: bookworm, arch: amd64}
repositories:
  - {mirror: "file://$M", suite: bookworm, components: [main], keyring: $W/bench.asc}
packages: {variant: minbase, include: [systemd-sysv]}
output: {formats: [tar]}
YAML
# Resolve against the local mirror once (writes local.lock; every timed run reuses it).
"$IMAGER" -q resolve "$W/local.yaml" --cache-dir "$W/meta" >/dev/null
cmp <(python3 -c 'import json,sys; print(sorted((p["name"], p["version"]) for p in json.load(open(sys.argv[1]))["packages"]))' "$W/net.lock") \
  <(python3 -c 'import json,sys; print(sorted((p["name"], p["version"]) for p in json.load(open(sys.argv[1]))["packages"]))' "$W/local.lock") \
  || { echo "the local mirror resolves to another package set" >&2; exit 1; }

# A fresh imager cache per run: repository metadata copied and packages hard-linked from the
# seed, so imager finds every package locally and has no cached layer: it installs again.
prepare_imager() {
  prune "$W/cache-imager"
  mkdir -p "$W/cache-imager"
  cp -a "$W/meta/metadata" "$W/cache-imager/"
  cp -al "$W/seed/packages" "$W/cache-imager/"
  rm -rf "$W/out"
}
imager_cmd=("$IMAGER" build "$W/local.yaml" --locked --cache-dir "$W/cache-imager" -o "$W/out")
# mmdebstrap's own hook bind-mounts the file:// mirror into its chroot (no copy), so apt reads
# the packages in place.
mm_cmd=(mmdebstrap -q --mode=unshare --variant=minbase --include=systemd-sysv
  --hook-dir=/usr/share/mmdebstrap/hooks/file-mirror-automount --keyring="$W/bench.gpg" bookworm "$W/mm.tar.gz" "file://$M")
echo "imager:     ${imager_cmd[*]}"
echo "mmdebstrap: ${mm_cmd[*]}"

: >"$W/times"
for ((i = 1; i <= runs; i++)); do
  prepare_imager
  sync
  /usr/bin/time -f "imager %e %M %U %S" -a -o "$W/times" "${imager_cmd[@]}" >/dev/null 2>"$W/imager.log" \
    || { tail -30 "$W/imager.log" >&2; exit 1; }
  echo "run $i: imager stages:" $(tr '\r' '\n' <"$W/imager.log" | grep -oE '[a-z]+: done in [0-9][0-9.ms ]*')
  rm -f "$W/mm.tar.gz"
  sync
  /usr/bin/time -f "mmdebstrap %e %M %U %S" -a -o "$W/times" "${mm_cmd[@]}" >/dev/null 2>"$W/mm.log" \
    || { tail -30 "$W/mm.log" >&2; exit 1; }
  tail -2 "$W/times" | sed "s/^/run $i: /"
done
ls -l "$W/out/local.tar.gz" "$W/mm.tar.gz"

python3 - "$W/times" <<'PY'
import statistics, sys
t, m, cpu = {}, {}, {}
for line in open(sys.argv[1]):
    tool, secs, kb, user, system = line.split()
    t.setdefault(tool, []).append(float(secs))
    m.setdefault(tool, []).append(int(kb))
    cpu.setdefault(tool, []).append(float(user) + float(system))
def stats(x):
    return statistics.mean(x), statistics.stdev(x) if len(x) > 1 else 0.0
for tool in ("imager", "mmdebstrap"):
    (mean, sd), (cmean, csd) = stats(t[tool]), stats(cpu[tool])
    print(f"{tool:10} wall {mean:6.1f} s ± {sd:4.1f} s (runs: "
          f"{', '.join(f'{v:.1f}' for v in t[tool])}); CPU user+sys {cmean:6.1f} s ± {csd:4.1f} s; "
          f"max RSS {max(m[tool]) / 1024:.0f} MiB")
ratio = lambda d: statistics.mean(d["imager"]) / statistics.mean(d["mmdebstrap"])
print(f"imager / mmdebstrap: wall {ratio(t):.2f} (target <= 0.7), CPU {ratio(cpu):.2f}")
PY
