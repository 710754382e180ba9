# SPDX-License-Identifier: GPL-3.0-or-later
# RPM install through librpm inside the sandbox (`imager internal rpm-install`): a fixture set
# with a busybox shell, a dependency chain and a %pre that creates a system user, installed in
# rpm's order with scriptlets chrooted; owners kept in id-range mode and reported as lost in
# single-id mode; a failing %post fails the install, naming the package and showing its output.
source "$TESTLIB"
source "$(dirname "$TESTLIB")/fixtures/rpm_repo.sh"
mode=$(expect_idmode)
for t in rpmbuild createrepo_c rpm; do
  command -v $t >/dev/null || fail "$t is needed (dev/deps.txt: rpm createrepo-c)"
done
[ -x /bin/busybox ] || fail "/bin/busybox is needed for the fixture shell (busybox-static)"

make_rpm_repo "$T/fx" || fail "building the fixture rpms"
pkgs=()  # as the sandbox sees them; alphabetical, so fixture-app comes before what it needs
for f in "$T"/fx/repo/Packages/*.rpm; do pkgs+=("/pkgs/$(basename "$f")"); done

# rpm-install TARGET-DIR EXTRA-RPM-DIR RPM...: the hidden verb in a sandbox with host /usr.
rpm_install() {
  local target=$1 extra=$2
  shift 2
  mkdir -p "$target"
  in_root --bind "$IMAGER:/imager:ro" --bind "$target:/target" \
    --bind "$T/fx/repo/Packages:/pkgs:ro" --bind "$extra:/extra:ro" -- \
    /imager internal rpm-install /target "$@"
}

rpm_install "$T/target" "$T/fx/broken" "${pkgs[@]}" > "$T/install.out" 2> "$T/install.err" ||
  { cat "$T/install.out" "$T/install.err"; fail "rpm-install of the fixture set"; }
cat "$T/install.out" "$T/install.err"

# The rpmdb is where the image's rpm looks, and the host's rpm reads it back.
qa=$(rpm --root "$T/target" --dbpath /var/lib/rpm -qa --qf '%{NAME}\n' | sort | tr '\n' ' ')
assert_eq "rpm -qa in the target" \
  "fixture-app fixture-base fixture-libfoo fixture-shell fixture-svc " "$qa"
[ -f "$T/target/var/lib/rpm/rpmdb.sqlite" ] || fail "no sqlite rpmdb at /var/lib/rpm"
pass "sqlite rpmdb at /var/lib/rpm"

# Order: the shell before any scriptlet, then base -> libfoo -> app (%post logs, in run order).
order=$(sed -n 's/^installed \([a-z-]*\)-1.0-1.*/\1/p' "$T/install.out" | tr '\n' ' ')
pos() { echo "$order" | tr ' ' '\n' | grep -n "^$1\$" | cut -d: -f1; }
[ "$(pos fixture-shell)" = 1 ] || fail "fixture-shell must be installed first, order: $order"
[ "$(pos fixture-base)" -lt "$(pos fixture-libfoo)" ] &&
  [ "$(pos fixture-libfoo)" -lt "$(pos fixture-app)" ] &&
  [ "$(pos fixture-base)" -lt "$(pos fixture-svc)" ] || fail "dependency order broken: $order"
pass "install order: $order"
assert_eq "%post order" "fixture-base fixture-libfoo fixture-app " \
  "$(tr '\n' ' ' < "$T/target/var/log/fixture-order")"

# The %pre-created user, and the owners rpm (%attr) and %post (chown) gave its files.
assert_contains "%pre created the user" "fixsvc:x:990:990:" "$(cat "$T/target/etc/passwd")"
owners() {
  in_root --bind "$T/target:/target:ro" -- \
    stat -c '%n %u:%g %a' /target/var/lib/fixsvc/data /target/var/lib/fixsvc/state \
      /target/var/lib/fixsvc/tool | tr '\n' ' '
}
if [ "$mode" = range ]; then
  assert_eq "owners inside the id mapping" \
    "/target/var/lib/fixsvc/data 990:990 640 /target/var/lib/fixsvc/state 990:990 644 /target/var/lib/fixsvc/tool 0:990 2755 " "$(owners)"
  host_uid=$(($(subid_start /etc/subuid) + 989))
  assert_eq "owner on the host (subordinate id)" "$host_uid" \
    "$(stat -c %u "$T/target/var/lib/fixsvc/data")"
  if grep -q "ownership not kept" "$T/install.err"; then fail "ownership reported lost in range mode"; fi
  pass "no ownership reported lost"
else
  # The set-gid bit goes with the lost group: kept, it would make the program setgid root.
  assert_eq "owners in single-id mode (chown is a no-op)" \
    "/target/var/lib/fixsvc/data 0:0 640 /target/var/lib/fixsvc/state 0:0 644 /target/var/lib/fixsvc/tool 0:0 755 " "$(owners)"
  assert_contains "single-id mode reports the removed set-gid bit" \
    "ownership not kept: /var/lib/fixsvc/tool should be root:fixsvc (0:990), is 0:0 (single-id mode maps one id only); its set-id bit was removed" \
    "$(cat "$T/install.err")"
  assert_contains "single-id mode reports the lost owner" \
    "ownership not kept: /var/lib/fixsvc/data should be fixsvc:fixsvc (990:990), is 0:0" \
    "$(cat "$T/install.err")"
fi

# A failing %post: non-zero exit, the package named, the scriptlet's output shown.
set +e
rpm_install "$T/target2" "$T/fx/broken" "${pkgs[@]}" /extra/fixture-broken-1.0-1.noarch.rpm \
  > "$T/broken.out" 2> "$T/broken.err"
rc=$?
set -e
cat "$T/broken.err"
[ "$rc" != 0 ] || fail "a failing %post must fail the install"
pass "failing %post: exit $rc"
err=$(sed -n '/error: rpm: installing/,$p' "$T/broken.err")  # the message alone, not the log
assert_contains "error names the package and scriptlet" \
  "fixture-broken-1.0-1.noarch %post scriptlet failed" "$err"
assert_contains "error shows the scriptlet's output" \
  "fixture-broken post: cannot set things up (on purpose)" "$err"

# An unresolved dependency is refused before anything is written.
set +e
rpm_install "$T/target3" "$T/fx/broken" /pkgs/fixture-app-1.0-1.noarch.rpm 2> "$T/dep.err"
rc=$?
set -e
[ "$rc" != 0 ] || fail "a missing dependency must fail the install"
assert_contains "missing dependency named" \
  "fixture-libfoo is needed by fixture-app-1.0-1.noarch" "$(cat "$T/dep.err")"
[ ! -e "$T/target3/usr" ] || fail "nothing may be installed when a dependency is missing"
pass "nothing installed"

# The image's own rpm decides where its database goes and must read it (inside/rpm_image_db.h):
# a stand-in for an rpm older than 4.16, which reads Berkeley DB only, is refused by name.
_rpm_spec fixture-oldrpm noarch "" >"$T/fx/top/oldrpm.spec" <<'SPEC'
%install
mkdir -p %{buildroot}/usr/bin
cat > %{buildroot}/usr/bin/rpm <<'SH'
#!/bin/sh
case "$1" in
--version) echo "RPM version 4.14.3" ;;
--eval) echo /var/lib/rpm; echo bdb ;;
*) echo "rpm: $* not expected" >&2; exit 1 ;;
esac
SH
chmod 755 %{buildroot}/usr/bin/rpm
%files
/usr/bin/rpm
SPEC
_rpm_build "$T/fx/top" "$T/fx/top/oldrpm.spec" || fail "building fixture-oldrpm"
cp "$T"/fx/top/RPMS/noarch/fixture-oldrpm-1.0-1.noarch.rpm "$T/fx/broken/"
set +e
rpm_install "$T/target4" "$T/fx/broken" "${pkgs[@]}" /extra/fixture-oldrpm-1.0-1.noarch.rpm \
  > "$T/oldrpm.out" 2> "$T/oldrpm.err"
rc=$?
set -e
[ "$rc" != 0 ] || fail "an image whose rpm cannot read sqlite must fail the install"
assert_contains "the image's rpm and its backend named" \
  "the image's own rpm (/usr/bin/rpm), RPM version 4.14.3, reads a 'bdb' package database" \
  "$(cat "$T/oldrpm.err")"
pass "an image rpm that reads only bdb is refused: exit $rc"
