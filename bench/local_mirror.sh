# SPDX-License-Identifier: GPL-3.0-or-later
# Sourced by the benchmarks that build from a local mirror (live_iso_vs_peers.sh,
# disk_vs_peers.sh): make_local_mirror W SEED_CACHE LOCK... makes $W/mirror, a signed file://
# mirror of bookworm/main with every package (and tools package) of the locks, hard-linked (or
# copied) from imager's package cache SEED_CACHE, Packages with the archive's Priority and
# Section (variant minbase selects by Priority), a Release with SHA256 lines and an InRelease
# signed with a throwaway ed25519 key in GNUPGHOME=$W/gnupg (exported); the key is in
# $W/bench.gpg (binary, for apt) and $W/bench.asc (armored, for a profile).
make_local_mirror() {
  local W=$1 seed=$2
  shift 2
  local M=$W/mirror
  mkdir -p "$M/pool/main" "$M/dists/bookworm/main/binary-amd64"
  python3 - "$seed/packages/sha256" "$M/pool/main" "$@" <<'PY'
import json, os, shutil, sys
store, pool, *locks = sys.argv[1:]
seen = {}
for lock in locks:
    d = json.load(open(lock))
    for p in d["packages"] + d.get("tools", []):
        seen[(p["name"], p["version"], p["architecture"])] = p
for (name, ver, arch), p in seen.items():
    h = p["sha256"]
    dst = f"{pool}/{name}_{ver.split(':', 1)[-1]}_{arch}.deb"  # no epoch, as in Debian's pool
    try:
        os.link(f"{store}/{h[:2]}/{h}", dst)
    except OSError:
        shutil.copyfile(f"{store}/{h[:2]}/{h}", dst)
print(f"mirror: {len(seen)} packages, {sum(p['size'] for p in seen.values()) / 1e6:.1f} MB", file=sys.stderr)
PY
  python3 - "$seed"/metadata/*/dists/bookworm/main/binary-amd64/Packages.xz "$@" >"$W/override" <<'PY'
import json, lzma, sys
locked = set()
for lock in sys.argv[2:]:
    d = json.load(open(lock))
    locked |= {(p["name"], p["version"]) for p in d["packages"] + d.get("tools", [])}
for stanza in lzma.open(sys.argv[1], "rt").read().split("\n\n"):
    f = dict(l.split(": ", 1) for l in stanza.splitlines() if ": " in l and not l[0].isspace())
    if (f.get("Package"), f.get("Version")) in locked:
        print(f["Package"], f.get("Priority", "optional"), f.get("Section", "misc"))
PY
  (cd "$M" && dpkg-scanpackages --multiversion pool "$W/override" 2>/dev/null \
    >dists/bookworm/main/binary-amd64/Packages)
  xz -k "$M/dists/bookworm/main/binary-amd64/Packages"
  python3 - "$M/dists/bookworm" <<'PY'
import email.utils, hashlib, sys
d = sys.argv[1]
files = ["main/binary-amd64/Packages", "main/binary-amd64/Packages.xz"]
lines = ["Origin: imager-bench", "Label: imager-bench", "Suite: bookworm", "Codename: bookworm",
         f"Date: {email.utils.formatdate(usegmt=True)}", "Architectures: amd64",
         "Components: main", "No-Support-for-Architecture-all: Packages", "SHA256:"]
for f in files:
    data = open(f"{d}/{f}", "rb").read()
    lines.append(f" {hashlib.sha256(data).hexdigest()} {len(data)} {f}")
open(f"{d}/Release", "w").write("\n".join(lines) + "\n")
PY
  export GNUPGHOME=$W/gnupg
  mkdir -m 700 "$GNUPGHOME"
  gpg -q --batch --passphrase '' --quick-gen-key 'imager bench <bench@invalid>' ed25519 sign 1d 2>/dev/null
  gpg -q --batch --clearsign -o "$M/dists/bookworm/InRelease" "$M/dists/bookworm/Release"
  gpg -q --batch --export >"$W/bench.gpg"
  gpg -q --batch --export --armor >"$W/bench.asc"
  chmod -R a+rX "$M" "$W/bench.gpg"
}
