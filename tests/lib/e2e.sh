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
