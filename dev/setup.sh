#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Installs imager's build and runtime dependencies (Debian 12, via apt-get; uses sudo when not
# root) and builds build/imager. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

mapfile -t pkgs < <(grep -v '^#' dev/deps.txt | tr -s ' ' '\n' | grep -v '^$')
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) for apt-get" >&2; exit 1; }
    SUDO=sudo
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# Images own files as other users (root:shadow, daemons' users); a build maps them to the
# caller's subordinate id range. Root normally has none: give it a free one, as for any user.
if [ "$(id -u)" = 0 ]; then
  for f in /etc/subuid /etc/subgid; do
    touch "$f"
    if ! grep -q '^root:' "$f"; then
      start=$(awk -F: 'BEGIN {m = 100000} {e = $2 + $3; if (e > m) m = e} END {print m}' "$f")
      echo "root:$start:65536" >> "$f"
      echo "setup: gave root the subordinate ids $start-$((start + 65535)) in $f"
    fi
  done
fi

werror=OFF
[ -n "${CI:-}" ] && werror=ON
cmake -S . -B build -G Ninja -DIMAGER_WERROR=$werror >/dev/null
ninja -C build
echo "setup: built $(pwd)/build/imager"
