# SPDX-License-Identifier: GPL-3.0-or-later
# Overlay root: lowers stay untouched, every change lands in the upper, later lowers win.
source "$TESTLIB"
expect_idmode >/dev/null

low1="$T/low1" low2="$T/low2" up="$T/up"
mkdir -p "$low1/etc" "$low2/etc" "$up"
cp -a "$ROOT/." "$low1/"
echo base > "$low1/etc/a"
echo base > "$low1/etc/c"
echo one > "$low1/etc/layered"
echo two > "$low2/etc/layered"

ovl() { "$IMAGER" run --lower "$low1" --lower "$low2" --upper "$up" --bind /usr:/usr:ro "$@"; }
assert_eq "later lower wins" two "$(ovl -- /bin/cat /etc/layered)"
ovl -- /bin/sh -c 'echo changed > /etc/a && echo new > /etc/b && rm /etc/c'

assert_eq "lower file unchanged" base "$(cat "$low1/etc/a")"
assert_eq "deleted file still in lower" base "$(cat "$low1/etc/c")"
[ ! -e "$low1/etc/b" ] || fail "new file leaked into the lower"
assert_eq "changed file in upper" changed "$(cat "$up/etc/a")"
assert_eq "new file in upper" new "$(cat "$up/etc/b")"
[ -e "$up/etc/c" ] || [ -L "$up/etc/c" ] || fail "no whiteout for the deleted file in the upper"
pass "whiteout recorded in the upper"
assert_eq "a second run sees the upper" "changed new" "$(ovl -- /bin/sh -c 'echo $(cat /etc/a /etc/b)')"
[ -z "$(ls -A "$T" | grep '^\.imager-work-' || true)" ] || fail "temporary work dir left behind"
pass "temporary overlay work dir removed"

# A read-only overlay (no upper) and --read-only refuse writes.
set +e
msg=$("$IMAGER" run --lower "$low1" --bind /usr:/usr:ro -- /bin/sh -c 'echo x > /etc/a' 2>&1)
rc=$?
set -e
[ $rc -ne 0 ] || fail "write to an overlay without upper succeeded"
assert_contains "overlay without upper is read-only" "Read-only file system" "$msg"
set +e
msg=$(in_root --read-only -- /bin/sh -c 'echo x > /x' 2>&1)
set -e
assert_contains "--read-only root" "Read-only file system" "$msg"
