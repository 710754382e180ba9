#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Network check: build a bookworm minbase + systemd-sysv rootfs tarball with imager (mirror: auto,
# i.e. this host's apt mirror) and with `mmdebstrap --mode=unshare` for the same request from the
# same mirror, then compare the two tarballs:
#   (a) var/lib/dpkg/status: every package's name, version and status;
#   (b) the file lists: path, type, owner uid/gid, mode, symlink/hard link target, device
#       numbers and extended attributes (file capabilities).
# Timestamps are ignored, and so are the few files in ALLOWED below (each with its reason).
# Every other difference is printed, grouped and counted; the exit status is 1 when there is one.
#
# Usage: tests/network/rootfs_vs_mmdebstrap.sh   (as an unprivileged user with a subordinate id
#   range: both tools need it to give files their real owners)
# Environment: IMAGER (default: build/imager), IMAGER_CACHE (default: a temporary directory),
#   KEEP=DIR copies both tarballs and the report there.
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
imager=${IMAGER:-$src/build/imager}

for tool in mmdebstrap python3; do
  command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed" >&2; exit 77; }
done
[[ $(id -u) != 0 ]] || { echo "run this as an unprivileged user (e.g. runuser -u USER)" >&2; exit 2; }

work=$(mktemp -d)
cache=${IMAGER_CACHE:-$work/cache}
cleanup() {
  # Layers hold files owned by subordinate ids; imager removes them from inside the mapping.
  [[ -n ${IMAGER_CACHE:-} ]] || "$imager" -q cache prune --all --cache-dir "$cache" >/dev/null 2>&1 || true
  chmod -R u+rwX "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cat >"$work/net.yaml" <<EOF
name: net
distribution: {family: debian, release: bookworm, arch: amd64}
repositories:
  - {mirror: auto, suite: bookworm, components: [main], keyring: $src/profiles/keys/debian-bookworm.asc}
packages: {variant: minbase, include: [systemd-sysv]}
output: {formats: [tar]}
EOF

echo "== imager build"
start=$SECONDS
"$imager" build "$work/net.yaml" --cache-dir "$cache" -o "$work/out" 2>"$work/imager.log" \
  || { tail -40 "$work/imager.log" >&2; exit 1; }
echo "imager: $((SECONDS - start)) s"
# The mirror imager resolved "auto" to (from this host's apt sources), so mmdebstrap uses the same.
mirror=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["repositories"][0]["url"])' \
  "$work/net.lock")
echo "mirror (from this host's apt sources): $mirror"

echo "== mmdebstrap --mode=unshare"
start=$SECONDS
mmdebstrap --mode=unshare --variant=minbase --include=systemd-sysv bookworm "$work/mm.tar" \
  "$mirror" 2>"$work/mm.log" || { tail -40 "$work/mm.log" >&2; exit 1; }
echo "mmdebstrap: $((SECONDS - start)) s"

if [[ -n ${KEEP:-} ]]; then
  mkdir -p "$KEEP"
  cp "$work/out/net.tar.gz" "$work/mm.tar" "$KEEP/"
fi

status=0
python3 - "$work/out/net.tar.gz" "$work/mm.tar" <<'PY' | tee "$work/report.txt" || status=$?
import sys, tarfile

# Paths (relative, no leading "./") whose differences are expected; each with its reason.
ALLOWED = {
    "etc/hostname": "host identity: mmdebstrap copies the build host's file, imager writes the "
                    "profile's rootfs.hostname (config stage)",
    "etc/resolv.conf": "host identity: mmdebstrap copies the build host's file; imager writes none",
    "etc/hosts": "imager's config stage adds the profile's hostname as 127.0.1.1; no package in "
                 "this set ships /etc/hosts, so mmdebstrap has none",
    "var/lib/apt/lists/lock": "empty lock file apt creates whenever it runs (mmdebstrap runs apt)",
    "var/cache/apt/archives/lock": "empty lock file apt creates whenever it runs",
    "etc/default/locale": "imager's config stage writes the profile's rootfs.locale (default "
                          "C.UTF-8); mmdebstrap sets no locale",
}
# Backups the shadow tools write of the state before their last change: which state (and so its
# owner and mode) depends on the order maintainer scripts ran in, which apt and imager choose
# differently within the dependency rules; the live files (etc/passwd, ...) are compared.
for f in ("passwd", "group", "shadow", "gshadow"):
    ALLOWED[f"etc/{f}-"] = "backup of the previous state; depends on maintainer script order"

def norm(name):
    name = name[2:] if name.startswith("./") else name
    name = name.rstrip("/")
    return name or "."

KIND = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.DIRTYPE: "dir",
        tarfile.SYMTYPE: "symlink", tarfile.LNKTYPE: "hardlink", tarfile.CHRTYPE: "char",
        tarfile.BLKTYPE: "block", tarfile.FIFOTYPE: "fifo"}

def read(path):
    entries, status = {}, None
    with tarfile.open(path) as tar:
        for m in tar:
            name = norm(m.name)
            kind = KIND.get(m.type, repr(m.type))
            target = m.linkname
            if m.type == tarfile.LNKTYPE:
                target = norm(target)
            xattrs = {k[len("SCHILY.xattr."):]: v for k, v in m.pax_headers.items()
                      if k.startswith("SCHILY.xattr.")}
            entries[name] = {
                "type": kind, "owner": f"{m.uid}:{m.gid}", "mode": f"{m.mode:04o}",
                "target": target if m.type in (tarfile.SYMTYPE, tarfile.LNKTYPE) else "",
                "device": f"{m.devmajor},{m.devminor}" if m.ischr() or m.isblk() else "",
                "xattrs": ",".join(f"{k}={v!r}" for k, v in sorted(xattrs.items())),
                "size": m.size if m.isreg() else 0,
            }
            if name == "var/lib/dpkg/status":
                status = tar.extractfile(m).read().decode()
    return entries, status

def packages(status):
    out = {}
    for para in status.split("\n\n"):
        fields = {}
        for line in para.splitlines():
            if line and not line[0].isspace() and ":" in line:
                k, v = line.split(":", 1)
                fields[k] = v.strip()
        if "Package" in fields:
            key = f"{fields['Package']}:{fields.get('Architecture', '?')}"
            out[key] = f"{fields.get('Version', '')} [{fields.get('Status', '')}]"
    return out

im, im_status = read(sys.argv[1])
mm, mm_status = read(sys.argv[2])
print(f"imager: {len(im)} entries; mmdebstrap: {len(mm)} entries")
failures = 0

def group(title, rows, fatal=True):
    global failures
    if not rows:
        return
    if fatal:
        failures += len(rows)
    print(f"\n{title} ({len(rows)}){'' if fatal else ' [informational]'}:")
    for r in rows:
        print("  " + r)

# (a) dpkg -l
if im_status is None or mm_status is None:
    print("var/lib/dpkg/status missing:", "imager" if im_status is None else "mmdebstrap")
    sys.exit(1)
ip, mp = packages(im_status), packages(mm_status)
print(f"dpkg status: imager {len(ip)} packages, mmdebstrap {len(mp)} packages")
group("packages only imager installed", [f"{k} {ip[k]}" for k in sorted(ip.keys() - mp.keys())])
group("packages only mmdebstrap installed", [f"{k} {mp[k]}" for k in sorted(mp.keys() - ip.keys())])
group("packages with a different version or status",
      [f"{k}: imager {ip[k]}, mmdebstrap {mp[k]}" for k in sorted(ip.keys() & mp.keys())
       if ip[k] != mp[k]])

# (b) file lists
allowed_seen = []
def split_allowed(names):
    keep = []
    for n in names:
        (allowed_seen if n in ALLOWED else keep).append(n)
    return keep

def describe(e):
    s = f"{e['type']} {e['owner']} {e['mode']}"
    if e["target"]: s += f" -> {e['target']}"
    if e["device"]: s += f" dev {e['device']}"
    if e["xattrs"]: s += f" xattrs {e['xattrs']}"
    return s

group("only in imager's tarball",
      [f"{n}  ({describe(im[n])})" for n in split_allowed(sorted(im.keys() - mm.keys()))])
group("only in mmdebstrap's tarball",
      [f"{n}  ({describe(mm[n])})" for n in split_allowed(sorted(mm.keys() - im.keys()))])
both = split_allowed(sorted(im.keys() & mm.keys()))
for field, title in [("type", "different type"), ("owner", "different owner uid:gid"),
                     ("mode", "different mode"), ("target", "different link target"),
                     ("device", "different device numbers"),
                     ("xattrs", "different extended attributes")]:
    group(title, [f"{n}: imager {im[n][field] or '-'}, mmdebstrap {mm[n][field] or '-'}"
                  for n in both if im[n][field] != mm[n][field]])
# Content is not part of the check (machine-specific files differ in content by design), but a
# different size of a regular file is shown to help reading the report.
group("regular files of a different size", [
    f"{n}: imager {im[n]['size']}, mmdebstrap {mm[n]['size']}" for n in both
    if im[n]["type"] == mm[n]["type"] == "file" and im[n]["size"] != mm[n]["size"]], fatal=False)

if allowed_seen:
    print(f"\nallowed differences ({len(set(allowed_seen))}):")
    for n in sorted(set(allowed_seen)):
        print(f"  {n}: {ALLOWED[n]}")
if failures:
    print(f"\n{failures} differences")
    sys.exit(1)
print("\nno differences beyond timestamps and the allowed files")
PY
[[ -n ${KEEP:-} ]] && cp "$work/report.txt" "$KEEP/"
exit $status
