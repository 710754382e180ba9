# SPDX-License-Identifier: GPL-3.0-or-later
# imager build from a rootfs tarball: configuration and scripts land in their layers, owners set
# inside the sandbox survive into the output tarball, and an unchanged rebuild does no work.
source "$TESTLIB"
mode=$(expect_idmode)

make_tar_profile demo 'echo "script ran as $(id -u)" > /etc/demo
mkdir -p /srv/data && touch /srv/data/owned && chown 1:1 /srv/data/owned'
cd "$T"
"$IMAGER" build demo.yaml --cache-dir "$T/cache" -o "$T/out" 2> "$T/first.log"
cat "$T/first.log"
assert_eq "first build runs every stage" "base config scripts tar" "$(stages_built "$T/first.log")"
tarball="$T/out/demo.tar.gz"
[ -f "$tarball" ] || fail "no output tarball"
assert_eq "hostname" host-demo "$(tar -xzOf "$tarball" ./etc/hostname)"
assert_contains "hosts" "127.0.1.1	host-demo" "$(tar -xzOf "$tarball" ./etc/hosts)"
assert_eq "script output" "script ran as 0" "$(tar -xzOf "$tarball" ./etc/demo)"
owner=$(tar -tvzf "$tarball" ./srv/data/owned | awk '{print $2}')
# Either id mode keeps it (single-id mode records it: sandbox/owner_recorder.h).
assert_eq "owner chowned inside the sandbox" "1/1" "$owner"
[ "$mode" = range ] || assert_contains "single-id said" "single-id mode" "$(cat "$T/first.log")"
assert_eq "base files owned by root" "0/0" "$(tar -tvzf "$tarball" ./usr/bin/dash | awk '{print $2}')"
# imager shell shows the owner the script gave and keeps a chown made in the shell, in both id
# modes (single-id mode: stat is answered from the record).
assert_eq "shell shows the script's owner" "1:1 7:8" \
  "$("$IMAGER" shell demo.yaml --cache-dir "$T/cache" -o "$T/out" -- /bin/sh -c \
    'touch /new && chown 7:8 /new && echo $(stat -c %u:%g /srv/data/owned /new)' 2>/dev/null)"

# No repository dates this build and the environment gives no SOURCE_DATE_EPOCH: the base's
# newest file does, so a second cold build, a second later in another cache, zone and umask,
# gives the same bytes.
sleep 1.1
(unset SOURCE_DATE_EPOCH; umask 077; TZ=Asia/Shanghai \
  "$IMAGER" build demo.yaml --cache-dir "$T/cache-cold" -o "$T/out-cold" 2> "$T/cold.log") ||
  { cat "$T/cold.log"; fail "second cold build"; }
assert_eq "second cold build runs every stage" "base config scripts tar" "$(stages_built "$T/cold.log")"
assert_eq "same bytes from two cold builds of a tarball base" \
  "$(sha256sum < "$tarball")" "$(sha256sum < "$T/out-cold/demo.tar.gz")"
newest=$(tar -tvzf "$T/base.tar.gz" --full-time | awk '{print $4 " " $5}' | sort | tail -1)
hostname_time=$(tar -tvzf "$tarball" --full-time ./etc/hostname | awk '{print $4 " " $5}')
assert_eq "files written by the build carry the base's newest time" "$newest" "$hostname_time"

"$IMAGER" build demo.yaml --cache-dir "$T/cache" -o "$T/out" 2> "$T/second.log"
assert_eq "no-op rebuild runs nothing" "" "$(stages_built "$T/second.log")"
assert_eq "no-op rebuild reuses everything" "base config scripts tar" "$(stages_cached "$T/second.log")"
assert_eq "output directory after a no-op rebuild" "demo.tar.gz logs" "$(ls "$T/out" | tr '\n' ' ' | sed 's/ $//')"

# A changed script rebuilds the scripts layer and what follows, nothing below it.
printf '#!/bin/sh\necho changed > /etc/demo\n' > "$T/demo.sh"
"$IMAGER" build demo.yaml --cache-dir "$T/cache" -o "$T/out" 2> "$T/third.log"
assert_eq "changed script: rebuilt" "scripts tar" "$(stages_built "$T/third.log")"
assert_eq "changed script: reused" "base config" "$(stages_cached "$T/third.log")"
assert_eq "new script output" changed "$(tar -xzOf "$tarball" ./etc/demo)"

# --rebuild forces a stage and its dependents.
"$IMAGER" build demo.yaml --cache-dir "$T/cache" -o "$T/out" --rebuild config 2> "$T/fourth.log"
assert_eq "--rebuild config" "config scripts tar" "$(stages_built "$T/fourth.log")"

# imager shell: the tree of a stage, changes thrown away (even files given to other owners).
assert_eq "shell on config sees the hostname" host-demo \
  "$("$IMAGER" shell demo.yaml --cache-dir "$T/cache" -o "$T/out" --stage config -- /bin/cat /etc/hostname 2>/dev/null)"
set +e
"$IMAGER" shell demo.yaml --cache-dir "$T/cache" -o "$T/out" --stage config -- \
  /bin/sh -c 'test ! -e /etc/demo && touch /junk && chown 7:7 /junk && exit 3' 2>/dev/null
rc=$?
set -e
assert_eq "shell below the scripts layer, exit code passed on" 3 "$rc"
assert_eq "shell on the last layer" changed \
  "$("$IMAGER" shell demo.yaml --cache-dir "$T/cache" -o "$T/out" -- /bin/cat /etc/demo 2>/dev/null)"
[ -z "$(ls "$T/cache" | grep '^shell-' || true)" ] || fail "shell scratch left in the cache"
pass "shell scratch removed"
