# SPDX-License-Identifier: GPL-3.0-or-later
# What every tests/e2e script starts with (sourced): IMAGER required, $src the source tree,
# skip (exit 77, CTest's SKIP_RETURN_CODE) / fail / pass, guest_answer, and stages_summary,
# stages_built, stages_cached (tests/lib/stages.sh).
: "${IMAGER:?IMAGER must point to build/imager}"
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=stages.sh
source "$src/tests/lib/stages.sh"

skip() {
  echo "SKIP: $*"
  exit 77
}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
pass() { echo "ok: $*"; }

# guest_answer LOG KEY: the value of the last "KEY: value" line a guest printed on its serial
# console (LOG, from `imager boot --log`), without carriage returns and terminal escapes.
guest_answer() {
  tr -d '\r' <"$1" | sed -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' | sed -n "s/^$2: *//p" | tail -1
}

# Two builders (e2e.reproducible, e2e.remote_cache). As root with IMAGER_REPRO_USERS="U1 U2"
# (tests/run.sh sets it): users=(U1 U2), two_users=1, and `as U CMD...` runs CMD as U with a clean
# environment. As an unprivileged user (or root with IMAGER_ALLOW_ROOT): both are that user and
# `as U CMD...` runs CMD. Fails as root without the two users.
two_builders() {
  read -r -a users <<<"${IMAGER_REPRO_USERS:-}"
  if [ "$(id -u)" = 0 ] && [ ${#users[@]} -eq 2 ]; then
    two_users=1
    as() {
      local u=$1
      shift
      runuser -u "$u" -- env -i HOME="$(getent passwd "$u" | cut -d: -f6)" USER="$u" LOGNAME="$u" \
        PATH=/usr/bin:/bin "$@"
    }
    return 0
  fi
  [ "$(id -u)" != 0 ] || [ -n "${IMAGER_ALLOW_ROOT:-}" ] ||
    fail "run this as an unprivileged user, or as root with IMAGER_REPRO_USERS (tests/run.sh does)"
  two_users=
  as() {
    shift
    "$@"
  }
  users=("$(id -un)" "$(id -un)")
}
