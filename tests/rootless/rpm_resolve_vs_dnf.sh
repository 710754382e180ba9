# SPDX-License-Identifier: GPL-3.0-or-later
# imager's resolution of rpm profiles equals dnf's: the fixture repository of
# tests/fixtures/rpm_resolve_repo.sh (obsoletes, epochs, versioned, file, rich and virtual
# dependencies, multilib, installonly kernels, a comps group, weak dependencies) is resolved by `imager resolve` and by
# `dnf install --downloadonly` into an empty root, and the two sets must be equal name by name,
# epoch:version-release.arch included. dnf refuses to install as non-root, so an unprivileged
# user runs it as root of its own user namespace (unshare --map-root-user), where dnf writes only
# below this test's directory. The errors of an unknown name, a conflict and a dependency nothing
# provides must say what dnf says.
source "$TESTLIB"
source "$(dirname "$TESTLIB")/fixtures/rpm_resolve_repo.sh"
for t in rpmbuild createrepo_c dnf rpm python3 unshare; do
  command -v $t >/dev/null || fail "$t is needed (dev/deps.txt: rpm createrepo-c dnf python3)"
done
make_resolve_repo "$T/fx" || fail "building the fixture rpms"

# dnf as root of a user namespace when not root: its superuser check then passes, and every
# file it writes lands in this test's directory.
DNF=(dnf)
[ "$(id -u)" = 0 ] || DNF=(unshare --user --map-root-user dnf)
printf '[main]\ngpgcheck=False\nbest=False\nreposdir=/dev/null\n' >"$T/dnf.conf"

# dnf_set NAME ARGS...: what `dnf ARGS --downloadonly` installs into an empty root, one
# NAME-EPOCH:VERSION-RELEASE.ARCH per line, sorted (read from the rpm files it downloaded).
dnf_set() {
  local d=$T/dnf-$1
  shift
  mkdir -p "$d/root" "$d/log" "$d/dl"
  "${DNF[@]}" --config "$T/dnf.conf" --installroot "$d/root" --releasever 1 \
    --setopt=cachedir="$d/cache" --setopt=logdir="$d/log" --setopt=persistdir="$d/persist" \
    --repofrompath=fx,"file://$T/fx/repo" --disablerepo='*' --enablerepo=fx \
    "$@" --downloadonly --assumeyes --destdir "$d/dl" >"$d/out" 2>&1 ||
    { cat "$d/out" >&2; return 1; }
  for f in "$d"/dl/*.rpm; do
    rpm -qp --nosignature --qf '%{NAME}-%{EPOCHNUM}:%{VERSION}-%{RELEASE}.%{ARCH}\n' "$f"
  done | sort
}

# rs_profile NAME RECOMMENDS INCLUDE...: writes $T/NAME.yaml for the fixture repository.
rs_profile() {
  local name=$1 recommends=$2
  shift 2
  local include
  include=$(printf '"%s", ' "$@")
  cat >"$T/$name.yaml" <<YAML
name: $name
description: rpm resolution against dnf
distribution: {family: rpm, release: "1", arch: x86_64}
repositories:
  - {type: rpm-md, url: "file://$T/fx/repo", gpgcheck: false}
packages: {include: [${include%, }], recommends: $recommends}
base: none
output: {formats: [tar]}
YAML
}

# imager_set NAME: the lock's packages of $T/NAME.yaml, as dnf_set prints them.
imager_set() {
  "$IMAGER" resolve "$T/$1.yaml" --cache-dir "$T/cache" >"$T/$1.resolve.out" 2>&1 ||
    { cat "$T/$1.resolve.out" >&2; return 1; }
  python3 - "$T/$1.lock" <<'EOF' | sort
import json, sys
for p in json.load(open(sys.argv[1]))["packages"]:
    evr = p["version"] if ":" in p["version"] else "0:" + p["version"]
    print(f'{p["name"]}-{evr}.{p["architecture"]}')
EOF
}

# same_set CASE RECOMMENDS INCLUDE... -- DNF-ARGS...: resolves a profile of CASE (which must
# pass `imager profile check`) and dnf's request; a difference is shown and counted.
failed=()
same_set() {
  local name=$1 recommends=$2 include=() want got weak=False
  shift 2
  while [ "$1" != -- ]; do include+=("$1"); shift; done
  shift
  rs_profile "$name" "$recommends" "${include[@]}"
  "$IMAGER" profile check "$T/$name.yaml" >/dev/null || fail "profile check of $name.yaml"
  [ "$recommends" = true ] && weak=True
  want=$(dnf_set "$name" --setopt=install_weak_deps=$weak "$@") || fail "dnf ($name)"
  if ! got=$(imager_set "$name"); then
    failed+=("$name")
    echo "FAILED: $name: imager resolve failed" >&2
  elif [ "$want" != "$got" ]; then
    failed+=("$name")
    echo "FAILED: $name: imager's set differs from dnf's (- dnf only, + imager only):" >&2
    diff <(echo "$want") <(echo "$got") | sed -n 's/^</  -/p; s/^>/  +/p' >&2 || true
  else
    pass "$name: imager and dnf install the same: $(echo "$got" | tr '\n' ' ')"
  fi
}

# One case per rule; weak dependencies are off unless said (the profile default).
same_set obsoletes false rs-old rs-oldneed -- install rs-old rs-oldneed
same_set epochs false rs-epoch rs-epochneed -- install rs-epoch rs-epochneed
same_set versions false rs-verneed -- install rs-verneed
same_set exact-version false rs-ver-1.0 -- install rs-ver-1.0
same_set files false rs-filedep /usr/share/rs-fixture/byfile.txt -- \
  install rs-filedep /usr/share/rs-fixture/byfile.txt
# A glob of paths (how the RPM family asks for its boot loaders: /boot/efi/EFI/*/shimx64.efi).
same_set file-glob false '/usr/share/*/byfile.txt' -- install '/usr/share/*/byfile.txt'
same_set rich false rs-rich rs-trigger -- install rs-rich rs-trigger
same_set virtual false rs-mailer rs-webserver -- install rs-mailer rs-webserver
same_set multilib false rs-multiuser rs-multi -- install rs-multiuser rs-multi
same_set multilib-asked false rs-multi.i686 -- install rs-multi.i686
same_set multilib-both false rs-multi.i686 rs-multi.x86_64 -- install rs-multi.i686 rs-multi.x86_64
same_set installonly false kernel-2.0 rs-kmod -- install kernel-2.0 rs-kmod
same_set group false @rs-group -- install @rs-group
# A group's optional packages: "@group --optional" here, dnf's group_package_types there.
same_set group-optional false "@rs-group --optional" -- \
  --setopt=group_package_types=mandatory,default,conditional,optional install @rs-group
same_set no-weak false rs-weak -- install rs-weak
same_set weak true rs-weak -- install rs-weak
[ ${#failed[@]} = 0 ] || fail "imager differs from dnf in: ${failed[*]}"

# Errors, in dnf's words: each phrase dnf prints must be in imager's message.
# same_error NAME PHRASE INCLUDE...
same_error() {
  local name=$1 phrase=$2
  shift 2
  rs_profile "$name" false "$@"
  if dnf_set "$name" install "$@" >/dev/null 2>&1; then fail "dnf installs $*"; fi
  assert_contains "dnf says it" "$phrase" "$(cat "$T/dnf-$name/out")"
  if "$IMAGER" resolve "$T/$name.yaml" --cache-dir "$T/cache" 2>"$T/$name.err"; then
    fail "imager resolves $*"
  fi
  assert_contains "imager says it too" "$phrase" "$(cat "$T/$name.err")"
}
same_error unknown "No match for argument: rs-nothere" rs-nothere
same_error conflict \
  "package rs-conf-a-1.0-1.noarch conflicts with rs-conf-b provided by rs-conf-b-1.0-1.noarch" \
  rs-conf-a rs-conf-b
same_error missing "nothing provides rs-missing needed by rs-broken-1.0-1.noarch" rs-broken
