#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Builds the libFuzzer targets (clang-14, ASan + UBSan) into build-fuzz/ when needed, then runs
# each over a copy of its seed corpus (fuzz/corpus/NAME/) for SECONDS (default 20) and over every
# input kept in fuzz/regressions/NAME/ (crashes found and fixed: they must not crash again).
# Targets run side by side, IMAGER_FUZZ_PARALLEL at once (default: the number of cores). Prints
# executions, exec/s and coverage per target; exits 1 when a target crashed.
#   fuzz/run.sh [SECONDS] [TARGET...]   fuzz/run.sh --build-only
# As root the targets run as nobody (65534): the unpackers write archives' entries to disk, and
# fuzz::Jail only notices escapes near the destination. IMAGER_FUZZ_BUILD_DIR moves build-fuzz;
# IMAGER_FUZZ_KEEP=DIR keeps each target's grown working corpus in DIR/NAME.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$PWD
BUILD=${IMAGER_FUZZ_BUILD_DIR:-$SRC/build-fuzz}

build_only=0
if [ "${1:-}" = --build-only ]; then
  build_only=1
  shift
fi
seconds=${1:-20}
[ $# -gt 0 ] && shift
case $seconds in '' | *[!0-9]*) echo "usage: fuzz/run.sh [SECONDS] [TARGET...] | --build-only" >&2; exit 2 ;; esac

# Build when the directory is ours to write; a read-only one (the test user running what root
# built, tests/run.sh) is used as it is.
if [ ! -e "$BUILD" ] || [ -w "$BUILD" ]; then
  start=$SECONDS
  if [ ! -f "$BUILD/build.ninja" ]; then
    cmake -S . -B "$BUILD" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14 \
      -DIMAGER_FUZZ=ON >/dev/null
  fi
  ninja -C "$BUILD" -j "${IMAGER_FUZZ_JOBS:-2}" fuzz | grep -v -e "^\[" -e "^ninja: Entering" -e "^ninja: no work" || true
  [ "${PIPESTATUS[0]}" = 0 ] || { echo "fuzz: build failed" >&2; exit 1; }
  echo "fuzz: build took $((SECONDS - start)) s"
fi
[ $build_only = 1 ] && exit 0

targets=("$@")
if [ ${#targets[@]} = 0 ]; then
  for src in fuzz/fuzz_*.cc; do
    n=$(basename "$src" .cc)
    targets+=("${n#fuzz_}")
  done
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/imager-fuzz-run.XXXXXX")
trap 'rm -rf "$work"' EXIT
as_runner=()
if [ "$(id -u)" = 0 ]; then
  chown 65534:65534 "$work"
  as_runner=(setpriv --reuid=65534 --regid=65534 --clear-groups)
fi

# Leaks inside libraries that are not ours (fuzz/lsan.supp says which and why).
lsan=suppressions=$SRC/fuzz/lsan.supp
# One target: regressions, then SECONDS of fuzzing; the table row goes to $work/NAME/row, what
# to show after it to $work/NAME/detail, and $work/NAME/failed marks a failure.
fuzz_one() {
  local t=$1 bin=$BUILD/fuzz_$1 dir=$work/$1 result=ok rc=0 execs rate last cov ft
  mkdir -p "$dir/corpus" "$dir/artifacts"
  : >"$dir/detail"
  if [ ! -x "$bin" ]; then
    echo "fuzz: no target $bin" >"$dir/detail"
    printf '%-14s %10s %8s %7s %7s  %s\n' "$t" - - - - "MISSING" >"$dir/row"
    touch "$dir/failed"
    return
  fi
  [ -d "fuzz/corpus/$t" ] && cp -r "fuzz/corpus/$t/." "$dir/corpus/"
  [ "$(id -u)" = 0 ] && chown -R 65534:65534 "$dir"
  # Kept crashes first: each must run through.
  local regressions=()
  if [ -d "fuzz/regressions/$t" ]; then
    for f in "fuzz/regressions/$t"/*; do [ -f "$f" ] && regressions+=("$SRC/$f"); done
  fi
  if [ ${#regressions[@]} -gt 0 ] &&
    ! (cd "$dir" && "${as_runner[@]}" env TMPDIR="$dir" LSAN_OPTIONS="$lsan" "$bin" "${regressions[@]}" \
      </dev/null >"$dir/regressions.log" 2>&1); then
    result="REGRESSION (log below)"
    touch "$dir/failed"
    tail -n 40 "$dir/regressions.log" >>"$dir/detail"
  fi
  (cd "$dir" && "${as_runner[@]}" env TMPDIR="$dir" LSAN_OPTIONS="$lsan" "$bin" -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
    "$dir/corpus" </dev/null >"$dir/fuzz.log" 2>&1) || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/fuzz.log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/fuzz.log" | tail -n 1)
  last=$(grep -E '^#[0-9]+.*cov: ' "$dir/fuzz.log" | tail -n 1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  if [ -n "${IMAGER_FUZZ_KEEP:-}" ]; then  # bench/fuzz_long.sh: keep what the run found
    mkdir -p "$IMAGER_FUZZ_KEEP/$t"
    cp -r "$dir/corpus/." "$IMAGER_FUZZ_KEEP/$t/"
  fi
  if [ $rc != 0 ]; then
    result="CRASH (log below; input in $dir/artifacts)"
    touch "$dir/failed"
  fi
  printf '%-14s %10s %8s %7s %7s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$result" \
    >"$dir/row"
  if [ $rc != 0 ]; then
    grep -E -A 12 'ERROR: |runtime error|fuzz: ' "$dir/fuzz.log" | head -n 40 >>"$dir/detail"
    ls -l "$dir/artifacts" >>"$dir/detail"
  fi
}

# As many targets at once as there are cores (IMAGER_FUZZ_PARALLEL): each is one process, and
# CI's time is short. The table keeps the targets' order.
parallel=${IMAGER_FUZZ_PARALLEL:-$(nproc)}
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
  fuzz_one "$t" &
done
wait
failed=()
printf '%-14s %10s %8s %7s %7s  %s\n' target executions exec/s cov ft result
for t in "${targets[@]}"; do
  cat "$work/$t/row"
  cat "$work/$t/detail"
  [ ! -e "$work/$t/failed" ] || failed+=("$t")
done

if [ ${#failed[@]} -gt 0 ]; then
  trap - EXIT  # keep the crash inputs and logs
  echo "fuzz: FAILED: ${failed[*]} (logs and crash inputs kept in $work)"
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${seconds}s without a crash"
