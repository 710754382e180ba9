# SPDX-License-Identifier: GPL-3.0-or-later
# A few trials of the kill -9 soak (bench/kill9_soak.sh, which runs 20 or more): a cold build
# killed with SIGKILL at a random moment, then a build in the same cache that must succeed with
# the reference's bytes and a cache that verifies; no process imager started survives the kill.
source "$TESTLIB"
expect_idmode >/dev/null
bash "$(dirname "$TESTLIB")/../bench/kill9_soak.sh" -n 4 || fail "kill -9 soak"
