#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The whole test suite on a fresh Debian 12 machine. As root it installs what is needed, builds,
# then runs every test as an unprivileged user with a subordinate id range, and the rootless tests
# again as a user without one (single-id mode). As a normal user it runs them as that user.
set -euo pipefail
cd "$(dirname "$0")/.."
bash dev/setup.sh

labels='unit|rootless|network|e2e|fuzz'
if [ "$(id -u)" != 0 ]; then
  exec ctest --test-dir build -L "$labels" --output-on-failure
fi

# --- as root: the two unprivileged users --------------------------------------------------
RANGE_USER=imager-test
SINGLE_USER=imager-test-nosub
REPRO_USER=imager-test-2 # a second user with a range: e2e.reproducible builds as both
for u in $RANGE_USER $SINGLE_USER $REPRO_USER; do
  id "$u" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$u"
done
# useradd may hand out ranges by itself; the single-id user must have none, the other one must.
sed -i "/^$SINGLE_USER:/d" /etc/subuid /etc/subgid
for f in /etc/subuid /etc/subgid; do
  for u in $RANGE_USER $REPRO_USER; do
    if ! grep -q "^$u:" "$f"; then
      start=$(awk -F: 'BEGIN {m = 100000} {e = $2 + $3; if (e > m) m = e} END {print m}' "$f")
      echo "$u:$start:65536" >> "$f"
    fi
  done
done

# Rootless podman's network (slirp4netns, tests/e2e/containerfile.sh) opens /dev/net/tun, which
# udev makes 0666; some VMs leave it 0600.
[ ! -c /dev/net/tun ] || chmod 0666 /dev/net/tun
# Xvfb (tests/lib/calamares_xvfb.sh) puts its socket in /tmp/.X11-unix, root's and sticky as X
# expects it.
install -d -m 1777 -o root -g root /tmp/.X11-unix
# A small filesystem for the disk-full test (tests/rootless/limits_build.sh): a 128 MiB tmpfs.
SMALL_FS=/var/tmp/imager-small-fs
mkdir -p $SMALL_FS
mountpoint -q $SMALL_FS || mount -t tmpfs -o size=128m,mode=1777 imager-small-fs $SMALL_FS

# The users must reach the build; a checkout under a private home is copied somewhere they can.
SRC=$PWD
if ! runuser -u $RANGE_USER -- test -x "$SRC/build/imager"; then
  SRC=/var/tmp/imager-test-src
  echo "tests: $PWD is not readable by $RANGE_USER; building a copy in $SRC"
  rm -rf "$SRC"
  mkdir -p "$SRC"
  tar -C "$PWD" --exclude=./build --exclude=./build-fuzz -cf - . | tar -C "$SRC" -xf -
  (cd "$SRC" && bash dev/setup.sh >/dev/null)
fi

# The fuzz targets' clang build, made here so that the test user only runs them.
bash "$SRC/fuzz/run.sh" --build-only
chmod -R a+rX "$SRC/build-fuzz"

as_user() { # as_user USER EXPECTED-IDMODE LABELS [CTEST OPTIONS]
  local user=$1 mode=$2 which=$3
  shift 3
  rm -rf "$SRC/build/Testing"
  install -d -m 1777 "$SRC/build/Testing"
  echo "=== tests as $user (expects $mode id mode): $which"
  runuser -u "$user" -- env -i HOME="/home/$user" USER="$user" LOGNAME="$user" PATH=/usr/bin:/bin \
    TERM="${TERM:-dumb}" CI="${CI:-}" IMAGER_EXPECT_IDMODE="$mode" IMAGER_SMALL_FS=$SMALL_FS \
    ${IMAGER_INSTALLED+IMAGER_INSTALLED="$IMAGER_INSTALLED"} \
    ctest --test-dir "$SRC/build" -L "$which" -LE asroot --output-on-failure "$@"
}
# Every group runs even when one before it failed; the run fails at the end, naming them.
failed=()
# The unit tests side by side (each is one process, and none shares state with another); the
# rest one after the other (they start builds and virtual machines that use every core).
as_user $RANGE_USER range unit -j "$(nproc)" || failed+=("unit as $RANGE_USER")
as_user $RANGE_USER range "${labels#unit|}" || failed+=("$RANGE_USER")
as_user $SINGLE_USER single rootless || failed+=("$SINGLE_USER")
# Tests labelled asroot drive builds as several unprivileged users (runuser); nothing in them
# builds as root.
echo "=== tests that build as $RANGE_USER and $REPRO_USER"
rm -rf "$SRC/build/Testing"
IMAGER_REPRO_USERS="$RANGE_USER $REPRO_USER" IMAGER_SINGLE_USER=$SINGLE_USER ctest --test-dir "$SRC/build" -L asroot \
  --output-on-failure || failed+=("asroot")

# --- the Debian package -------------------------------------------------------------------
# Made from the tree just built and tested, without compiling it again (-nc: build/ as it is;
# debian/rules configures it with the flags it already has), then checked by lintian, installed,
# and used by the unprivileged user (rootless.installed_package); removed again at the end, so
# that a later build/imager does not find the installed profiles first.
echo "=== the Debian package"
start=$SECONDS
base=imager_$(cd "$SRC" && dpkg-parsechangelog -S Version)_$(dpkg --print-architecture)
deb=$base.deb
(cd "$SRC" && DEB_BUILD_OPTIONS="nocheck noautodbgsym" dpkg-buildpackage -us -uc -b -nc) \
  >"$SRC/build/dpkg-buildpackage.log" 2>&1 || {
  tail -40 "$SRC/build/dpkg-buildpackage.log"
  echo "tests: dpkg-buildpackage failed (log: $SRC/build/dpkg-buildpackage.log)" >&2
  exit 1
}
# The package must hold the binary the suite tested: nothing may have been compiled.
grep -q '^ninja: no work to do\.$' "$SRC/build/dpkg-buildpackage.log" || {
  echo "tests: dpkg-buildpackage compiled again (log: $SRC/build/dpkg-buildpackage.log)" >&2
  exit 1
}
rm -rf "$SRC/build/deb"
mkdir -p "$SRC/build/deb"
for f in "$deb" "$base.buildinfo" "$base.changes"; do mv "$SRC/../$f" "$SRC/build/deb/"; done
(cd "$SRC/debian" && rm -rf imager tmp .debhelper debhelper-build-stamp files ./*.substvars)
echo "built $SRC/build/deb/$deb in $((SECONDS - start)) s"
runuser -u $RANGE_USER -- env -i HOME="/home/$RANGE_USER" PATH=/usr/bin:/bin \
  lintian --fail-on error "$SRC/build/deb/$deb" | tee "$SRC/build/deb/lintian.txt"
echo "lintian: $(grep -c '^E: ' "$SRC/build/deb/lintian.txt") errors, $(grep -c '^W: ' \
  "$SRC/build/deb/lintian.txt") warnings"
trap 'apt-get remove -y -qq imager >/dev/null 2>&1 || true' EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$SRC/build/deb/$deb" >/dev/null
IMAGER_INSTALLED=1 as_user $RANGE_USER range installed
echo "the package: $((SECONDS - start)) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "tests: FAILED: ${failed[*]} (see above)" >&2
  exit 1
fi
