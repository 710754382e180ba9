#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The stage cache in an OCI registry (issue 20): the default profile's ISO built cold into an
# empty cache, then pushed to a registry (Debian's docker-registry on 127.0.0.1, TLS + htpasswd,
# tests/lib/registry.sh) with --cache-to, then built again into another empty cache with
# --cache-from: the warm-from-registry build against the cold one (wall seconds, ratio), the
# push's time, and the bytes pushed. Both builds download the packages from the host's mirror
# into their empty caches (the same work for both; the warm build needs the lock's packages
# only for their hashes, but it fetches them as any build does).
#
# Run as an unprivileged user with a subordinate id range:
#   bash bench/remote_cache.sh
# Environment: IMAGER (default build/imager).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
IMAGER=${IMAGER:-$PWD/build/imager}
[[ $(id -u) != 0 ]] || { echo "run this as an unprivileged user (e.g. runuser -u USER)" >&2; exit 2; }
# shellcheck source=../tests/lib/registry.sh
source "$src/tests/lib/registry.sh"

W=$(mktemp -d "${TMPDIR:-/tmp}/imager-remote-bench.XXXXXX")
cleanup() {
  registry_stop
  for c in cold warm; do "$IMAGER" -q cache prune --all --cache-dir "$W/$c" >/dev/null 2>&1 || true; done
  rm -rf "$W"
}
trap cleanup EXIT
registry_start "$W/registry"
repo=docker://$REGISTRY_HOST/bench/cache
reg=(--registry-ca "$REGISTRY_CA" --registry-auth "$REGISTRY_AUTH")
mkdir -p "$W/p"
cp "$src/profiles/debian-live.yaml" "$W/p/"
cp -r "$src/profiles/keys" "$W/p/"
"$IMAGER" -q resolve "$W/p/debian-live.yaml" >/dev/null # the lock, once, outside the timings
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"

timed() { # timed NAME CMD...: wall seconds into $W/NAME.time, output into $W/NAME.log
  local name=$1 t0
  shift
  t0=$(date +%s.%N)
  "$@" >"$W/$name.log" 2>&1 || { tail -30 "$W/$name.log"; echo "$name failed" >&2; exit 1; }
  python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" \
    "$(date +%s.%N)" >"$W/$name.time"
}
timed cold "$IMAGER" build "$W/p/debian-live.yaml" --cache-dir "$W/cold" -o "$W/out-cold"
timed push "$IMAGER" build "$W/p/debian-live.yaml" --cache-dir "$W/cold" -o "$W/out-cold" \
  --cache-to "$repo" "${reg[@]}"
timed warm "$IMAGER" build "$W/p/debian-live.yaml" --cache-dir "$W/warm" -o "$W/out-warm" \
  --cache-from "$repo" "${reg[@]}"
cmp -s "$W/out-cold/debian-live.iso" "$W/out-warm/debian-live.iso" ||
  { echo "the warm build's ISO differs from the cold one's" >&2; exit 1; }
grep -- "--cache-to:" "$W/push.log"
grep "stages," "$W/warm.log" | tail -1
pushed=$(du -sb "$REGISTRY_STORAGE" | cut -f1)
cold=$(cat "$W/cold.time") warm=$(cat "$W/warm.time") push=$(cat "$W/push.time")
echo "cold build ${cold} s; push (every stage cached) ${push} s; warm-from-registry build ${warm} s"
echo "warm / cold: $(python3 -c "print(f'{$warm / $cold:.2f}')"); registry storage after the push: $((pushed / 1024 / 1024)) MiB"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
