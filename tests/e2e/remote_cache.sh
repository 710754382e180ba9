#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The stage cache shared through an OCI registry (stages/remote_cache.h), against Debian's
# docker-registry started here on 127.0.0.1 with a self-signed certificate and htpasswd
# (tests/lib/registry.sh):
#   1. builder A, with its own cache, builds the default profile's ISO with --cache-to: every
#      stage is pushed, each tagged with its key;
#   2. builder B, another user with an empty cache, builds it with --cache-from: no stage runs,
#      and the ISO is byte-identical to A's; B's time is printed; `imager cache ls --remote`
#      lists the entries, after `imager cache pull` into a third cache a plain build runs no
#      stage either, and `imager cache push` publishes that cache to another repository; two
#      builders pushing the same keys to one repository at once both succeed, leaving one
#      complete entry per key that a pull verifies;
#   3. a blob tampered with in the registry's storage is refused (its digest does not match):
#      that stage is built locally, with a note saying why, and the ISO is still identical;
#   4. the registry killed in the middle of a push: the build succeeds with warnings, and every
#      tag the registry holds afterwards names complete, matching blobs; killed in the middle of
#      `imager cache pull`: the local cache holds only complete entries (cache verify) and the
#      next pull fetches only the rest;
#   5. an unreachable registry: a warning and a local build, not a failure.
# Two users: run as root with IMAGER_REPRO_USERS="USER1 USER2" (tests/run.sh does; both
# unprivileged); run as an unprivileged user, both builders are that user, with two caches.
# Builder A uses its own default cache (warm when e2e.live_iso ran before), B a new one.
# KEEP=DIR keeps the builds' logs.
set -euo pipefail
# shellcheck source=../lib/e2e.sh
source "$(dirname "$0")/../lib/e2e.sh"
# shellcheck source=../lib/registry.sh
source "$src/tests/lib/registry.sh"

for tool in docker-registry htpasswd openssl python3; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (dev/deps.txt)"
done

two_builders
if [ -n "$two_users" ]; then
  work=$(mktemp -d /var/tmp/imager-remote.XXXXXX)
  echo "builder A is ${users[0]}, builder B ${users[1]}"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/imager-remote.XXXXXX")
  echo "both builders are $(id -un) (IMAGER_REPRO_USERS, as root, makes them two users)"
fi
chmod 0755 "$work"
mkdir -p "$work/a/profiles" "$work/b" "$work/registry"
cleanup() {
  [ -z "${KEEP:-}" ] || cp "$work"/*.log "$KEEP"/ 2>/dev/null || true
  registry_stop
  for dir in b/cache b/cache2 b/cache3 b/cache4 b/cache5; do
    [ -d "$work/$dir" ] &&
      as "${users[1]}" "$IMAGER" cache prune --all --cache-dir "$work/$dir" >/dev/null 2>&1
  done
  rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

registry_start "$work/registry" || fail "could not start docker-registry"
repo=docker://$REGISTRY_HOST/imager/cache
tls=(--registry-ca "$REGISTRY_CA" --registry-auth "$REGISTRY_AUTH")
pass "docker-registry on $REGISTRY_HOST (TLS, htpasswd)"

cp "$src/profiles/debian-live.yaml" "$work/a/profiles/"
cp -r "$src/profiles/keys" "$work/a/profiles/"
[ "$(id -u)" != 0 ] || chown -R "${users[0]}:" "$work/a"
[ "$(id -u)" != 0 ] || chown -R "${users[1]}:" "$work/b"

# build USER LOG PROFILE_DIR OUT [imager build options]
build() {
  local user=$1 log=$2 dir=$3 out=$4
  shift 4
  as "$user" "$IMAGER" build "$dir/debian-live.yaml" -o "$out" "$@" >"$log" 2>&1 || {
    tail -30 "$log"
    fail "imager build as $user ($log)"
  }
}

# pull REPO CACHE_DIR LOG COUNT WHAT: `imager cache pull` as B into CACHE_DIR, which must bring
# COUNT stages
pull() {
  local from=$1 cache=$2 log=$3 count=$4 what=$5
  as "${users[1]}" "$IMAGER" cache pull "$work/b/profiles/debian-live.yaml" --from "$from" \
    "${tls[@]}" --cache-dir "$cache" >"$log" 2>&1 || {
    cat "$log"
    fail "$what: cache pull failed"
  }
  grep -q ": $count stages pulled" "$log" || {
    cat "$log"
    fail "$what: cache pull did not pull $count stages"
  }
}

# --- 1. builder A pushes ---------------------------------------------------------------------------
start=$SECONDS
build "${users[0]}" "$work/a.log" "$work/a/profiles" "$work/a/out" --cache-to "$repo" "${tls[@]}"
grep -q -- "--cache-to: [0-9]* stages pushed" "$work/a.log" || {
  cat "$work/a.log"
  fail "A's build does not report its push"
}
pushed=$(sed -n 's/.*--cache-to: \([0-9]*\) stages pushed.*/\1/p' "$work/a.log")
stages=$(stages_summary "$work/a.log" | sed -n 's/^\([0-9]*\) stages.*/\1/p')
[ "$pushed" = "$stages" ] || fail "A pushed $pushed of its $stages stages"
tags=$(registry_check_complete imager/cache) || fail "the repository is not consistent"
[ "$tags" = "$stages" ] || fail "the repository has $tags tags, not one per stage ($stages)"
bytes=$(du -sb "$REGISTRY_STORAGE" | cut -f1)
pass "A built and pushed $pushed stages ($((bytes / 1024 / 1024)) MiB in the registry) in $((SECONDS - start)) s"

# --- 2. builder B pulls everything -----------------------------------------------------------------
mkdir -p "$work/b/profiles"
cp -r "$work/a/profiles/." "$work/b/profiles/" # the profile and A's lock
[ "$(id -u)" != 0 ] || chown -R "${users[1]}:" "$work/b"
start=$SECONDS
build "${users[1]}" "$work/b.log" "$work/b/profiles" "$work/b/out" --cache-dir "$work/b/cache" \
  --cache-from "$repo" "${tls[@]}"
b_seconds=$((SECONDS - start))
built=$(stages_built "$work/b.log")
[ -z "$built" ] || fail "B ran stages ($built) that the registry has"
grep -q "of them from --cache-from" "$work/b.log" || fail "B's summary does not name the registry"
cmp -s "$work/a/out/debian-live.iso" "$work/b/out/debian-live.iso" ||
  fail "B's ISO differs from A's"
pass "B (empty cache) ran no stage and made the same ISO in $b_seconds s"

# The same through the cache verbs: ls --remote, then pull into another empty cache and a
# build without --cache-from that finds everything.
listed=$(as "${users[1]}" "$IMAGER" cache ls --remote "$repo" "${tls[@]}") || fail "cache ls --remote"
[ "$(grep -c '^[0-9a-f]\{12\} ' <<<"$listed")" = "$stages" ] || {
  echo "$listed"
  fail "cache ls --remote does not list the $stages entries"
}
grep -q " packages  *layer " <<<"$listed" || fail "cache ls --remote does not name the packages layer"
pull "$repo" "$work/b/cache3" "$work/pull.log" "$stages" "B's pull"
build "${users[1]}" "$work/b-pulled.log" "$work/b/profiles" "$work/b/out-pulled" \
  --cache-dir "$work/b/cache3"
[ -z "$(stages_built "$work/b-pulled.log")" ] || fail "a build after cache pull ran stages"
cmp -s "$work/a/out/debian-live.iso" "$work/b/out-pulled/debian-live.iso" ||
  fail "the ISO after cache pull differs"
as "${users[1]}" "$IMAGER" cache push "$work/b/profiles/debian-live.yaml" --cache-dir "$work/b/cache3" \
  --to "docker://$REGISTRY_HOST/imager/pushed" "${tls[@]}" >"$work/push.log" 2>&1 || {
  cat "$work/push.log"
  fail "cache push"
}
grep -q ": $stages stages pushed" "$work/push.log" || fail "cache push did not push the $stages stages"
[ "$(registry_check_complete imager/pushed)" = "$stages" ] || fail "cache push: incomplete entries"
pass "cache ls --remote lists the $stages entries; cache pull, then a build that runs no stage; cache push"

# Two builders push the same keys to a new repository at the same moment (A from its cache, B
# from the one it pulled into): both succeed, every tag names a complete entry, and a pull from
# it brings all of them (each blob checked against its digest).
race=docker://$REGISTRY_HOST/imager/race
as "${users[0]}" "$IMAGER" cache push "$work/a/profiles/debian-live.yaml" --to "$race" "${tls[@]}" \
  >"$work/race-a.log" 2>&1 &
race_a=$!
as "${users[1]}" "$IMAGER" cache push "$work/b/profiles/debian-live.yaml" --to "$race" "${tls[@]}" \
  --cache-dir "$work/b/cache3" >"$work/race-b.log" 2>&1 || {
  cat "$work/race-b.log"
  fail "B's cache push beside A's"
}
wait "$race_a" || {
  cat "$work/race-a.log"
  fail "A's cache push beside B's"
}
[ "$(registry_check_complete imager/race)" = "$stages" ] || fail "concurrent pushes: not $stages complete entries"
pull "$race" "$work/b/cache4" "$work/race-pull.log" "$stages" "after concurrent pushes"
pass "two builders pushing the same $stages keys at once: both succeed, one complete entry per key"

# --- 3. a tampered blob ----------------------------------------------------------------------------
key=$(as "${users[1]}" "$IMAGER" build "$work/b/profiles/debian-live.yaml" --plan --json \
  --cache-dir "$work/b/cache" | python3 -c '
import json, sys
print(next(s["key"] for s in json.load(sys.stdin)["stages"] if s["name"] == "config"))')
v2=$REGISTRY_STORAGE/docker/registry/v2
link=$(cat "$v2/repositories/imager/cache/_manifests/tags/$key/current/link")
manifest=$v2/blobs/sha256/${link:7:2}/${link#sha256:}/data
layer=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["layers"][0]["digest"])' \
  "$manifest")
data=$v2/blobs/sha256/${layer:7:2}/${layer#sha256:}/data
size=$(stat -c %s "$data")
cp "$data" "$work/blob.orig"
head -c "$size" /dev/zero >"$data"
start=$SECONDS
build "${users[1]}" "$work/b2.log" "$work/b/profiles" "$work/b/out2" --cache-dir "$work/b/cache2" \
  --cache-from "$repo" "${tls[@]}"
built=$(stages_built "$work/b2.log")
[ "$built" = "config" ] || fail "with config's blob tampered with, B built '$built', not config"
grep -q "config: not from the remote cache.*$layer" "$work/b2.log" ||
  grep -q "not from the remote cache.*${layer#sha256:}" "$work/b2.log" || {
  grep -i "remote" "$work/b2.log"
  fail "no note naming the refused blob"
}
cmp -s "$work/a/out/debian-live.iso" "$work/b/out2/debian-live.iso" ||
  fail "the ISO with config built locally differs"
pass "a tampered blob was refused, config built locally, the same ISO ($((SECONDS - start)) s)"
# The registry's blobs are shared by its repositories: put it back for the ones below.
cp "$work/blob.orig" "$data"

# --- 4. the registry killed during a push ----------------------------------------------------------
# A pushes B's second cache (everything, config included) to a new repository; the registry dies
# once the first entry is there.
as "${users[1]}" "$IMAGER" build "$work/b/profiles/debian-live.yaml" -o "$work/b/out3" \
  --cache-dir "$work/b/cache2" --cache-to "docker://$REGISTRY_HOST/imager/killed" "${tls[@]}" \
  >"$work/b3.log" 2>&1 &
pid=$!
tags_dir=$v2/repositories/imager/killed/_manifests/tags
for _ in $(seq 600); do
  [ -n "$(ls "$tags_dir" 2>/dev/null)" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
registry_stop
wait "$pid" || {
  tail -30 "$work/b3.log"
  fail "a push cut off by the registry failed the build"
}
grep -q "not pushed" "$work/b3.log" || {
  tail -20 "$work/b3.log"
  fail "no warning about the stages not pushed"
}
registry_restart "$work/registry" || fail "could not restart docker-registry"
tags=$(registry_check_complete imager/killed) || fail "a partial entry is visible after the kill"
pass "the registry killed during a push: the build succeeded with warnings, $tags complete entries, nothing partial"

# ... and during a pull: `imager cache pull` into an empty cache from the complete repository of
# the concurrent pushes, the registry killed once the first entry is committed. The cache holds
# only complete entries (cache verify), and a pull after the restart fetches just the rest.
as "${users[1]}" "$IMAGER" cache pull "$work/b/profiles/debian-live.yaml" --from "$race" "${tls[@]}" \
  --cache-dir "$work/b/cache5" >"$work/pull-killed.log" 2>&1 &
pid=$!
for _ in $(seq 600); do
  [ -n "$(ls "$work/b/cache5/layers" "$work/b/cache5/artifacts" 2>/dev/null | grep -v ':$' | grep .)" ] &&
    break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
registry_stop
wait "$pid" || true
first=$(sed -n 's/.*: \([0-9]*\) stages pulled.*/\1/p' "$work/pull-killed.log")
[ -n "$first" ] && [ "$first" -lt "$stages" ] || {
  cat "$work/pull-killed.log"
  fail "the pull cut off by the registry does not report a partial pull (${first:-no count})"
}
as "${users[1]}" "$IMAGER" cache verify --cache-dir "$work/b/cache5" >"$work/verify-killed.log" 2>&1 || {
  cat "$work/verify-killed.log"
  fail "cache verify after a pull cut off by the registry"
}
registry_restart "$work/registry" || fail "could not restart docker-registry"
pull "$race" "$work/b/cache5" "$work/pull-again.log" "$((stages - first))" "after the restart"
pass "the registry killed during a pull: $first complete entries kept, the next pull fetched the other $((stages - first))"

# --- 5. an unreachable registry --------------------------------------------------------------------
registry_stop
build "${users[1]}" "$work/b4.log" "$work/b/profiles" "$work/b/out4" --cache-dir "$work/b/cache2" \
  --cache-from "$repo" --cache-to "$repo" "${tls[@]}"
grep -q "not pushed" "$work/b4.log" || fail "no warning for an unreachable --cache-to"
cmp -s "$work/a/out/debian-live.iso" "$work/b/out4/debian-live.iso" ||
  fail "the ISO differs with the registry down"
pass "an unreachable registry: warnings, the build from the local cache"
echo "builder B's warm-from-registry build: $b_seconds s"
