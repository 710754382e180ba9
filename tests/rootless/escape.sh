# SPDX-License-Identifier: GPL-3.0-or-later
# Escape attempts, each must fail inside the sandbox. The probe prints BLOCKED/ESCAPED per
# attempt and exits non-zero if anything got out; controls show the attempts are real.
source "$TESTLIB"
mode=$(expect_idmode)

probe() { # probe [imager-run-options...] -- ARGS
  local out rc
  set +e
  out=$(in_root "$@" 2>&1)
  rc=$?
  set -e
  echo "$out"
  [ $rc -eq 0 ] || fail "escape attempt '$*' was not stopped (exit $rc)"
  case "$out" in *BLOCKED*) ;; *) fail "probe '$*' reported nothing" ;; esac
}

probe -- /probe userns
probe -- /probe kernel
probe -- /probe sys
probe -- /probe setuid
echo secret > "$T/secret"
probe -- /probe read "$T/secret"
probe -- /probe read /oldroot
probe -- /probe chroot "$T/secret"

# Terminal injection, on a real terminal when `script` can give us one.
if command -v script >/dev/null; then
  out=$(script -qec "$IMAGER run --root $ROOT --bind /usr:/usr:ro -- /probe tiocsti" /dev/null)
  echo "$out"
  assert_contains "TIOCSTI on a real tty" "BLOCKED ioctl(TIOCSTI) on /dev/tty" "$out"
  case "$out" in *ESCAPED*) fail "terminal injection" ;; esac
else
  probe -- /probe tiocsti
fi

# A read-only bind cannot be written, and nothing appears on the host.
mkdir "$T/ro"
probe --bind "$T/ro:/ro:ro" -- /probe write /ro/x
[ ! -e "$T/ro/x" ] || fail "file created through a read-only bind"

# Host processes are neither visible nor signallable.
sleep 300 &
host_pid=$!
probe -- /probe kill "$host_pid"
kill "$host_pid"

# No network: a listener on the host's loopback is unreachable; with --network it is (control).
"$PROBE" listen > "$T/port" &
listener=$!
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
port=$(cat "$T/port")
probe -- /probe connect "$port"
set +e
in_root --network -- /probe connect "$port" >/dev/null; rc=$?
set -e
kill "$listener"
assert_eq "control: with --network the probe reaches the listener" 1 "$rc"

# Descriptors the caller leaves open do not reach the command (nor pid 1's through /proc).
exec 7<"$T/secret"
probe -- /probe fds
exec 7<&-

# /proc/1 is imager's own process: its cmdline (readable by anyone) shows no host path.
assert_eq "pid 1's cmdline" "imager-sandbox-init" "$(in_root -- /bin/cat /proc/1/cmdline | tr -d '\0')"

# A process that forks without end stops at the process limit (the default 4096 and an
# explicit 32, counting pid 1 and the probe); without a limit it gets all it asks for (control).
assert_eq "--max-procs 32" "30 Resource temporarily unavailable" \
  "$(in_root --max-procs 32 -- /probe forks 200)"
assert_eq "default limit" "4094 Resource temporarily unavailable" "$(in_root -- /probe forks 5000)"
assert_eq "control: no limit" "200 all" "$(in_root --max-procs 0 -- /probe forks 200)"

# A process that fills memory gets ENOMEM at its data limit (an explicit 64 MiB; by default half
# the machine's memory) instead of waking the OOM killer; control: the same without a limit.
# (the probe's own data and bss count too: a little under 64 pieces)
got=$(in_root --max-memory 64 -- /probe alloc 500)
[ "${got#* }" = "Cannot allocate memory" ] && [ "${got%% *}" -ge 56 ] && [ "${got%% *}" -le 64 ] ||
  fail "--max-memory 64: expected 56..64 MiB then ENOMEM, got '$got'"
pass "--max-memory 64: $got"
assert_eq "control: no memory limit" "100 all" "$(in_root --max-memory 0 -- /probe alloc 100)"
# The sandbox's tmpfs mounts are capped (default 1 GiB each; here 8 MiB).
assert_eq "--tmpfs-size 8: /tmp" "8 No space left on device" "$(in_root --tmpfs-size 8 -- /probe fill /tmp/f 100)"
assert_eq "--tmpfs-size 8: /dev/shm" "8 No space left on device" "$(in_root --tmpfs-size 8 -- /probe fill /dev/shm/f 100)"
assert_eq "control: no tmpfs cap" "20 all" "$(in_root --tmpfs-size 0 -- /probe fill /tmp/f 20)"
assert_eq "/dev holds 1 MiB at most" "1 No space left on device" "$(in_root -- /probe fill /dev/f 100)"

echo "all escape attempts failed ($mode mode)"
