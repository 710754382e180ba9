# SPDX-License-Identifier: GPL-3.0-or-later
# The installed Debian package, used as a user would, from an empty directory of their own:
# /usr/bin/imager runs and is the packaged version; its manual pages, bash completion (verbs and
# the installed profiles' names), shipped profiles (/usr/share/imager/profiles, read-only for
# this user) and booter are where they belong; and it builds the shipped debian-live profile by
# name (a tarball: the root filesystem stages are those e2e.live_iso built into this user's
# cache, so with a warm cache this is a resolution, the tar output and the checks).
# tests/run.sh builds and installs the package, then runs this with IMAGER_INSTALLED=1; without
# that variable (a developer's ctest run) it skips. With it, a missing /usr/bin/imager fails.
if [ -z "${IMAGER_INSTALLED+set}" ]; then
  echo "SKIP: IMAGER_INSTALLED is not set (tests/run.sh sets it after installing the package)"
  exit 77
fi
source "$TESTLIB"
bin=/usr/bin/imager
[ -x "$bin" ] || fail "IMAGER_INSTALLED is set but $bin is not there (is the package installed?)"
share=/usr/share/imager/profiles

mkdir "$T/cwd"
cd "$T/cwd"

# --- the binary and its files --------------------------------------------------------------
version=$(dpkg-query -W -f '${Version}' imager) || fail "dpkg does not know the package imager"
assert_eq "imager --version is the package's" "imager ${version%%-*}" "$("$bin" --version)"
booter=/usr/lib/imager/imager-booter
[ -x "$booter" ] || fail "no $booter"
file -L "$booter" | grep -q "statically linked" || fail "$booter is not static: $(file -L "$booter")"
pass "$booter, static"
[ ! -w "$share" ] || fail "$share is writable by $(id -un): the read-only case is not tested"

# --- manual pages ---------------------------------------------------------------------------
if command -v man >/dev/null; then
  page=$(man -w imager-build) || fail "man -w imager-build finds no page"
  assert_eq "imager-build(1) installed" "/usr/share/man/man1/imager-build.1.gz" "$page"
  MANWIDTH=80 man imager-build 2>"$T/man.err" | grep -q "rebuild" ||
    fail "imager-build(1) does not render or lacks --rebuild: $(cat "$T/man.err")"
  MANWIDTH=80 man imager >/dev/null 2>&1 || fail "man imager"
  pass "man imager, man imager-build"
else
  [ -f /usr/share/man/man1/imager-build.1.gz ] || fail "no imager-build.1.gz"
  pass "imager-build.1.gz installed (no man here to render it)"
fi

# --- completions ----------------------------------------------------------------------------
[ -f /usr/share/zsh/vendor-completions/_imager ] || fail "no zsh completion"
[ -f /usr/share/fish/vendor_completions.d/imager.fish ] || fail "no fish completion"
# Completes with what is on PATH: /usr/bin/imager lists the installed profiles.
completed=$(PATH=/usr/bin:/bin bash -c '
  source /usr/share/bash-completion/completions/imager
  complete_words() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _imager; echo "${COMPREPLY[*]}"; }
  complete_words imager bui
  complete_words imager build debian-l') || fail "the bash completion does not load"
assert_eq "bash completes a verb and an installed profile's name" "build
debian-live" "$completed"

# --- the AppArmor profile: shipped where this host's parser reads abi 4.0 (debian/rules) ----
if [ -e /etc/apparmor.d/abi/4.0 ]; then
  [ -f /etc/apparmor.d/imager ] || fail "AppArmor 4 host, but no /etc/apparmor.d/imager"
  pass "/etc/apparmor.d/imager installed"
else
  [ ! -e /etc/apparmor.d/imager ] || fail "/etc/apparmor.d/imager installed for a parser without abi 4.0"
  pass "no /etc/apparmor.d/imager (this host's AppArmor predates abi 4.0)"
fi

# --- the shipped profiles, by name ----------------------------------------------------------
list=$("$bin" profile list) || fail "imager profile list"
echo "$list"
assert_contains "debian-live listed from $share" "$share]" "$(echo "$list" | grep '^debian-live ')"
assert_contains "debian-installer listed" "$share]" "$(echo "$list" | grep '^debian-installer ')"
"$bin" profile check debian-live >/dev/null || fail "imager profile check debian-live"

# The user's cache as earlier tests left it; the lock goes to the output directory.
start=$SECONDS
"$bin" build debian-live --format tar -o "$T/out" >"$T/build.log" 2>&1 ||
  { tail -40 "$T/build.log"; fail "imager build debian-live --format tar"; }
echo "built debian-live (tar) with $bin in $((SECONDS - start)) s"
assert_contains "the lock's place is said" \
  "$share (the profile's directory) is not writable: the lock file is $T/out/debian-live.lock" \
  "$(cat "$T/build.log")"
[ -s "$T/out/debian-live.tar.gz" ] || fail "no debian-live.tar.gz"
tar --warning=no-unknown-keyword -tzf "$T/out/debian-live.tar.gz" >"$T/files" || fail "the tarball does not read"
grep -qx './etc/os-release\|etc/os-release' "$T/files" || fail "no etc/os-release in the tarball"
grep -q 'usr/bin/systemctl$' "$T/files" || fail "no systemctl in the tarball"
pass "debian-live built by name with the installed imager, from $PWD"
