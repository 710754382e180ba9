# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash
# What a build's log says it ran (sourced by tests/lib.sh, tests/lib/e2e.sh and bench scripts;
# no side effects).
# Stage names that a build's plain progress output reports as cached / started.
# stages_built LOG, stages_cached LOG: the stages a build ran or reused, in the plan's order (from
# its summary line; stages run side by side, so the progress lines' order varies), or, for a
# build that did not finish, in the order the progress lines give.
stages_summary() { grep -o "[0-9]* stages, [0-9]* built.*; logs in" "$1" | tail -1; }
stages_cached() {
  if [ -n "$(stages_summary "$1")" ]; then
    stages_summary "$1" | sed -n 's/.* from the cache (\([^)]*\)).*/\1/p'
  else
    grep -o '[a-z]*: cached' "$1" | cut -d: -f1 | tr '\n' ' ' | sed 's/ $//'
  fi
}
stages_built() {
  if [ -n "$(stages_summary "$1")" ]; then
    stages_summary "$1" | sed -n 's/.* built (\([^)]*\)).*/\1/p'
  else
    grep -o '[a-z]*: done in' "$1" | cut -d: -f1 | tr '\n' ' ' | sed 's/ $//'
  fi
}
