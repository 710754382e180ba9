# SPDX-License-Identifier: GPL-3.0-or-later
# gpgcheck on an rpm-md repository: every package must carry a signature by a key of the
# repository's keyring, checked by librpm before anything is installed. The fixture packages are
# signed here with throwaway keys (gpg in a temporary GNUPGHOME, rpmsign --addsign); a signed set
# builds; an unsigned package, one signed by another key and a signed one whose payload was
# altered afterwards each stop the build, naming the package file and the key.
source "$TESTLIB"
source "$(dirname "$TESTLIB")/fixtures/rpm_repo.sh"
expect_idmode >/dev/null
for t in rpmbuild rpmsign createrepo_c gpg; do
  command -v $t >/dev/null || fail "$t is needed (dev/deps.txt: rpm createrepo-c gnupg)"
done
[ -x /bin/busybox ] || fail "/bin/busybox is needed for the fixture shell (busybox-static)"
make_rpm_repo "$T/fx" || fail "building the fixture rpms"

export GNUPGHOME=$T/gnupg
mkdir -m 700 "$GNUPGHOME"
# new_key UID: a passphrase-less signing key; prints its fingerprint.
new_key() {
  gpg --batch --passphrase '' --quick-gen-key "$1" ed25519 sign never 2>/dev/null ||
    fail "gpg: generating a key for $1"
  gpg --batch --with-colons --list-keys "$1" 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}'
}
repo_key=$(new_key "Imager Fixture Repository <repo@example.invalid>")
other_key=$(new_key "Imager Other Key <other@example.invalid>")
gpg --batch --export "$repo_key" >"$T/repo-key.gpg"
lower() { echo "$1" | tr 'A-F' 'a-f'; }

# sign KEY RPM...: rpmsign with gpg (Debian's rpm macros name gpg2, which Debian lacks).
sign() {
  local key=$1
  shift
  rpmsign --define "__gpg $(command -v gpg)" --define "_gpg_path $GNUPGHOME" \
    --define "_gpg_name $key" --addsign "$@" >"$T/rpmsign.log" 2>&1 ||
    { cat "$T/rpmsign.log"; fail "rpmsign with $key"; }
}

# make_case NAME: $T/NAME/repo with the fixture packages signed by the repository's key and
# repomd.xml signed too (that check stays as it was); the caller alters packages, then calls
# finish_case NAME, which writes the metadata and $T/NAME.yaml.
make_case() {
  mkdir -p "$T/$1/repo/Packages"
  cp "$T"/fx/repo/Packages/*.rpm "$T/$1/repo/Packages/"
  sign "$repo_key" "$T/$1"/repo/Packages/*.rpm
}
finish_case() {
  createrepo_c --quiet --no-database "$T/$1/repo" >/dev/null
  gpg --batch --yes --local-user "$repo_key" --armor --detach-sign \
    -o "$T/$1/repo/repodata/repomd.xml.asc" "$T/$1/repo/repodata/repomd.xml"
  cat >"$T/$1.yaml" <<YAML
name: $1
description: rpm gpgcheck
distribution: {family: rpm, release: "1", arch: x86_64}
repositories:
  - {type: rpm-md, url: "file://$T/$1/repo", gpgcheck: true, keyring: repo-key.gpg}
packages: {include: [fixture-app, fixture-svc]}
base: none
output: {formats: [tar]}
YAML
}
# refused NAME PHRASE...: the build fails before installing, with every PHRASE in its message.
refused() {
  local name=$1
  shift
  if "$IMAGER" build "$T/$name.yaml" --cache-dir "$T/cache" -o "$T/out-$name" >/dev/null \
    2>"$T/$name.log"; then
    fail "$name: the build must refuse the package"
  fi
  cat "$T/$name.log"
  for phrase in "$@"; do assert_contains "$name: the error says '$phrase'" "$phrase" "$(cat "$T/$name.log")"; done
  [ ! -e "$T/out-$name/$name.tar.gz" ] || fail "$name: no output after a refused package"
  if grep -q "^installed " "$T/out-$name/logs/packages.log" 2>/dev/null; then
    fail "$name: nothing may be installed before the signatures are checked"
  fi
  pass "$name: refused before anything was installed"
}

# Every package signed by the repository's key: the build installs them.
make_case signed
finish_case signed
"$IMAGER" build "$T/signed.yaml" --cache-dir "$T/cache" -o "$T/out-signed" >/dev/null \
  2>"$T/signed.log" || { cat "$T/signed.log"; fail "a build from signed packages"; }
tar -tzf "$T/out-signed/signed.tar.gz" >"$T/signed.list"
grep -qx './usr/bin/app' "$T/signed.list" || fail "fixture-app not installed"
pass "signed packages install"

# fixture-app unsigned.
make_case unsigned
rpmsign --delsign "$T/unsigned/repo/Packages/fixture-app-1.0-1.noarch.rpm" >/dev/null 2>&1 ||
  fail "rpmsign --delsign"
finish_case unsigned
refused unsigned "package fixture-app-1.0-1.noarch.rpm" "it is not signed" "$repo_key"

# fixture-app signed by a key the repository's keyring does not hold.
make_case otherkey
rpmsign --delsign "$T/otherkey/repo/Packages/fixture-app-1.0-1.noarch.rpm" >/dev/null 2>&1
sign "$other_key" "$T/otherkey/repo/Packages/fixture-app-1.0-1.noarch.rpm"
finish_case otherkey
refused otherkey "package fixture-app-1.0-1.noarch.rpm" \
  "signed with key ID $(lower "${other_key:32}"), which is not in the keyring" "$repo_key"

# fixture-shell signed, then one byte of its payload (busybox, the end of the file) flipped.
make_case tampered
python3 - "$T/tampered/repo/Packages/fixture-shell-1.0-1.x86_64.rpm" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(-4096, 2)
    b = f.read(1)
    f.seek(-4096, 2)
    f.write(bytes([b[0] ^ 0xFF]))
EOF
finish_case tampered
refused tampered "package fixture-shell-1.0-1.x86_64.rpm" \
  "altered after it was signed (signed with key ID $(lower "${repo_key:32}"))" \
  "Payload SHA256 digest: BAD" "$repo_key"
