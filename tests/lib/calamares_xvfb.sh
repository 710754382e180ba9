#!/bin/bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Runs the real Calamares of an installer image in imager's sandbox against a host Xvfb until its
# welcome page is up, then saves a screenshot.
#
#   IMAGER=build/imager tests/lib/calamares_xvfb.sh LOWER... -- SCREENSHOT.png
#   IMAGER=build/imager tests/lib/calamares_xvfb.sh --profile PROFILE [-o OUT] -- SCREENSHOT.png
#
# LOWER...: the image's layers, bottom first (e.g. the target's tree, then the installer layer
# with calamares and /etc/calamares). Exits 0 with the screenshot written; non-zero with the
# tail of Calamares' log when Calamares exits, logs a configuration or module failure, or shows
# no window within CALAMARES_TIMEOUT seconds (default 120). CALAMARES_LOG=FILE keeps the log.
# Needs Xvfb, xwininfo, xwd, xwdtopnm and pnmtopng on the host (dev/deps.txt).
set -euo pipefail
: "${IMAGER:?IMAGER must point to build/imager}"

lowers=() profile=()
if [ "${1:-}" = --profile ] && [ $# -ge 3 ]; then
  profile=("$2") # imager shell PROFILE [-o OUT]: the built live session's layers
  shift 2
  if [ "${1:-}" = -o ] && [ $# -ge 2 ]; then
    profile+=(-o "$2")
    shift 2
  fi
  lowers=(profile)
else
  while [ $# -gt 0 ] && [ "$1" != -- ]; do lowers+=("$1"); shift; done
fi
[ $# -eq 2 ] && [ "$1" = -- ] && [ ${#lowers[@]} -gt 0 ] || {
  echo "usage: $0 LOWER... -- SCREENSHOT.png" >&2
  echo "       $0 --profile PROFILE [-o OUT] -- SCREENSHOT.png" >&2
  exit 2
}
shot=$2
timeout=${CALAMARES_TIMEOUT:-120}
for tool in Xvfb xwininfo xwd xwdtopnm pnmtopng; do
  command -v "$tool" >/dev/null || { echo "calamares_xvfb: $tool missing (dev/deps.txt)" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/calamares-xvfb.XXXXXX")
log=${CALAMARES_LOG:-$work/calamares.log}
xvfb_pid="" cal_pid=""
cleanup() {
  local rc=$?
  [ -n "$cal_pid" ] && kill "$cal_pid" 2>/dev/null && wait "$cal_pid" 2>/dev/null || true
  [ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null && wait "$xvfb_pid" 2>/dev/null || true
  # The upper holds files of the sandbox's ids: remove it from inside the mapping (bound on
  # /mnt, which the read-only lower has).
  [ ${#profile[@]} -gt 0 ] || "$IMAGER" run --lower "${lowers[0]}" --bind "$work:/mnt" -- \
    /bin/rm -rf /mnt/upper >/dev/null 2>&1 || true
  chmod -R u+rwX "$work" 2>/dev/null || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

fail() {
  echo "calamares_xvfb: FAIL: $*" >&2
  echo "--- last 40 lines of Calamares' log ($log):" >&2
  tail -n 40 "$log" >&2 || true
  if [ -n "$xvfb_pid" ]; then
    kill -0 "$xvfb_pid" 2>/dev/null && echo "--- Xvfb :$display is running" >&2 ||
      echo "--- Xvfb :$display has exited" >&2
    echo "--- Xvfb's log:" >&2
    tail -n 20 "$work/xvfb.log" >&2 || true
  fi
  exit 1
}

# A display of our own, chosen by Xvfb itself (-displayfd: the lowest free number, written once
# the server accepts connections), socket in the host's /tmp/.X11-unix. A client on the host
# must then get through before Calamares is started.
display=""
start_xvfb() {
  rm -f "$work/displayfd"
  mkfifo "$work/displayfd"
  Xvfb -displayfd 3 -screen 0 1024x768x24 -nolisten tcp -nolisten local \
    3>"$work/displayfd" >"$work/xvfb.log" 2>&1 &
  xvfb_pid=$!
  display=""
  read -r -t 30 display <"$work/displayfd" || true
  [ -n "$display" ] && [ -S "/tmp/.X11-unix/X$display" ] &&
    xwininfo -display ":$display" -root >/dev/null 2>&1
}
start_xvfb || fail "Xvfb did not start (display '${display}')"

# Calamares as the sandbox's root (uid 0 of the user namespace), the X socket bound in, no
# network, in its own session (imager passes a signal on to its process group); -d logs to
# stderr as well as to ~/.cache/calamares/session.log.
mkdir -p "$work/upper"
if [ ${#profile[@]} -gt 0 ]; then
  # imager shell builds what is not cached and throws its upper away afterwards.
  sandbox=(shell "${profile[@]}")
else
  sandbox=(run --upper "$work/upper")
  for l in "${lowers[@]}"; do sandbox+=(--lower "$l"); done
fi
start_calamares() {
  setsid "$IMAGER" "${sandbox[@]}" \
    --bind "/tmp/.X11-unix:/tmp/.X11-unix" \
    --setenv "DISPLAY=:$display" --setenv HOME=/root --setenv LANG=C.UTF-8 \
    --setenv QT_QPA_PLATFORM=xcb --setenv XDG_RUNTIME_DIR=/tmp \
    -- /usr/bin/calamares -d >"$log" 2>&1 &
  cal_pid=$!
}
start_calamares
retried=""

# Failures Calamares reports while it keeps running: its error lines (a module that does not
# load gets an error page instead of its own) and fatal ones (bad branding exits).
bad='ERROR:|FATAL'
window=""
for _ in $(seq $((timeout * 2))); do
  if ! kill -0 "$cal_pid" 2>/dev/null; then
    wait "$cal_pid" && rc=0 || rc=$?
    cal_pid=""
    # Once, in a CI run, Qt could not connect to an Xvfb that a host client had reached: say
    # what state Xvfb is in and try once more with a new one (twice is a failure).
    if [ -z "$retried" ] && grep -q 'could not connect to display' "$log"; then
      retried=1
      kill -0 "$xvfb_pid" 2>/dev/null && state=running || state=exited
      echo "calamares_xvfb: Calamares could not connect to :$display (Xvfb $state); once more" >&2
      tail -n 5 "$work/xvfb.log" >&2 || true
      kill "$xvfb_pid" 2>/dev/null && wait "$xvfb_pid" 2>/dev/null || true
      start_xvfb || fail "Xvfb did not start again (display '${display}')"
      start_calamares
      continue
    fi
    fail "Calamares exited (status $rc) before its welcome page was up"
  fi
  if grep -qE "$bad" "$log"; then
    fail "Calamares reported: $(grep -m1 -E "$bad" "$log")"
  fi
  # Calamares says its window is visible (every module loaded), and a window of at least
  # 400x300 (not Qt's 1x1 leader) is on the screen.
  window=$(xwininfo -display ":$display" -root -tree 2>/dev/null |
    awk 'match($0, / [0-9]+x[0-9]+\+/) {
           split(substr($0, RSTART + 1, RLENGTH - 2), wh, "x")
           if (wh[1] >= 400 && wh[2] >= 300) { print; exit }
         }' || true)
  if [ -n "$window" ] && grep -q 'STARTUP: Window now visible' "$log"; then break; fi
  window=""
  sleep 0.5
done
[ -n "$window" ] || fail "no Calamares window within ${timeout}s"
sleep 3 # let the page paint
grep -qE "$bad" "$log" && fail "Calamares reported: $(grep -m1 -E "$bad" "$log")"
kill -0 "$cal_pid" 2>/dev/null || fail "Calamares exited while its window came up"
xwd -display ":$display" -root -silent | xwdtopnm 2>/dev/null | pnmtopng >"$shot"
echo "calamares_xvfb: welcome page up (window:$window); screenshot $shot"
