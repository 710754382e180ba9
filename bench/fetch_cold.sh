#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Cold download of a package set through the host's apt mirror: `imager fetch` (empty cache)
# against `apt-get download` of the same name=version list, in one run, as a ratio.
# The set: bookworm minbase + linux-image-amd64 + systemd-sysv, resolved by imager.
# Run as an unprivileged user: bash bench/fetch_cold.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
IMAGER=${IMAGER:-$PWD/build/imager}
W=$(mktemp -d /tmp/imager-fetch-bench.XXXXXX)
trap 'rm -rf "$W"' EXIT
cp profiles/keys/debian-bookworm.asc "$W/"
cat > "$W/set.yaml" <<YAML
name: set
distribution: {family: debian, release: bookworm, arch: amd64}
repositories: [{mirror: auto, suite: bookworm, components: [main], keyring: debian-bookworm.asc}]
packages: {variant: minbase, include: [linux-image-amd64, systemd-sysv]}
YAML
"$IMAGER" -q resolve "$W/set.yaml" --cache-dir "$W/meta" >/dev/null
python3 - "$W/set.lock" > "$W/list" <<'PY'
import json, sys
lock = json.load(open(sys.argv[1]))
print(" ".join(f"{p['name']}:{p['architecture']}={p['version']}" for p in lock["packages"]))
print(sum(p["size"] for p in lock["packages"]), len(lock["packages"]), file=sys.stderr)
PY
mkdir -p "$W/apt"
hyperfine -N --runs "$runs" --export-json "$W/r.json" \
  --prepare "rm -rf $W/cache $W/apt/*.deb" \
  -n "imager fetch" "$IMAGER -q fetch $W/set.yaml --cache-dir $W/cache" \
  -n "apt-get download" "sh -c 'cd $W/apt && apt-get -q=2 download $(cat "$W/list")'" >/dev/null
python3 - "$W/r.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
for x in r:
    print(f"{x['command']:18} mean {x['mean']:6.2f} s  stddev {x['stddev']:5.2f} s")
print(f"imager / apt-get download = {r[0]['mean'] / r[1]['mean']:.2f}")
PY
