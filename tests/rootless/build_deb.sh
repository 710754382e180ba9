# SPDX-License-Identifier: GPL-3.0-or-later
# imager build from a Debian repository (a signed fixture made from this host's binaries): the
# essential set is unpacked, dpkg installs the rest in the sandbox, a postinst that adds a system
# user and chowns a file keeps that owner, in either id mode (single-id mode records it);
# setuid, root:shadow 0640 and file capabilities survive into the tarball; set-gid programs keep
# their group; rebuilds are identical;
# a failing postinst stops the build naming the package, and the cache stays usable.
source "$TESTLIB"
mode=$(expect_idmode)
command -v dpkg-deb >/dev/null || { echo "SKIP: dpkg missing"; exit 77; }

python3 "$(dirname "$TESTLIB")/fixtures/make_deb_repo.py" "$T/fx" --broken
mkdir -p "$T/overlay/etc/fx" && echo hello > "$T/overlay/etc/fx/motd"
printf '#!/bin/sh\nset -e\necho "script saw $(cat /etc/fx/motd)" > /etc/fx/script\n' > "$T/s.sh"
chmod +x "$T/s.sh"
profile() { # profile NAME EXTRA-PACKAGES
  cat > "$T/$1.yaml" <<YAML
name: $1
distribution: {family: debian, release: fixture, arch: amd64}
repositories:
  - {mirror: "file://$T/fx/repo", suite: fixture, components: [main], keyring: fx/key.asc}
packages: {variant: essential, include: [fixture-svc$2]}
rootfs:
  hostname: fx
  users: [{name: alice, password: {plain: secret}, shell: /bin/sh}]
  files: [{from: overlay/, to: /}]
  run: [s.sh]
  timezone: ""
output: {formats: [tar, squashfs]}
YAML
}
profile fx ""
profile fxbroken ", fixture-broken"
cd "$T"

"$IMAGER" build fx.yaml --cache-dir "$T/cache" -o "$T/out" 2> "$T/first.log" || {
  cat "$T/first.log"; fail "build failed"; }
cat "$T/first.log"
assert_eq "stages" "packages config users files scripts initrd tar squashfs" "$(stages_built "$T/first.log")"
tb="$T/out/fx.tar.gz"
listing=$(python3 - "$tb" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    for m in t.getmembers():
        caps = "cap" if any("security.capability" in k for k in m.pax_headers) else "-"
        print(m.name, f"{m.uid}/{m.gid}", oct(m.mode), caps)
PY
)
entry() { echo "$listing" | awk -v n="./$1" '$1 == n { print $2, $3, $4 }'; }
status=$(tar -xzOf "$tb" ./var/lib/dpkg/status)
assert_eq "every package installed" "4 4" \
  "$(echo "$status" | grep -c '^Package:') $(echo "$status" | grep -c '^Status: install ok installed')"
assert_contains "postinst ran" "fixture-svc: configured" "$(cat "$T/out/logs/packages.log")"
assert_contains "postinst's user" "fixsvc:x:990:990:" "$(tar -xzOf "$tb" ./etc/passwd)"
assert_eq "setuid kept" "0/0 0o4755 -" "$(entry usr/bin/passwd)"
assert_eq "overlay file" hello "$(tar -xzOf "$tb" ./etc/fx/motd)"
assert_eq "script saw the files layer" "script saw hello" "$(tar -xzOf "$tb" ./etc/fx/script)"
assert_contains "user alice" "alice:x:1000:1000:alice:/home/alice:/bin/sh" "$(tar -xzOf "$tb" ./etc/passwd)"
[ -z "$(tar -tzf "$tb" ./usr/sbin/policy-rc.d 2>/dev/null)" ] || fail "policy-rc.d left behind"
# Both id modes keep every owner: range mode on disk, single-id mode as records the sandbox keeps
# (sandbox/owner_recorder.h) and the writers apply.
assert_eq "root:shadow 0640" "0/42 0o640 -" "$(entry etc/shadow)"
assert_eq "postinst chown kept" "990/990 0o640 -" "$(entry var/lib/fixsvc/data)"
assert_eq "data.tar owner kept" "990/990 0o644 -" "$(entry var/lib/fixsvc/owned)"
assert_eq "file capability kept" "0/0 0o755 cap" "$(entry usr/bin/fixping)"
assert_eq "home owned by alice" "1000/1000 0o700 -" "$(entry home/alice)"
assert_eq "setgid shadow from data.tar kept" "0/42 0o2755 -" "$(entry usr/bin/fixchage)"
assert_eq "setgid from dpkg-statoverride kept" "0/990 0o2755 -" "$(entry usr/bin/fixcron)"
sq=$(unsquashfs -lln "$T/out/fx.squashfs" | awk '$NF == "squashfs-root/var/lib/fixsvc/data" { print $1, $2 }')
assert_eq "squashfs keeps the postinst's owner" "-rw-r----- 990/990" "$sq"
if [ "$mode" = single ]; then
  assert_contains "set-id programs' owners checked" "files of packages with set-id programs are recorded" \
    "$(cat "$T/out/logs/packages.log")"
  grep -q "were lost\|set-id bits removed" "$T/first.log" && fail "single-id mode lost owners"
  assert_contains "the stage log says what was recorded" "single-id owners: " \
    "$(cat "$T/out/logs/packages.log")"
fi

# The same inputs give the same bytes.
sum1=$(sha256sum < "$tb")
"$IMAGER" build fx.yaml --cache-dir "$T/cache" -o "$T/out" --rebuild packages 2> "$T/second.log"
assert_eq "rebuild runs everything again" "packages config users files scripts initrd tar squashfs" \
  "$(stages_built "$T/second.log")"
assert_eq "rebuilt tarball is identical" "$sum1" "$(sha256sum < "$tb")"
sq1=$(sha256sum < "$T/out/fx.squashfs")

# starts_and_ends JSON-PROGRESS: "start:STAGE" and "done:STAGE" in the order they came.
starts_and_ends() {
  python3 -c '
import json, sys
print(" ".join(e["event"][6:] + ":" + e["stage"] for e in map(json.loads, open(sys.argv[1]))
               if e["event"] in ("stage_start", "stage_done")))' "$1"
}
# Stages run side by side: with two jobs, tar and squashfs (both need only the scripts layer)
# start before either is done; one job runs them one after the other. The bytes are the same.
"$IMAGER" build fx.yaml --cache-dir "$T/cache" -o "$T/out" --rebuild tar --rebuild squashfs \
  -j 2 --json > "$T/jobs2.json" 2> "$T/jobs2.log" || { cat "$T/jobs2.log"; fail "-j 2 build"; }
events=$(starts_and_ends "$T/jobs2.json")
echo "-j 2: $events"
case "$events" in
  *"start:tar start:squashfs "* | *"start:squashfs start:tar "*) pass "-j 2: tar and squashfs ran side by side" ;;
  *) fail "-j 2: tar and squashfs did not run side by side: $events" ;;
esac
assert_eq "-j 2: same tarball" "$sum1" "$(sha256sum < "$tb")"
assert_eq "-j 2: same squashfs" "$sq1" "$(sha256sum < "$T/out/fx.squashfs")"
"$IMAGER" build fx.yaml --cache-dir "$T/cache" -o "$T/out" --rebuild tar --rebuild squashfs \
  -j 1 --json > "$T/jobs1.json" 2> "$T/jobs1.log" || { cat "$T/jobs1.log"; fail "-j 1 build"; }
events=$(starts_and_ends "$T/jobs1.json")
assert_eq "-j 1: one after the other" "start:tar done:tar start:squashfs done:squashfs" "$events"
assert_eq "-j 1: same squashfs" "$sq1" "$(sha256sum < "$T/out/fx.squashfs")"

# A script that never ends is killed at build.stage_timeout; the build fails naming the limit.
printf '#!/bin/sh\nwhile :; do :; done\n' > "$T/slow.sh"  # the fixture has no sleep
chmod +x "$T/slow.sh"
sed -e 's/^name: fx$/name: fxslow/' -e 's/run: \[s.sh\]/run: [slow.sh]/' "$T/fx.yaml" > "$T/fxslow.yaml"
echo "build: {stage_timeout: 3}" >> "$T/fxslow.yaml"
start=$SECONDS
set +e
"$IMAGER" build fxslow.yaml --cache-dir "$T/cache" -o "$T/outslow" 2> "$T/slow.log"
rc=$?
set -e
assert_eq "a stage past its time limit fails the build" 1 "$rc"
assert_contains "names the stage and the limit" "did not finish within the stage's time limit of 3 s" \
  "$(cat "$T/slow.log")"
[ $((SECONDS - start)) -lt 60 ] || fail "the time limit of 3 s took $((SECONDS - start)) s"

# A failing maintainer script stops the build, names the package and shows what it printed.
set +e
"$IMAGER" build fxbroken.yaml --cache-dir "$T/cache" -o "$T/out2" 2> "$T/broken.log"
rc=$?
set -e
cat "$T/broken.log"
assert_eq "broken build fails" 1 "$rc"
assert_contains "names the package" "dpkg could not install fixture-broken" "$(cat "$T/broken.log")"
assert_contains "shows its output" "fixture-broken: cannot set things up (on purpose)" \
  "$(cat "$T/broken.log")"
"$IMAGER" build fx.yaml --cache-dir "$T/cache" -o "$T/out" 2> "$T/third.log"
assert_eq "cache still complete after the failure" "" "$(stages_built "$T/third.log")"
