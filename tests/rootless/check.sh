# SPDX-License-Identifier: GPL-3.0-or-later
# imager check reports this host ready, the id mode this user really has, and a cache filesystem
# (from the mount table) that overlayfs can use.
source "$TESTLIB"
mode=$(expect_idmode)
out=$("$IMAGER" check --json --cache-dir "$T/cache")
echo "$out"
assert_contains "ready" '"ready": true' "$out"
if [ "$mode" = range ]; then
  assert_contains "range mode reported" "range mode" "$out"
else
  assert_contains "single mode reported as supported" "single-id mode (" "$out"
  assert_contains "with what it cannot keep" "not kept: non-root owners of symlinks" "$out"
  assert_contains "and how to get range mode" "usermod --add-subuids" "$out"
  assert_contains "owner recording checked" "owners are recorded (single-id mode)" "$out"
fi
assert_contains "sandbox launch checked" "overlay root, namespaces, seccomp and capability drop work" "$out"
assert_contains "cache filesystem checked (mount table)" "overlay upper directories work there" "$out"
