#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# A fuzzing soak: every libFuzzer target (fuzz/README.md) for SECONDS each (default 600) instead
# of the suite's 20 s. The grown corpora are kept in out/fuzz-corpus/NAME; a crash input worth
# keeping goes to fuzz/regressions/NAME/ once the parser is fixed.
#   bench/fuzz_long.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
[ $# -gt 0 ] && shift
mkdir -p out/fuzz-corpus
start=$SECONDS
IMAGER_FUZZ_KEEP=$PWD/out/fuzz-corpus bash fuzz/run.sh "$seconds" "$@"
echo "fuzz_long: $((SECONDS - start)) s; corpora in $PWD/out/fuzz-corpus"
