# SPDX-License-Identifier: GPL-3.0-or-later
# A shipped profile built by name (imager build fx) from a directory the user cannot write, the
# profile's directory read-only as under /usr/share: the lock goes to the output directory and
# the build says so; --locked and resolve read it from there. Also: the lock beside a writable
# profile is FILE.lock (two profiles of one name keep two locks), --lock PATH, profile list with
# where each profile comes from, profile new, and an unknown name.
source "$TESTLIB"
command -v dpkg-deb >/dev/null || { echo "SKIP: dpkg missing"; exit 77; }

python3 "$(dirname "$TESTLIB")/fixtures/make_deb_repo.py" "$T/fx"
# An installed layout: PREFIX/bin/imager finds PREFIX/share/imager/profiles.
inst=$T/inst
mkdir -p "$inst/bin" "$inst/share/imager/profiles/keys"
cp "$IMAGER" "$inst/bin/imager"
cp "$T/fx/key.asc" "$inst/share/imager/profiles/keys/fx.asc"
fx_profile() { # fx_profile NAME
  cat <<YAML
name: $1
description: fixture profile
distribution: {family: debian, release: fixture, arch: amd64}
repositories:
  - {mirror: "file://$T/fx/repo", suite: fixture, components: [main], keyring: keys/fx.asc}
packages: {variant: essential, include: [fixture-svc]}
rootfs: {hostname: fx, timezone: ""}
output: {formats: [tar]}
YAML
}
fx_profile fx >"$inst/share/imager/profiles/fx.yaml"
chmod -R a-w "$inst/share"
mkdir "$T/ro" && chmod 555 "$T/ro"
export XDG_CONFIG_HOME=$T/config
im() { (cd "$T/ro" && "$inst/bin/imager" "$@"); }

list=$(im profile list)
echo "$list"
assert_contains "list: name, description and origin" \
  "fixture profile  [shipped: $inst/share/imager/profiles]" "$(echo "$list" | grep '^fx ')"

im build fx -o "$T/out" --cache-dir "$T/cache" 2>"$T/build.log" || { cat "$T/build.log"; fail "build fx"; }
cat "$T/build.log"
assert_contains "lock place said" \
  "$inst/share/imager/profiles (the profile's directory) is not writable: the lock file is $T/out/fx.lock" \
  "$(cat "$T/build.log")"
[ -f "$T/out/fx.lock" ] || fail "no lock in the output directory"
[ -f "$T/out/fx.tar.gz" ] || fail "no tarball"
pass "built a read-only shipped profile by name from a read-only directory"

im build fx -o "$T/out" --cache-dir "$T/cache" --locked --offline 2>"$T/locked.log" ||
  { cat "$T/locked.log"; fail "build --locked"; }
assert_eq "--locked: every stage cached" "" "$(stages_built "$T/locked.log")"
out=$(im resolve fx -o "$T/out" --cache-dir "$T/cache" --locked --offline 2>&1) || { echo "$out"; fail "resolve --locked"; }
assert_contains "resolve --locked reads the same lock" "$T/out/fx.lock:" "$out"
pass "--locked reads the lock from the output directory"

# A writable directory: FILE.lock beside FILE, whatever the profile's name; --lock PATH.
mkdir "$T/w"
fx_profile same >"$T/w/p1.yaml"
fx_profile same >"$T/w/p2.yaml"
cp -r "$inst/share/imager/profiles/keys" "$T/w/"
for p in p1 p2; do
  "$inst/bin/imager" resolve "$T/w/$p.yaml" --cache-dir "$T/cache" --offline >/dev/null 2>"$T/r.log" ||
    { cat "$T/r.log"; fail "resolve $p"; }
done
assert_eq "one lock per file" "p1.lock p1.yaml p2.lock p2.yaml" "$(cd "$T/w" && echo p*)"
"$inst/bin/imager" resolve "$T/w/p1.yaml" --lock "$T/given.lock" --cache-dir "$T/cache" --offline \
  >/dev/null 2>&1 || fail "resolve --lock"
[ -f "$T/given.lock" ] || fail "--lock PATH not written"
pass "FILE.lock beside FILE; --lock PATH"

# The current directory comes first; then the user's profiles.
(cd "$T/w" && "$inst/bin/imager" profile list) >"$T/list2"
assert_contains "./ profile listed" "[current directory: .]" "$(grep '^p1 ' "$T/list2")"
new=$(im profile new mine --from fx)
assert_eq "profile new writes to the user's directory" "$T/config/imager/profiles/mine.yaml" "$new"
im profile check mine >/dev/null || fail "the new profile does not check"
assert_contains "new profile listed as the user's" "[user: $T/config/imager/profiles]" \
  "$(im profile list | grep '^mine ')"
im resolve mine --cache-dir "$T/cache" --offline >/dev/null 2>&1 || fail "resolve mine"
[ -f "$T/config/imager/profiles/mine.lock" ] || fail "mine.lock not beside mine.yaml"
pass "profile new, by name from the user's directory"

err=$(im build nosuch -o "$T/out2" 2>&1) && fail "an unknown name built"
assert_contains "unknown name" "no profile named 'nosuch' (looked for nosuch.yaml in ." "$err"

# From a directory the user cannot write, without -o: the error says which directory and what to do.
err=$(im build fx --cache-dir "$T/cache" 2>&1) && fail "built into an unwritable directory"
assert_contains "unwritable current directory" \
  "Permission denied (the default output directory out/fx of the current directory; give one with -o DIR)" "$err"
