# SPDX-License-Identifier: GPL-3.0-or-later
# Id mapping: with a subordinate range, chown inside lands on the mapped id outside; without one,
# chown still succeeds (so package scripts work) and the file stays the caller's.
source "$TESTLIB"
mode=$(expect_idmode)
echo "id mode: $mode"

mkdir "$T/data"
in_root --bind "$T/data:/data" -- /bin/sh -c 'touch /data/f && chown 1:1 /data/f && stat -c %u:%g /data/f'
owner=$(stat -c %u:%g "$T/data/f")
if [ "$mode" = range ]; then
  uid0=$(subid_start /etc/subuid)
  gid0=$(subid_start /etc/subgid)
  assert_eq "owner outside after chown 1:1 inside" "$uid0:$gid0" "$owner"
  assert_eq "owner inside" "1:1" "$(in_root --bind "$T/data:/data" -- /usr/bin/stat -c %u:%g /data/f)"
  assert_eq "root inside is the caller outside" "$(id -u)" \
    "$(in_root --bind "$T/data:/data" -- /bin/sh -c 'touch /data/g' && stat -c %u "$T/data/g")"
  assert_eq "uid_map" "0 $(id -u) 1 1 $uid0 65535" \
    "$(in_root -- /bin/cat /proc/self/uid_map | tr -s ' \n' ' ' | sed 's/^ //; s/ $//')"
else
  assert_eq "owner outside (single-id mode keeps the caller)" "$(id -u):$(id -g)" "$owner"
  assert_eq "uid_map has only root" "0 $(id -u) 1" \
    "$(in_root -- /bin/sh -c 'cat /proc/self/uid_map' | tr -s ' ' | sed 's/^ //')"
fi

# --single-id forces single mode even where a range exists.
assert_eq "--single-id map" "0 $(id -u) 1" \
  "$(in_root --single-id -- /bin/sh -c 'cat /proc/self/uid_map' | tr -s ' ' | sed 's/^ //')"
