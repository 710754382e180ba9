# SPDX-License-Identifier: GPL-3.0-or-later
# imager run: uid 0 inside, its own hostname and pid namespace, a clean environment, and exit
# codes, signals and start-up failures reported the way a shell would.
source "$TESTLIB"
expect_idmode >/dev/null

assert_eq "uid inside" 0 "$(in_root -- /usr/bin/id -u)"
assert_eq "gid inside" 0 "$(in_root -- /usr/bin/id -g)"
assert_eq "hostname" imager "$(in_root -- /usr/bin/hostname)"
assert_eq "command is pid 2 under imager's pid 1" 2 "$(in_root -- /bin/sh -c 'echo $$')"

env_inside=$(SSH_AUTH_SOCK=/tmp/agent TERM=xterm-test in_root -- /usr/bin/env)
assert_contains "TERM passed" "TERM=xterm-test" "$env_inside"
case "$env_inside" in *SSH_AUTH_SOCK*) fail "SSH_AUTH_SOCK leaked into the sandbox" ;; esac
assert_contains "--setenv" "FOO=bar baz" "$(in_root --setenv 'FOO=bar baz' -- /usr/bin/env)"

set +e
in_root -- /bin/sh -c 'exit 7'; rc=$?
assert_eq "exit code propagates" 7 "$rc"
msg=$(in_root -- /no/such/command 2>&1); rc=$?
assert_eq "missing command exit code" 127 "$rc"
assert_contains "missing command message" "command not found in the sandbox: /no/such/command" "$msg"
msg=$(in_root -- /etc 2>&1); rc=$?
assert_eq "non-executable exit code" 126 "$rc"
msg=$(in_root -- /bin/sh -c 'kill -TERM $$' 2>&1); rc=$?
assert_eq "signal exit code" 143 "$rc"
assert_contains "signal message" "killed by signal 15" "$msg"
# --timeout kills the command and everything it started (a child that ignores SIGTERM too).
start=$SECONDS
msg=$(in_root --timeout 2 -- /bin/sh -c 'trap "" TERM; /bin/sleep 60 & /bin/sleep 60' 2>&1); rc=$?
assert_eq "timeout exit code" 124 "$rc"
assert_contains "timeout message" "did not finish within --timeout 2 s" "$msg"
[ $((SECONDS - start)) -lt 20 ] || fail "--timeout 2 took $((SECONDS - start)) s"
assert_eq "control: within the limit" 0 "$(in_root --timeout 30 -- /bin/true; echo $?)"
# --nice (what the squashfs writer's sandbox uses to yield to the stages beside it).
own_nice=$(cut -d' ' -f19 /proc/self/stat)
want_nice=$((own_nice + 5 > 19 ? 19 : own_nice + 5))
assert_eq "--nice 5" "$want_nice" "$(in_root --nice 5 -- /bin/sh -c 'cut -d" " -f19 /proc/self/stat')"
assert_eq "control: no --nice" "$own_nice" "$(in_root -- /bin/sh -c 'cut -d" " -f19 /proc/self/stat')"
msg=$("$IMAGER" run --root "$T/no-such-root" -- /bin/true 2>&1); rc=$?
assert_eq "missing root exit code" 2 "$rc"
assert_contains "missing root message" "--root $T/no-such-root: No such file or directory" "$msg"
msg=$(in_root --chdir /nonexistent -- /bin/true 2>&1); rc=$?
assert_eq "bad working directory exit code" 125 "$rc"
assert_contains "bad working directory message" "working directory /nonexistent" "$msg"
msg=$(in_root 2>&1); rc=$?
assert_eq "no command exit code" 2 "$rc"
set -e

# Pid 1 reaps orphans: a grandchild whose parent already exited is not left a zombie.
out=$(in_root -- /bin/sh -c '(/bin/sleep 0.2 &) ; /bin/sleep 0.5; /bin/ps -eo stat= | grep -c Z || true')
assert_eq "no zombies" 0 "$out"
