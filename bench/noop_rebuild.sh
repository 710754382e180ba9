#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Pipeline overhead: cold build of a profile next to its no-op rebuild (every stage cached),
# timed by hyperfine. Until package installation lands, the profile starts from a small rootfs
# tarball made of host binaries (the same one the rootless tests use).
# Run as an unprivileged user: bash bench/noop_rebuild.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
IMAGER=${IMAGER:-$PWD/build/imager}
export IMAGER PROBE=${PROBE:-$PWD/build/tests/escape_probe} IMAGER_ALLOW_ROOT=1
TESTLIB=$PWD/tests/lib.sh
source "$TESTLIB"
set +e
make_tar_profile bench 'echo bench > /etc/bench'
cd "$T"
echo "profile: tarball base ($(du -h base.tar.gz | cut -f1)) + config + one script + tar output"
hyperfine -N --runs "$runs" --export-json "$T/cold.json" \
  --prepare "$IMAGER cache prune --all --cache-dir $T/cache-cold" \
  -n cold "$IMAGER -q build bench.yaml --cache-dir $T/cache-cold -o $T/out-cold" >/dev/null
"$IMAGER" -q build bench.yaml --cache-dir "$T/cache" -o "$T/out" 2>/dev/null
hyperfine -N --warmup 2 --runs "$((runs * 3))" --export-json "$T/noop.json" \
  -n no-op "$IMAGER -q build bench.yaml --cache-dir $T/cache -o $T/out" >/dev/null
python3 - "$T/cold.json" "$T/noop.json" <<'PY'
import json, sys
rows = [json.load(open(f))["results"][0] for f in sys.argv[1:]]
for r in rows:
    print(f"{r['command']:8} mean {r['mean']*1e3:8.1f} ms  stddev {r['stddev']*1e3:6.1f} ms")
print(f"no-op / cold = {rows[1]['mean']/rows[0]['mean']:.3f}")
PY
