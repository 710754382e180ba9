# SPDX-License-Identifier: GPL-3.0-or-later
# What every tests/e2e script starts with (sourced): IMAGER required, $src the source tree,
# skip (exit 77, CTest's SKIP_RETURN_CODE) / fail / pass.
: "${IMAGER:?IMAGER must point to build/imager}"
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

skip() {
  echo "SKIP: $*"
  exit 77
}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
pass() { echo "ok: $*"; }
