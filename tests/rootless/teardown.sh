# SPDX-License-Identifier: GPL-3.0-or-later
# SIGTERM, Ctrl-C (SIGINT) and SIGKILL to imager take the whole sandbox down: no orphans.
source "$TESTLIB"
expect_idmode >/dev/null

marker=$((RANDOM + 4000))  # a unique sleep duration identifies our processes
count() { pgrep -u "$(id -u)" -fx "/usr/bin/sleep $marker" | wc -l || true; }

start() {
  "$IMAGER" run --root "$ROOT" --bind /usr:/usr:ro -- \
    /bin/sh -c "/usr/bin/sleep $marker & /usr/bin/sleep $marker & wait" &
  pid=$!
  for _ in $(seq 100); do [ "$(count)" -ge 2 ] && break; sleep 0.05; done
  assert_eq "sandbox processes started" 2 "$(count)"
}

gone() {
  for _ in $(seq 100); do [ "$(count)" -eq 0 ] && return 0; sleep 0.05; done
  fail "$1: $(count) sandbox processes survived"
}

for sig in TERM INT; do
  start
  kill -$sig $pid
  set +e
  wait $pid
  rc=$?
  set -e
  num=$(kill -l $sig)
  assert_eq "imager exit after SIG$sig" $((128 + num)) "$rc"
  gone "SIG$sig"
  pass "SIG$sig tore the sandbox down"
done

start
kill -KILL $pid
wait $pid || true
gone "SIGKILL"
pass "SIGKILL to imager took the sandbox with it"
