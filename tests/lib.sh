# SPDX-License-Identifier: GPL-3.0-or-later
# Shared helpers for the rootless integration scripts (sourced). CTest sets IMAGER and PROBE.
set -euo pipefail
: "${IMAGER:?IMAGER must point to build/imager}" "${PROBE:?PROBE must point to the escape probe}"

if [ "$(id -u)" = 0 ] && [ -z "${IMAGER_ALLOW_ROOT:-}" ]; then
  echo "rootless tests must run as an unprivileged user (tests/run.sh does that); set" \
    "IMAGER_ALLOW_ROOT=1 to run them as root anyway" >&2
  exit 1
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/imager-test.XXXXXX")   # test data
ROOT=$(mktemp -d "${TMPDIR:-/tmp}/imager-root.XXXXXX")  # a root with the host's /usr, read-only

# A root directory whose userland is the host's /usr (bound read-only by `in_root`).
chmod 755 "$ROOT"  # ids other than 0 inside must be able to walk /
mkdir -p "$ROOT/usr" "$ROOT/etc"
for d in bin lib lib64 sbin; do ln -s "usr/$d" "$ROOT/$d"; done
cp "$PROBE" "$ROOT/probe"

cleanup() {
  # Files chowned to subordinate ids can only be removed from inside the id mapping.
  "$IMAGER" run --root "$ROOT" --bind /usr:/usr:ro --bind "$T:/t" -- \
    /bin/sh -c 'rm -rf /t/* /t/.[!.]* 2>/dev/null; true' >/dev/null 2>&1 || true
  chmod -R u+rwX "$T" "$ROOT" 2>/dev/null || true
  rm -rf "$T" "$ROOT"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

pass() { echo "ok: $*"; }

# Runs imager with the test root: in_root [imager-run-options...] -- CMD...
in_root() { "$IMAGER" run --root "$ROOT" --bind /usr:/usr:ro "$@"; }

# The id mode this user gets ("range" or "single"), as imager itself decides it.
idmode() { "$IMAGER" run --print-plan --json -- true | sed -n 's/.*"idmode": "\(.*\)".*/\1/p'; }

# tests/run.sh says which mode the current user must get; a silent fallback is a failure.
expect_idmode() {
  local got
  got=$(idmode)
  if [ -n "${IMAGER_EXPECT_IDMODE:-}" ] && [ "$got" != "$IMAGER_EXPECT_IDMODE" ]; then
    fail "id mode is '$got' but this user should get '$IMAGER_EXPECT_IDMODE'"
  fi
  echo "$got"
}

# assert_eq WHAT EXPECTED ACTUAL
assert_eq() {
  if [ "$2" != "$3" ]; then fail "$1: expected '$2', got '$3'"; fi
  pass "$1 = '$3'"
}

# assert_contains WHAT NEEDLE HAYSTACK
assert_contains() {
  case "$3" in
    *"$2"*) pass "$1" ;;
    *) fail "$1: '$2' not in: $3" ;;
  esac
}

# The first subordinate id of the current user in FILE (/etc/subuid or /etc/subgid).
subid_start() {
  awk -F: -v u="$(id -un)" -v n="$(id -u)" '($1 == u || $1 == n) { print $2; exit }' "$1"
}

# A small root filesystem made of host binaries (merged-/usr layout) with a shell and the
# coreutils the tests' scripts use: make_mini_rootfs DIR
make_mini_rootfs() {
  local dir=$1 bin lib
  mkdir -p "$dir/usr/bin" "$dir/etc" "$dir/root" "$dir/tmp" "$dir/proc" "$dir/sys" "$dir/dev" \
    "$dir/run" "$dir/var/lib"
  for d in bin lib lib64 sbin; do ln -s "usr/$d" "$dir/$d"; done
  mkdir -p "$dir/usr/sbin" "$dir/usr/lib" "$dir/usr/lib64"
  for bin in dash cat ls id sleep touch chown chmod mkdir rm stat; do
    cp "/usr/bin/$bin" "$dir/usr/bin/"
    for lib in $(ldd "/usr/bin/$bin" | grep -o '/[^ ]*'); do
      mkdir -p "$dir/usr$(dirname "${lib#/usr}")"
      cp -n "$lib" "$dir/usr${lib#/usr}"
    done
  done
  ln -s dash "$dir/usr/bin/sh"
  printf 'root:x:0:0:root:/root:/bin/sh\n' > "$dir/etc/passwd"
  printf 'root:x:0:\n' > "$dir/etc/group"
  printf '127.0.0.1\tlocalhost\n' > "$dir/etc/hosts"
}

# A profile that starts from a mini rootfs tarball, runs SCRIPT (a file under $T) and writes a
# tarball: make_tar_profile NAME SCRIPT-BODY; creates $T/NAME.yaml.
make_tar_profile() {
  local name=$1 body=$2
  [ -e "$T/base.tar.gz" ] || {
    make_mini_rootfs "$T/minirootfs"
    tar -C "$T/minirootfs" --owner=0 --group=0 --numeric-owner -czf "$T/base.tar.gz" .
  }
  printf '#!/bin/sh\nset -e\n%s\n' "$body" > "$T/$name.sh"
  chmod +x "$T/$name.sh"
  cat > "$T/$name.yaml" <<YAML
name: $name
description: test profile from a tarball base
distribution: {family: debian}
base: {tar: base.tar.gz}
rootfs:
  hostname: host-$name
  run: [$name.sh]
output: {formats: [tar]}
YAML
}

# wait_started LOG STAGE: waits (10 s at most) until a build's progress in LOG says STAGE started.
wait_started() {
  for _ in $(seq 200); do
    grep -q "$2: started" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  fail "the $2 stage never started: $(cat "$1")"
}

# stages_summary, stages_cached, stages_built (shared with the e2e scripts).
# shellcheck source=lib/stages.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/stages.sh"
