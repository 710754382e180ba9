# SPDX-License-Identifier: GPL-3.0-or-later
# Single-id mode records owners (issue 17): chown and its relatives on the sandbox's root become
# the attribute user.imager.owner (sandbox/owner_recorder.h), through renames and hard links; a
# file that is not on the root (a host bind, an inherited descriptor, a path that leads out) is
# never touched. Runs the same in either id mode (--single-id).
source "$TESTLIB"

py=/usr/bin/python3
owner() { # owner HOST-PATH -> the recorded owner, or "none"
  $py -c 'import os, sys
try: print(os.getxattr(sys.argv[1], "user.imager.owner", follow_symlinks=False).decode())
except OSError: print("none")' "$1"
}
touch "$T/probe-xattr"
if ! $py -c 'import os, sys; os.setxattr(sys.argv[1], "user.t", b"1")' "$T/probe-xattr" 2>/dev/null; then
  echo "SKIP: $T's filesystem has no user xattrs"
  exit 77
fi

mkdir -p "$T/host" "$ROOT/work"
echo secret >"$T/host/file"
run() { in_root --single-id --record-owners --bind "$T/host:/host" --chdir /work -- "$@"; }

run /bin/sh -c '
  set -e
  touch /f && chown 0:42 /f && chown 7 /f            # uid only: the group stays
  mkdir /d && chown 5:6 /d
  mv /f /g && ln /g /h                               # rename and hard link keep it
  cd /d && touch x && chown 3:3 x                    # relative to the cwd
  touch /z && chown 9:9 /z && chown 0:0 /z           # back to root: no record left
  ln -s /g /s
  /usr/bin/python3 -c "
import os
fd = os.open(\"/p\", os.O_CREAT | os.O_WRONLY, 0o755)
os.fchown(fd, 0, 12)                                 # fchown on a descriptor
os.fchmod(fd, 0o2755)
d = os.open(\"/d\", os.O_RDONLY)
open(\"/d/y\", \"w\").close()
os.chown(\"y\", 4, 4, dir_fd=d)                      # fchownat from a directory descriptor
"
' 2>"$T/stderr" || { cat "$T/stderr"; fail "chowns in single-id mode failed"; }

assert_eq "chown 0:42 then 7, renamed" "7:42" "$(owner "$ROOT/g")"
assert_eq "hard link of it" "7:42" "$(owner "$ROOT/h")"
assert_eq "directory" "5:6" "$(owner "$ROOT/d")"
assert_eq "relative path" "3:3" "$(owner "$ROOT/d/x")"
assert_eq "chowned back to root" "none" "$(owner "$ROOT/z")"
assert_eq "fchown" "0:12" "$(owner "$ROOT/p")"
assert_eq "fchownat with a directory descriptor" "4:4" "$(owner "$ROOT/d/y")"
assert_eq "setgid kept beside its recorded group" "2755 $(id -u)" "$(stat -c '%a %u' "$ROOT/p")"
# /s -> /g: chown follows it (11:11 lands on g, and so on its link h).
in_root --single-id --record-owners -- /bin/sh -c 'chown 11:11 /s' 2>/dev/null
assert_eq "chown through a symlink" "11:11" "$(owner "$ROOT/h")"
in_root --single-id --record-owners -- /bin/sh -c 'chown -h 12:12 /s' 2>"$T/stderr" || true
assert_contains "a symlink's owner is reported as not kept" "of /s not kept" "$(cat "$T/stderr")"

# chown takes set-id bits off a regular file as the kernel does (set-gid only with group
# execute), and the same in range mode, where the kernel does it.
# shellcheck disable=SC2016 # expanded in the sandbox
setid='mkdir s && cd s && touch k1 k2 k3 && mkdir k4 && chmod 4755 k1 && chmod 2755 k2 &&
  chmod 2745 k3 && chmod 2755 k4 && chown 5:5 k1 k2 k3 k4 && echo $(stat -c "%n %a %u:%g" k1 k2 k3 k4) &&
  cd .. && rm -r s'
want="k1 755 5:5 k2 755 5:5 k3 2745 5:5 k4 2755 5:5"
assert_eq "chown drops set-id bits (single-id)" "$want" "$(run /bin/sh -c "$setid" 2>/dev/null)"
if [ "$(idmode)" = range ]; then
  assert_eq "chown drops set-id bits (range mode, the kernel)" "$want" \
    "$(in_root --chdir /work -- /bin/sh -c "$setid" 2>/dev/null)"
fi

# A program sees what it set, and what it copies (the stat family answers with the record):
# coreutils' stat (statx by path and of stdin), python's os.stat/lstat/fstat (newfstatat,
# fstat), sed -i and cp -p, which give their new file the owner they read from the old one, as
# shadow's tools do for /etc/shadow-.
seen=$(run /bin/sh -c 'echo a >/e && chown 0:42 /e && stat -c %u:%g /e && stat -c %u:%g - </e
  /usr/bin/python3 -c "import os; print(\"%d:%d %d:%d %d\" % (os.stat(\"/e\").st_uid, os.lstat(\"/e\").st_gid, os.fstat(os.open(\"/d/x\", os.O_RDONLY)).st_uid, os.stat(\"x\", dir_fd=os.open(\"/d\", os.O_RDONLY)).st_gid, os.stat(\"/\").st_uid))"
  sed -i s/a/b/ /e && cp -p /e /e-' | tr '\n' ' ')
assert_eq "stat after chown" "0:42 0:42 0:42 3:3 0 " "$seen"
assert_eq "sed -i keeps the recorded owner" "0:42 b" "$(owner "$ROOT/e") $(cat "$ROOT/e")"
assert_eq "cp -p copies the recorded owner" "0:42" "$(owner "$ROOT/e-")"
assert_eq "a file without a record is the kernel's" "0:0" \
  "$(run /bin/sh -c 'touch /n && stat -c %u:%g /n')"

# The files the sandbox reaches that are not its root: nothing is recorded, nothing changes.
echo out >"$T/outfile"
run /bin/sh -c 'chown 5:5 /host/file; chown 5:5 /proc/self/fd/1; chown 5:5 /proc/1/root/host/file
  /usr/bin/python3 -c "import os; os.fchown(1, 6, 6)"
  ln -s '"$T"'/host/file /tohost; chown 5:5 /tohost 2>/dev/null; true' >>"$T/outfile"
assert_eq "a writable host bind" "none" "$(owner "$T/host/file")"
assert_eq "the command's stdout, a host file" "none" "$(owner "$T/outfile")"
assert_eq "host file contents" "secret" "$(cat "$T/host/file")"
assert_eq "host file owner" "$(id -u):$(id -g)" "$(stat -c %u:%g "$T/host/file")"

# Errors stay the kernel's: a missing file is ENOENT, not a silent success.
if run /bin/sh -c 'chown 1:1 /missing' 2>"$T/stderr"; then fail "chown of a missing file succeeded"; fi
assert_contains "missing file" "No such file" "$(cat "$T/stderr")"

# Without --record-owners (and outside image builds) chown is ignored, as before.
in_root --single-id -- /bin/sh -c 'touch /q && chown 8:8 /q'
assert_eq "no recording without a layer" "none" "$(owner "$ROOT/q")"
pass "owners recorded on the root only"
