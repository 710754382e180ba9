# SPDX-License-Identifier: GPL-3.0-or-later
# A misbehaving mirror (tests/lib/bad_mirror.py serving the signed fixture repository): transient
# faults (a connection reset, a short body, 503s, a stall, all once) are retried, and a download
# that broke off is resumed with a Range request; permanent faults (a wrong body, a wrong size,
# 404, endless 500s or stalls, a Release listing a wrong hash or size, an expired Release or
# signature, no signature at all) fail in bounded time with a message naming the URL and what
# was wrong. Whatever happened, every file at its final place in the cache is verified, and a
# later run against the healthy mirror succeeds with the mirror's exact bytes.
source "$TESTLIB"
expect_idmode >/dev/null
for t in gpg gpgv python3; do command -v $t >/dev/null || fail "$t is needed"; done

lib=$(dirname "$TESTLIB")
python3 "$lib/fixtures/make_deb_repo.py" "$T/fx" >/dev/null
python3 "$lib/lib/bad_mirror.py" prepare "$T/fx"
repo=$T/fx/repo
echo '{}' > "$T/control.json"
python3 "$lib/lib/bad_mirror.py" serve "$repo" --port-file "$T/port" --control "$T/control.json" \
  --log "$T/requests.log" &
server=$!
trap 'kill "$server" 2>/dev/null || true; cleanup' EXIT
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || fail "bad_mirror.py did not start"
url=http://127.0.0.1:$(cat "$T/port")
export IMAGER_FETCH_STALL_SECONDS=2  # the default (30 s) would make the stalls slow

cat > "$T/fx.yaml" <<YAML
name: fx
distribution: {family: debian, release: fixture, arch: amd64}
repositories:
  - {mirror: "$url", suite: fixture, components: [main], keyring: fx/key.asc}
packages: {variant: essential, include: [fixture-svc]}
output: {formats: [tar]}
YAML
cd "$T"
base=pool/main/fixture-base_1.0_amd64.deb
base_sha=$(sha256sum < "$repo/$base" | cut -d' ' -f1)
base_size=$(stat -c %s "$repo/$base")
dists=$repo/dists/fixture

# fault JSON: the mirror's faults from now on (bad_mirror.py's control file; counters restart).
fault() { echo "$1" > "$T/control.json"; : > "$T/requests.log"; }
healthy() { fault '{}'; }
# Requests the mirror saw for PATH, one line each: the Range header (or "none") and the fault.
seen() {
  python3 - "$T/requests.log" "/$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["path"] == sys.argv[2]:
        print(r["range"] or "none", r["fault"] or "served")
PY
}

# run NAME IMAGER-ARGS...: runs imager, output in $T/NAME.log; sets rc, out and took (seconds).
run() {
  local name=$1 start=$SECONDS
  shift
  set +e
  "$IMAGER" "$@" > "$T/$name.log" 2>&1
  rc=$?
  set -e
  took=$((SECONDS - start))
  out=$(cat "$T/$name.log")
}
expect_ok() {
  [ "$rc" = 0 ] || { echo "$out"; fail "$1: imager failed (exit $rc)"; }
  pass "$1: succeeded in ${took}s"
}
# expect_fail WHAT NEEDLE...: imager failed and said every NEEDLE.
expect_fail() {
  local what=$1 needle
  shift
  [ "$rc" != 0 ] || { echo "$out"; fail "$what: imager succeeded"; }
  for needle in "$@"; do assert_contains "$what: says '$needle'" "$needle" "$out"; done
  echo "    $(echo "$out" | grep -m1 'error' || echo "$out" | tail -1)"
}

# check_cache DIR: every file at a final place in the cache is verified: a package's bytes have
# the sha256 it is named by, the per-mirror metadata is byte for byte the mirror's (signed)
# files; only partial downloads (*.part, kept for resuming) may be anything.
check_cache() {
  local dir=$1 f rel bad=()
  if [ -d "$dir/packages" ]; then
    while IFS= read -r f; do
      case $f in *.part) continue ;; esac
      [ "$(sha256sum < "$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || bad+=("$f")
    done < <(find "$dir/packages" -type f)
  fi
  if [ -d "$dir/metadata" ]; then
    while IFS= read -r f; do
      case $f in
        *.part | *.cache.json) continue ;;
        */metadata/sha256/*.gpg) cmp -s "$f" "$dists/Release.gpg" || bad+=("$f") ;;
        */metadata/sha256/*)
          [ "$(sha256sum < "$f" | cut -d' ' -f1)" = "$(basename "$f")" ] || bad+=("$f") ;;
        */dists/fixture/*)
          rel=${f##*/dists/fixture/}
          cmp -s "$f" "$dists/$rel" || bad+=("$f") ;;
        *) bad+=("$f") ;;
      esac
    done < <(find "$dir/metadata" -type f)
  fi
  [ ${#bad[@]} = 0 ] || fail "$2: unverified files in the cache: ${bad[*]}"
  pass "$2: the cache holds only verified files"
}

# --- Packages ---------------------------------------------------------------------------------
healthy
run resolve resolve fx.yaml --cache-dir "$T/cache0"
expect_ok "resolve against the healthy mirror"

n=0
# fetch_with NAME FAULT-JSON: 'imager fetch --locked' into a new cache while the mirror has FAULT.
fetch_with() {
  n=$((n + 1))
  cache=$T/cache$n
  fault "$2"
  run "$1" fetch fx.yaml --locked --cache-dir "$cache"
}

fetch_with reset-once '{"/'$base'": {"mode": "drop", "after": 1048576, "times": 1}}'
expect_ok "connection reset once"
assert_contains "reset: resumed with a Range request" "bytes=" "$(seen $base | sed -n 2p)"
check_cache "$cache" "reset once"

fetch_with short-once '{"/'$base'": {"mode": "short", "after": 1048576, "times": 1}}'
expect_ok "short body once"
assert_eq "short body: resumed where it broke off" "none short
bytes=1048576- served" "$(seen $base)"
check_cache "$cache" "short body once"

fetch_with 503-twice '{"/'$base'": {"mode": "status", "code": 503, "times": 2}}'
expect_ok "503 twice"
assert_eq "503: three requests" 3 "$(seen $base | wc -l)"

fetch_with stall-once '{"/'$base'": {"mode": "stall", "times": 1}}'
expect_ok "stall (no answer) once"
[ "$took" -lt 20 ] || fail "a 2 s stall took $took s to get over"

fetch_with stall-midway '{"/'$base'": {"mode": "stall", "after": 1048576, "times": 1}}'
expect_ok "stall midway once"
assert_eq "stall midway: resumed" "none stall
bytes=1048576- served" "$(seen $base)"
check_cache "$cache" "stall midway"

fetch_with long-length '{"/'$base'": {"mode": "length", "delta": 100}}'
expect_ok "Content-Length too large (the body itself complete and right)"
check_cache "$cache" "Content-Length too large"

fetch_with flip '{"/'$base'": {"mode": "flip"}}'
expect_fail "wrong body" "$url/$base" "sha256 mismatch: expected $base_sha, got "
check_cache "$cache" "wrong body"
assert_eq "wrong body: nothing kept" "" "$(find "$cache/packages" -name "$base_sha*")"

fetch_with short-length '{"/'$base'": {"mode": "length", "delta": -100}}'
expect_fail "Content-Length too small" "$url/$base" \
  "size mismatch: expected $base_size bytes, got $((base_size - 100))"
check_cache "$cache" "Content-Length too small"

fetch_with 404 '{"/'$base'": {"mode": "status", "code": 404}}'
expect_fail "404" "$url/$base" "HTTP 404"
assert_eq "404: not retried" 1 "$(seen $base | wc -l)"

fetch_with 500 '{"/'$base'": {"mode": "status", "code": 500}}'
expect_fail "500 every time" "$url/$base" "HTTP 500" "gave up after 4 attempts"

fetch_with stall '{"/'$base'": {"mode": "stall", "after": 0}}'
expect_fail "stalled every time" "$url/$base" "stalled" "2 s" "gave up after 4 attempts"
[ "$took" -lt 40 ] || fail "a mirror that stalls for good took $took s to give up on"

fetch_with reset '{"/'$base'": {"mode": "drop", "after": 1048576}}'
expect_fail "connection reset every time" "$url/$base" "gave up after 4 attempts"
check_cache "$cache" "connection reset every time"
healthy
run reset-then-healthy fetch fx.yaml --locked --cache-dir "$cache"
expect_ok "a later fetch against the healthy mirror"
case $(seen $base) in
  "bytes="*" served") pass "it resumed the partial download: $(seen $base)" ;;
  *) fail "the partial download was not resumed: $(seen $base)" ;;
esac
check_cache "$cache" "after the healthy fetch"
cmp "$repo/$base" "$cache/packages/sha256/${base_sha:0:2}/$base_sha" ||
  fail "the cached package differs from the mirror's"

# --- Repository metadata ----------------------------------------------------------------------
mcache=$T/mcache
healthy
run m-good resolve fx.yaml --cache-dir "$mcache"
expect_ok "resolve"
inrelease=dists/fixture/InRelease
packages_gz=dists/fixture/main/binary-amd64/Packages.gz
# resolve_with NAME FAULT-JSON [CACHE]: 'imager resolve' while the mirror has FAULT, with the
# shared metadata cache (a bad download must not replace what it holds) or CACHE.
resolve_with() {
  fault "$2"
  run "$1" resolve fx.yaml --cache-dir "${3:-$mcache}"
}

resolve_with m-short '{"/'$inrelease'": {"mode": "short", "after": 300, "times": 1}}'
expect_ok "InRelease cut short once"
assert_eq "InRelease: resumed" "none short
bytes=300- served" "$(seen $inrelease)"
check_cache "$mcache" "InRelease cut short once"

resolve_with m-503 '{"/'$inrelease'": {"mode": "status", "code": 503, "times": 1}}'
expect_ok "InRelease 503 once"

resolve_with m-stall '{"/'$inrelease'": {"mode": "stall"}}'
expect_fail "InRelease stalls" "$url/$inrelease" "stalled"
[ "$took" -lt 40 ] || fail "a stalled InRelease took $took s to give up on"
check_cache "$mcache" "InRelease stalls"

resolve_with m-badhash '{"/'$inrelease'": {"mode": "file", "file": "'$T'/fx/faults/InRelease.badhash"}}'
expect_fail "Release lists a wrong sha256" "$url/$packages_gz" "sha256 mismatch: expected " \
  "got $(sha256sum < "$repo/$packages_gz" | cut -d' ' -f1)"
check_cache "$mcache" "wrong sha256"

resolve_with m-badsize '{"/'$inrelease'": {"mode": "file", "file": "'$T'/fx/faults/InRelease.badsize"}}'
gz_size=$(stat -c %s "$repo/$packages_gz")
expect_fail "Release lists a wrong size" "$url/$packages_gz" \
  "size mismatch: expected $((gz_size + 1)) bytes, got $gz_size"
check_cache "$mcache" "wrong size"

# (a new cache: the shared one holds the right Packages.gz, which is not downloaded again)
resolve_with m-flip '{"/'$packages_gz'": {"mode": "flip"}}' "$T/mc-flip"
expect_fail "Packages.gz corrupted" "$url/$packages_gz" "sha256 mismatch"
check_cache "$T/mc-flip" "Packages.gz corrupted"

resolve_with m-validuntil '{"/'$inrelease'": {"mode": "file", "file": "'$T'/fx/faults/InRelease.validuntil"}}'
expect_fail "Release past its Valid-Until" "$url/$inrelease" \
  "expired on Sat, 17 Jun 2023 08:37:11 UTC (Valid-Until)"
check_cache "$mcache" "Valid-Until"

resolve_with m-expiredsig '{"/'$inrelease'": {"mode": "file", "file": "'$T'/fx/faults/InRelease.expiredsig"}}'
expect_fail "expired signature" "$url/$inrelease" "signature" "expired"
check_cache "$mcache" "expired signature"

resolve_with m-unsigned '{"/'$inrelease'": {"mode": "file", "file": "'$T'/fx/faults/InRelease.unsigned"}}'
expect_fail "unsigned InRelease" "$url/$inrelease" "not signed"
check_cache "$mcache" "unsigned InRelease"

resolve_with m-detached '{"/'$inrelease'": {"mode": "status", "code": 404}}'
expect_ok "no InRelease: Release and Release.gpg"
check_cache "$mcache" "Release and Release.gpg"

resolve_with m-nosig '{"/'$inrelease'": {"mode": "status", "code": 404},
  "/dists/fixture/Release.gpg": {"mode": "status", "code": 404}}'
expect_fail "neither InRelease nor Release.gpg" "$url/dists/fixture/Release" "no Release.gpg"
check_cache "$mcache" "no signature"

healthy
run m-healthy resolve fx.yaml --cache-dir "$mcache"
expect_ok "resolve against the healthy mirror again"
run m-fetch fetch fx.yaml --locked --cache-dir "$mcache"
expect_ok "fetch"
check_cache "$mcache" "in the end"
cmp "$dists/InRelease" "$(find "$mcache/metadata" -path '*/dists/fixture/InRelease')" ||
  fail "the cached InRelease is not the mirror's"
