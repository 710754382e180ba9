#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Sandbox start-up cost: `imager run --root R -- /probe euid` against bwrap and `unshare -Urm`
# doing the same (a static binary in the same root), timed by hyperfine in one run and reported
# as ratios to bwrap. Run as an unprivileged user: bash bench/sandbox_startup.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200}
IMAGER=${IMAGER:-$PWD/build/imager}
PROBE=${PROBE:-$PWD/build/tests/escape_probe}
for t in hyperfine bwrap unshare python3; do
  command -v $t >/dev/null || { echo "bench: $t is missing (apt-get install hyperfine bubblewrap)"; exit 1; }
done
R=$(mktemp -d /tmp/imager-bench.XXXXXX)
trap 'rm -rf "$R"' EXIT
mkdir -p "$R/root/proc" "$R/root/dev" "$R/root/sys" "$R/root/tmp" "$R/root/run"
cp "$PROBE" "$R/root/probe"

echo "imager $("$IMAGER" --version | cut -d' ' -f2), $(bwrap --version), $(unshare --version)"
echo "id mode for $(id -un): $("$IMAGER" run --print-plan --json -- true | sed -n 's/.*"idmode": "\(.*\)".*/\1/p')"
hyperfine -N --warmup 10 --runs "$runs" --export-json "$R/result.json" \
  -n imager "$IMAGER run --root $R/root -- /probe euid" \
  -n imager-single-id "$IMAGER run --single-id --root $R/root -- /probe euid" \
  -n bwrap "bwrap --unshare-all --bind $R/root / --proc /proc --dev /dev --tmpfs /tmp -- /probe euid" \
  -n unshare-Urm "unshare -Urm --root=$R/root /probe euid" >/dev/null

python3 - "$R/result.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
base = r["bwrap"]["mean"]
print(f"{'command':18} {'mean ms':>8} {'stddev':>7} {'vs bwrap':>9}")
for name, x in r.items():
    print(f"{name:18} {x['mean']*1e3:8.2f} {x['stddev']*1e3:7.2f} {x['mean']/base:8.2f}x")
PY
