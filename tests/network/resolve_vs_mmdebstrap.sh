#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Network check: resolve minbase + linux-image-amd64 + systemd-sysv for bookworm with imager
# (mirror: auto, i.e. this host's apt mirror) and compare the package set with the one mmdebstrap
# installs for the same request from the same mirror. Prints every difference; exits 1 when
# there is one, 0 when both sets (names and versions) are equal.
#
# Usage: tests/network/resolve_vs_mmdebstrap.sh [--simulate]
#   run as an unprivileged user with a subordinate id range (mmdebstrap --mode=unshare);
#   --simulate: compare with mmdebstrap --simulate (apt's "Inst" lines, fast) instead of a real
#   installation into a throwaway chroot (slow, but what mmdebstrap really installs).
# Environment: IMAGER (default: build/imager), IMAGER_CACHE (default: a temporary directory).
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
imager=${IMAGER:-$src/build/imager}
mode=install
[[ ${1:-} == --simulate ]] && mode=simulate

for tool in mmdebstrap python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed" >&2; exit 77; }
done
[[ $(id -u) != 0 ]] || { echo "run this as an unprivileged user (e.g. runuser -u USER)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/net.yaml" <<EOF
name: net
distribution: {family: debian, release: bookworm, arch: amd64}
repositories:
  - {mirror: auto, suite: bookworm, components: [main], keyring: $src/profiles/keys/debian-bookworm.asc}
packages: {variant: minbase, include: [linux-image-amd64, systemd-sysv]}
EOF

"$imager" resolve "$work/net.yaml" --cache-dir "${IMAGER_CACHE:-$work/cache}"
python3 - "$work/net.lock" >"$work/imager.txt" <<'EOF'
import json, sys
lock = json.load(open(sys.argv[1]))
for p in sorted(lock["packages"], key=lambda p: p["name"]):
    print(p["name"], p["version"])
EOF
mirror=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["repositories"][0]["url"])' \
  "$work/net.lock")
echo "mirror (from this host's apt sources): $mirror"

args=(--mode=unshare --variant=minbase --include=linux-image-amd64,systemd-sysv)
if [[ $mode == simulate ]]; then
  # The essential set and the rest are simulated in two apt runs; together they are the set.
  mmdebstrap "${args[@]}" --verbose --simulate bookworm /dev/null "$mirror" 2>"$work/mm.log" \
    || { tail -20 "$work/mm.log" >&2; exit 1; }
  sed -n 's/^Inst \([^ ]*\) (\([^ ]*\) .*/\1 \2/p' "$work/mm.log" | sort -u >"$work/mmdebstrap.txt"
else
  mmdebstrap "${args[@]}" --format=null \
    --customize-hook='chroot "$1" dpkg-query -W -f="\${Package} \${Version}\n" >"$1/tmp/pkgs"' \
    --customize-hook="copy-out /tmp/pkgs $work" \
    bookworm /dev/null "$mirror" 2>"$work/mm.log" || { tail -20 "$work/mm.log" >&2; exit 1; }
  sort -u "$work/pkgs" >"$work/mmdebstrap.txt"
fi

n_imager=$(wc -l <"$work/imager.txt")
n_mm=$(wc -l <"$work/mmdebstrap.txt")
echo "imager: $n_imager packages; mmdebstrap ($mode): $n_mm packages"
cut -d' ' -f1 "$work/imager.txt" >"$work/imager.names"
cut -d' ' -f1 "$work/mmdebstrap.txt" >"$work/mmdebstrap.names"
only_imager=$(comm -23 "$work/imager.names" "$work/mmdebstrap.names")
only_mm=$(comm -13 "$work/imager.names" "$work/mmdebstrap.names")
versions=$(join "$work/imager.txt" "$work/mmdebstrap.txt" | awk '$2 != $3 {print "  " $1 ": imager " $2 ", mmdebstrap " $3}')
status=0
if [[ -n $only_imager ]]; then
  echo "only imager resolves:"; sed 's/^/  /' <<<"$only_imager"; status=1
fi
if [[ -n $only_mm ]]; then
  echo "only mmdebstrap installs:"; sed 's/^/  /' <<<"$only_mm"; status=1
fi
if [[ -n $versions ]]; then
  echo "different versions:"; echo "$versions"; status=1
fi
[[ $status == 0 ]] && echo "same package set and versions"
exit $status
