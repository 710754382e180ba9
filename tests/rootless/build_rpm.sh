# SPDX-License-Identifier: GPL-3.0-or-later
# imager build of an rpm-family profile from the fixture rpm-md repository (file://, unsigned):
# resolve, fetch, librpm install in the sandbox, tar output with the owner a %pre-created user
# gets (lost, and reported, in single-id mode); a failing %post stops the build naming the
# package with the scriptlet's output.
source "$TESTLIB"
source "$(dirname "$TESTLIB")/fixtures/rpm_repo.sh"
mode=$(expect_idmode)
for t in rpmbuild createrepo_c; do
  command -v $t >/dev/null || fail "$t is needed (dev/deps.txt: rpm createrepo-c)"
done
[ -x /bin/busybox ] || fail "/bin/busybox is needed for the fixture shell (busybox-static)"
make_rpm_repo "$T/fx" || fail "building the fixture rpms"

# rpm_profile NAME REPO-DIR PACKAGES: writes $T/NAME.yaml
rpm_profile() {
  cat > "$T/$1.yaml" <<YAML
name: $1
description: rpm fixture build
distribution: {family: rpm, release: "1", arch: x86_64}
repositories:
  - {type: rpm-md, url: "file://$2", gpgcheck: false}
packages: {include: [$3]}
base: none
rootfs: {hostname: host-$1}
output: {formats: [tar]}
YAML
}

cd "$T"
rpm_profile fx "$T/fx/repo" "fixture-app, fixture-svc"
"$IMAGER" build fx.yaml --cache-dir "$T/cache" -o "$T/out" 2> "$T/first.log" ||
  { cat "$T/first.log"; cat "$T"/out/logs/packages.log 2>/dev/null; fail "imager build"; }
cat "$T/first.log"
assert_eq "stages built" "packages config tar" "$(stages_built "$T/first.log")"
tarball="$T/out/fx.tar.gz"
[ -f "$tarball" ] || fail "no output tarball"
list=$(tar -tvzf "$tarball")
for f in ./bin/busybox ./usr/bin/app ./usr/lib/libfoo.so.1 ./var/lib/rpm/rpmdb.sqlite; do
  assert_contains "tarball has $f" " $f" "$list"
done
assert_contains "%pre created the user" "fixsvc:x:990:990:" "$(tar -xzOf "$tarball" ./etc/passwd)"
assert_eq "%post order" "fixture-base fixture-libfoo fixture-app " \
  "$(tar -xzOf "$tarball" ./var/log/fixture-order | tr '\n' ' ')"
assert_eq "hostname" host-fx "$(tar -xzOf "$tarball" ./etc/hostname)"
owner() { tar -tvzf "$tarball" "$1" | awk '{print $2}'; }
# Either id mode keeps them (single-id mode records librpm's chowns: sandbox/owner_recorder.h).
assert_eq "owner of the %attr file" "990/990" "$(owner ./var/lib/fixsvc/data)"
assert_eq "owner of the file %post chowned" "990/990" "$(owner ./var/lib/fixsvc/state)"
assert_contains "packages log lists installs" "installed fixture-shell-1.0-1.x86_64" \
  "$(cat "$T/out/logs/packages.log")"

"$IMAGER" build fx.yaml --cache-dir "$T/cache" -o "$T/out" 2> "$T/second.log"
assert_eq "no-op rebuild runs nothing" "" "$(stages_built "$T/second.log")"

# A failing %post stops the build with the package and its output in the message.
mkdir -p "$T/bad/Packages"
cp "$T"/fx/repo/Packages/*.rpm "$T/fx/broken/"*.rpm "$T/bad/Packages/"
createrepo_c --quiet "$T/bad" >/dev/null
rpm_profile bad "$T/bad" "fixture-app, fixture-broken"
set +e
"$IMAGER" build bad.yaml --cache-dir "$T/cache" -o "$T/outbad" 2> "$T/bad.log"
rc=$?
set -e
cat "$T/bad.log"
[ "$rc" != 0 ] || fail "a failing %post must fail the build"
assert_contains "build error names the package" \
  "fixture-broken-1.0-1.noarch %post scriptlet failed" "$(cat "$T/bad.log")"
assert_contains "build error shows the scriptlet output" \
  "fixture-broken post: cannot set things up (on purpose)" "$(cat "$T/bad.log")"
[ ! -e "$T/outbad/bad.tar.gz" ] || fail "no tarball after a failed install"
pass "no output after the failure"
