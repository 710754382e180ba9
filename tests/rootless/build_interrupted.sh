# SPDX-License-Identifier: GPL-3.0-or-later
# Cache integrity: a build killed with SIGKILL in the middle of a stage leaves no entry that a
# later build trusts; the rebuild reuses exactly the stages that had completed. Two builds that
# share a cache at the same time both succeed, and the stage they both need is built once.
source "$TESTLIB"
expect_idmode >/dev/null

make_tar_profile slow 'echo slow > /etc/slow
mkdir /etc/foreign && touch /etc/foreign/f && chown -R 1:1 /etc/foreign
sleep 3'
cd "$T"
"$IMAGER" build slow.yaml --cache-dir "$T/cache" -o "$T/out" 2> "$T/killed.log" &
pid=$!
wait_started "$T/killed.log" scripts
sleep 0.5
kill -KILL $pid
wait $pid || true
cat "$T/killed.log"
assert_eq "stages completed before the kill" "base config" "$(stages_built "$T/killed.log")"
[ ! -e "$T/out/slow.tar.gz" ] || fail "an output appeared from the killed build"

"$IMAGER" build slow.yaml --cache-dir "$T/cache" -o "$T/out" 2> "$T/resumed.log"
cat "$T/resumed.log"
assert_eq "resumed build reuses the completed stages" "base config" "$(stages_cached "$T/resumed.log")"
assert_eq "resumed build redoes the interrupted one" "scripts tar" "$(stages_built "$T/resumed.log")"
assert_eq "output complete" slow "$(tar -xzOf "$T/out/slow.tar.gz" ./etc/slow)"
# The killed stage left files owned by a subordinate id (range mode): cleaned all the same.
[ -z "$(ls -A "$T/cache/tmp" 2>/dev/null)" ] || fail "debris left in the cache's tmp: $(ls "$T/cache/tmp")"
pass "no debris left in the cache"

# Two builds of a new script at once on one cache.
make_tar_profile twin 'echo twin > /etc/twin
sleep 2'
"$IMAGER" build twin.yaml --cache-dir "$T/cache" -o "$T/out-a" 2> "$T/a.log" &
a=$!
"$IMAGER" build twin.yaml --cache-dir "$T/cache" -o "$T/out-b" 2> "$T/b.log" &
b=$!
wait $a || fail "first concurrent build failed: $(cat "$T/a.log")"
wait $b || fail "second concurrent build failed: $(cat "$T/b.log")"
cat "$T/a.log" "$T/b.log"
built=$(cat "$T/a.log" "$T/b.log" | grep -c 'scripts: done in' || true)
assert_eq "the shared stage was built once" 1 "$built"
assert_eq "both outputs" "twin twin" \
  "$(tar -xzOf "$T/out-a/twin.tar.gz" ./etc/twin) $(tar -xzOf "$T/out-b/twin.tar.gz" ./etc/twin)"
