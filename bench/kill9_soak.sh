#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# kill -9 soak: N cold builds, each killed with SIGKILL at a random moment, each followed by a
# build in the same cache that must succeed, give the same bytes as an uninterrupted reference
# build, and leave a cache that verifies; after each kill no process imager started survives.
#   bash bench/kill9_soak.sh [-n N] [-s SEED] [PROFILE.yaml]
# Without a profile: a tarball profile made from a small rootfs of host binaries, with scripts
# that take a few seconds (offline; what rootless.kill9 runs with a small N). With a profile
# (e.g. profiles/debian-live.yaml): that one, all its formats; the package downloads are shared
# between trials (content-addressed, checked by hash before use), the stages are not.
# Run as an unprivileged user. IMAGER defaults to build/imager.
set -euo pipefail
cd "$(dirname "$0")/.."
n=20 seed=$RANDOM profile=
while getopts "n:s:" o; do
  case $o in
    n) n=$OPTARG ;;
    s) seed=$OPTARG ;;
    *) exit 2 ;;
  esac
done
shift $((OPTIND - 1))
profile=${1:-}
IMAGER=${IMAGER:-$PWD/build/imager}
export IMAGER PROBE=${PROBE:-$PWD/build/tests/escape_probe}
TESTLIB=$PWD/tests/lib.sh
# shellcheck source=../tests/lib.sh
source "$TESTLIB"
RANDOM=$seed
# No SOURCE_DATE_EPOCH: a tarball base dates the build by its newest file, a repository by its
# Release date, so builds agree without one.
unset SOURCE_DATE_EPOCH
echo "kill9 soak: $n trials, seed $seed"

if [ -z "$profile" ]; then
  make_tar_profile soak 'echo one > /etc/one; sleep 1
mkdir -p /etc/foreign && echo two > /etc/foreign/two && chown -R 1:1 /etc/foreign; sleep 1
i=0; while [ $i -lt 200 ]; do echo $i > /etc/f$i; i=$((i + 1)); done'
  profile=$T/soak.yaml
else
  cp -r "$(dirname "$profile")/." "$T/profile/" 2>/dev/null || { mkdir -p "$T/profile" && cp -r "$(dirname "$profile")/." "$T/profile/"; }
  profile=$T/profile/$(basename "$profile")
fi
cd "$(dirname "$profile")"

sums() { (cd "$1" && find . -type f ! -path './logs/*' -print0 | sort -z | xargs -0 sha256sum); }
# Every process below $1 (pid), by walking parent links.
descendants() {
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { parent[$1] = $2 }
    END { changed = 1; want[root] = 1
          while (changed) { changed = 0
            for (p in parent) if (!(p in want) && (parent[p] in want)) { want[p] = 1; changed = 1 } }
          for (p in want) if (p != root) print p }'
}
share_packages() { # share_packages CACHE: the reference build's downloads, hard-linked
  [ -d "$T/ref-cache/packages" ] && mkdir -p "$1" && cp -al "$T/ref-cache/packages" "$1/" || true
}

start=$(date +%s.%N)
"$IMAGER" build "$profile" --cache-dir "$T/ref-cache" -o "$T/ref-out" 2> "$T/ref.log" ||
  fail "reference build: $(tail -20 "$T/ref.log")"
ref_seconds=$(echo "$(date +%s.%N) - $start" | bc)
sums "$T/ref-out" > "$T/ref.sums"
echo "reference build: ${ref_seconds} s, $(wc -l < "$T/ref.sums") output files"

passed=0 landed=()
for i in $(seq "$n"); do
  cache=$T/c$i out=$T/out$i
  share_packages "$cache"
  # A moment in the first 90% of a cold build (ms).
  delay_ms=$(( (RANDOM * 32768 + RANDOM) % ( $(printf '%.0f' "$(echo "$ref_seconds * 900" | bc)") + 1) ))
  "$IMAGER" build "$profile" --cache-dir "$cache" -o "$out" 2> "$T/killed$i.log" &
  pid=$!
  sleep "$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))"
  kids=$(descendants $pid | tr '\n' ' ')
  kill -KILL $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  stage=$(grep -o '[a-z-]*: started' "$T/killed$i.log" | tail -1 | cut -d: -f1 || true)
  # Killing pid 1 of a sandbox kills its pid namespace; give the kernel a moment. Zombies (state
  # Z: dead, waiting for the host's init to reap them) hold nothing.
  for _ in $(seq 30); do
    alive=
    for k in $kids; do
      state=$(awk '{print $3}' /proc/$k/stat 2>/dev/null || true)
      [ -n "$state" ] && [ "$state" != Z ] &&
        alive="$alive $k[$state]($(tr '\0' ' ' < /proc/$k/cmdline 2>/dev/null | cut -c1-40))"
    done
    [ -n "$alive" ] || break
    sleep 0.1
  done
  [ -z "$alive" ] || fail "trial $i: processes outlived imager (killed at ${delay_ms} ms in ${stage:-?}):$alive"
  "$IMAGER" build "$profile" --cache-dir "$cache" -o "$out" 2> "$T/resumed$i.log" ||
    fail "trial $i: the build after the kill (at ${delay_ms} ms in ${stage:-?}) failed: $(tail -20 "$T/resumed$i.log")"
  sums "$out" | cmp -s - "$T/ref.sums" ||
    fail "trial $i: different bytes after a kill at ${delay_ms} ms in ${stage:-?}: $(sums "$out" | diff - "$T/ref.sums" | head)"
  "$IMAGER" cache verify --cache-dir "$cache" > "$T/verify$i.txt" ||
    fail "trial $i: the cache does not verify: $(cat "$T/verify$i.txt")"
  reused=$(stages_cached "$T/resumed$i.log" | wc -w)
  echo "trial $i: killed at ${delay_ms} ms during ${stage:-start-up} (${kids:+$(echo $kids | wc -w) processes below imager}); rebuilt reusing $reused stages; same bytes; cache verifies"
  landed+=("${stage:-start-up}")
  passed=$((passed + 1))
  "$IMAGER" cache prune --all --cache-dir "$cache" >/dev/null 2>&1 || true
  rm -rf "$cache" "$out"
done
echo "kill9 soak: $passed of $n trials passed; kills landed in: $(printf '%s\n' "${landed[@]}" | sort | uniq -c | awk '{printf "%s %s, ", $2, $1}' | sed 's/, $//')"
"$IMAGER" cache prune --all --cache-dir "$T/ref-cache" >/dev/null 2>&1 || true
