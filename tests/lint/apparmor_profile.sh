#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# dist/apparmor/imager, the AppArmor profile the package installs, parses with apparmor_parser
# -QT (no kernel needed). It is in Ubuntu's form for programs that need user namespaces (abi 4.0,
# the `userns` rule), which AppArmor 4 understands; Debian 12's parser (3.0) knows neither, so
# there the rest of the profile is checked with abi 3.0 and without that rule, and the rule's
# line is checked as text. imager check prints the same profile (sandbox/userns_check.cc; a unit
# test compares the two).
set -euo pipefail
profile=$(dirname "$0")/../../dist/apparmor/imager
command -v apparmor_parser >/dev/null || { echo "SKIP: apparmor_parser missing (apt-get install apparmor)"; exit 77; }
version=$(apparmor_parser --version | sed -n '1s/.* \([0-9][0-9]*\)\..*/\1/p')
echo "apparmor_parser $(apparmor_parser --version | head -1 | awk '{print $NF}')"
grep -qx '  userns,' "$profile" || { echo "FAIL: no 'userns,' rule" >&2; exit 1; }
grep -qx 'profile imager /usr/bin/imager flags=(unconfined) {' "$profile" ||
  { echo "FAIL: not the profile line Ubuntu uses" >&2; exit 1; }
if [ "${version:-0}" -ge 4 ]; then
  apparmor_parser -QT "$profile"
  echo "ok: $profile parses as it is"
else
  tmp=$(mktemp)
  trap 'rm -f "$tmp"' EXIT
  sed -e 's|<abi/4.0>|<abi/3.0>|' -e '/^  userns,$/d' "$profile" >"$tmp"
  apparmor_parser -QT "$tmp"
  echo "ok: $profile parses with abi 3.0 and without 'userns,' (this parser predates AppArmor 4)"
fi
