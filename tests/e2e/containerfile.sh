#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# The Containerfile, with rootless podman, as the calling (unprivileged) user:
#   1. imager builds the base image (dev/container-base.sh: Debian 12 + dev/deps.txt's build and
#      runtime blocks) as an OCI layout; skopeo reads it;
#   2. `podman build` builds the Containerfile from that layout (no registry), the final image
#      running as the user "imager". By default the image takes the binaries the suite tested
#      (the Containerfile's PREBUILT, from a copy of the tree that holds them: compiling in the
#      container took 6 of the test's 10 minutes); FROM_SOURCE=1 compiles them in the container;
#   3. in the container, with the flags README.md documents, `imager check` passes and reports
#      single-id mode (the image gives "imager" no subordinate ids); without them it fails;
#   4. in the container, imager builds the default profile's rootfs tarball from the host's apt
#      mirror (through podman's user-mode network); the tarball is a bookworm rootfs with the
#      profile's hostname and user, a kernel, and the owners packages set (single-id mode
#      records them); the build pushes its stages (--cache-to) to docker-registry on the host's
#      loopback (TLS, htpasswd; tests/lib/registry.sh), which the container reaches as 10.0.2.2;
#   5. the image built with SUBIDS gives range mode with --cap-add SYS_ADMIN, and without it
#      imager check names newuidmap's failure;
#   6. deploy/kubernetes/job.yaml's pod template, as the Job controller would start its index 1,
#      runs under `podman kube play` (tests/lib/kube_pod.py: the template as it is, its volumes
#      given host directories; tests/lib/oci_runtime_unmask.py does for procMount: Unmasked what
#      podman 4.3 does not): it picks its profile by JOB_COMPLETION_INDEX, takes every stage from
#      the registry (none runs) and writes the same tarball, byte for byte, to its output volume;
#      the range-mode patch (deploy/kubernetes/range) gives range mode in its pod; without
#      procMount: Unmasked imager check fails in the pod.
# Needs IMAGER (CTest sets it; it builds the base image). Storage is private to the test
# (podman --root in a temporary directory) and removed afterwards; the package cache is the
# user's. JOBS=N limits ninja in the container (FROM_SOURCE=1); KEEP=DIR keeps the logs. Exit 77 (skip) when
# podman, skopeo or a usable /dev/net/tun (slirp4netns) are missing. Takes about as long as
# one rootfs build (plus compiling imager with FROM_SOURCE=1).
set -euo pipefail
# shellcheck source=../lib/e2e.sh
source "$(dirname "$0")/../lib/e2e.sh"

for tool in podman skopeo slirp4netns docker-registry htpasswd openssl python3; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (see dev/deps.txt)"
done
python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml is not installed (see dev/deps.txt)"
# shellcheck source=../lib/registry.sh
source "$src/tests/lib/registry.sh"
# Podman's default rootless network (slirp4netns) opens /dev/net/tun; udev makes it 0666.
[ -r /dev/net/tun ] && [ -w /dev/net/tun ] ||
  skip "/dev/net/tun is not usable by $(id -un) (slirp4netns needs it; root: chmod 0666 it)"
# crun 1.8 (Debian 12) refuses hosts with cgroup v1 and v2 mounted together ("hybrid"); runc
# does not mind.
runtime=()
real_runtime=$(command -v crun || command -v runc || true)
if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ]; then
  command -v runc >/dev/null || skip "cgroup v1/hybrid host: podman needs runc here (dev/deps.txt)"
  runtime=(--runtime runc)
  real_runtime=$(command -v runc)
fi
[ "$(id -u)" != 0 ] || [ -n "${IMAGER_ALLOW_ROOT:-}" ] ||
  fail "run this as an unprivileged user (tests/run.sh does)"

work=$(mktemp -d "${TMPDIR:-/tmp}/imager-containerfile.XXXXXX")
pod() {
  podman --root "$work/storage" --runroot "$work/run" --storage-driver overlay "${runtime[@]}" "$@"
}
cleanup() {
  [ -z "${KEEP:-}" ] || cp "$work"/*.log "$KEEP"/ 2>/dev/null || true
  pod pod rm -af >/dev/null 2>&1 || true
  pod rm -af >/dev/null 2>&1 || true
  registry_stop
  # Image layers and the container's output belong to subordinate ids: remove them inside
  # podman's user namespace.
  pod unshare rm -rf "$work/storage" "$work/run" "$work/export" "$work/kube-out" >/dev/null 2>&1 ||
    true
  rm -rf "$work"
}
trap cleanup EXIT
step() {  # step NAME CMD...: runs CMD with its output in NAME.log, shows the end on failure
  local name=$1 t0=$SECONDS
  shift
  "$@" >"$work/$name.log" 2>&1 || {
    tail -40 "$work/$name.log"
    fail "$name (log: $work/$name.log)"
  }
  echo "$name: $((SECONDS - t0)) s"
}

# --- 1. the base image, exported by imager --------------------------------------------------------
step base env IMAGER="$IMAGER" bash "$src/dev/container-base.sh" "$work/out"
layout=$work/out/imager-base.oci
[ "$(skopeo inspect --format '{{.Os}}/{{.Architecture}}' "oci:$layout:latest")" = linux/amd64 ] ||
  fail "skopeo does not read $layout"
pass "base image $(du -sh "$layout" | cut -f1) as an OCI layout"

# --- 2. the Containerfile, built from that layout -------------------------------------------------
# podman 4.3 names the base after the layout's path, which must be lowercase: mktemp's is not.
cd "$work"
base=(--build-arg "BASE=oci:out/imager-base.oci:latest" --build-arg "JOBS=${JOBS:-}")
context=$src
if [ -z "${FROM_SOURCE:-}" ]; then
  # The build context: the tree as .containerignore leaves it, plus the tested binaries (their
  # debug sections stripped: 140 MB less to copy).
  context=$work/context
  mkdir -p "$context/prebuilt"
  tar -C "$src" --exclude=./.git --exclude=./build --exclude='./build-*' --exclude=./out -cf - . |
    tar -C "$context" -xf -
  for bin in "$IMAGER" "$(dirname "$IMAGER")/imager-booter"; do
    objcopy --strip-debug "$bin" "$context/prebuilt/$(basename "$bin")"
  done
  base+=(--build-arg PREBUILT=prebuilt)
fi
step image pod build "${base[@]}" -t localhost/imager:test -f "$src/Containerfile" "$context"
assert_eq() {
  [ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
  pass "$1 = '$3'"
}
assert_eq "image user" imager \
  "$(pod image inspect --format '{{.Config.User}}' localhost/imager:test)"
run() { pod run --rm --security-opt seccomp=unconfined --security-opt unmask=ALL "$@"; }
assert_eq "uid in the container" "1000" "$(run localhost/imager:test id -u)"

# --- 3. imager check ------------------------------------------------------------------------------
step check run localhost/imager:test imager check
grep -q 'single' "$work/check.log" || {
  cat "$work/check.log"
  fail "imager check does not report single-id mode"
}
pass "imager check passes in the container, single-id mode"
set +e
pod run --rm localhost/imager:test imager check >"$work/check-default.log" 2>&1
rc=$?
set -e
[ "$rc" != 0 ] || fail "imager check passed without the flags; README.md says they are needed"
grep -q '^FAIL  sandbox:' "$work/check-default.log" || {
  cat "$work/check-default.log"
  fail "imager check without the flags does not name the sandbox failure"
}
pass "without the flags imager check fails: $(grep -m1 '^FAIL' "$work/check-default.log")"

# --- 4. the default profile's rootfs tarball ------------------------------------------------------
# The shipped profile by name, from its directory that "imager" cannot write (the lock goes to the
# output directory); the output goes to a host directory given to the container's uid 1000.
# The stages go to a registry on the host's loopback, which slirp4netns shows the container as
# 10.0.2.2 (allow_host_loopback); the registry's credentials and CA are in a read-only volume.
REGISTRY_SAN=IP:10.0.2.2 registry_start "$work/registry" || fail "could not start docker-registry"
cache_ref=docker://10.0.2.2:${REGISTRY_HOST#*:}/imager/cache
mkdir "$work/registry-secret"
sed "s/127\.0\.0\.1:/10.0.2.2:/" "$REGISTRY_AUTH" >"$work/registry-secret/auth.json"
cp "$REGISTRY_CA" "$work/registry-secret/ca.pem"
chmod 0755 "$work/registry-secret"
chmod 0644 "$work/registry-secret"/*
secret=/run/secrets/imager-registry
network=(--network slirp4netns:allow_host_loopback=true)
mkdir "$work/export"
pod unshare chown 1000:1000 "$work/export"
step rootfs run "${network[@]}" -v "$work/export:/export" -v "$work/registry-secret:$secret:ro" \
  -e "REGISTRY_AUTH_FILE=$secret/auth.json" -e "IMAGER_REGISTRY_CA=$secret/ca.pem" \
  localhost/imager:test imager build debian-live --format tar -o /export --cache-to "$cache_ref"
grep -q 'not writable' "$work/rootfs.log" || fail "the build does not say where its lock went"
grep -q -- "--cache-to: [0-9]* stages pushed" "$work/rootfs.log" || {
  tail -20 "$work/rootfs.log"
  fail "the build in the container does not report its push to $cache_ref"
}
[ -s "$work/export/debian-live.lock" ] || fail "no lock in the output directory"
tarball=$work/export/debian-live.tar.gz
[ -s "$tarball" ] || fail "no $tarball"
tar -tvzf "$tarball" --numeric-owner >"$work/rootfs.list" 2>/dev/null
entries=$(wc -l <"$work/rootfs.list")
[ "$entries" -gt 5000 ] || fail "the tarball lists only $entries entries"
assert_eq "hostname" debian-live "$(tar -xzOf "$tarball" ./etc/hostname)"
grep -qx 'VERSION_CODENAME=bookworm' <(tar -xzOf "$tarball" ./usr/lib/os-release) ||
  fail "not a bookworm rootfs"
grep -q '^live:x:1000:1000:.*:/bin/bash$' <(tar -xzOf "$tarball" ./etc/passwd) ||
  fail "no user live in /etc/passwd"
grep -q ' \./boot/vmlinuz-' "$work/rootfs.list" || fail "no kernel in /boot"
# Single-id mode keeps owners (issue 17): what packages and the profile's user own is recorded in
# the sandbox and written to the tarball.
owner_of() { awk -v p="./$1" '$6 == p { print $1, $2 }' "$work/rootfs.list"; }
assert_eq "/etc/shadow (single-id mode, recorded)" "-rw-r----- 0/42" "$(owner_of etc/shadow)"
assert_eq "/usr/bin/chage keeps set-gid shadow" "-rwxr-sr-x 0/42" "$(owner_of usr/bin/chage)"
assert_eq "the user's home" "1000/1000" "$(owner_of home/live/ | cut -d' ' -f2)"
others=$(awk '$2 != "0/0"' "$work/rootfs.list" | wc -l)
[ "$others" -gt 5 ] || fail "only $others entries not owned by 0/0: owners were lost"
pass "rootfs tarball $(du -h "$tarball" | cut -f1), $entries entries, built in the container"

# --- 5. range mode: subordinate ids for "imager" inside the container -----------------------------
# The container has the ids 0..65536 (podman maps the user's 65536 subordinate ids to 1..65536);
# uid 1000 is imager itself, the two ranges around it give 65535 ids.
step image-range pod build "${base[@]}" --build-arg "SUBIDS=1:999 1001:64536" \
  -t localhost/imager:range -f "$src/Containerfile" "$context"
step check-range run --cap-add SYS_ADMIN localhost/imager:range imager run --print-plan -- true
grep -q 'id map (range mode)' "$work/check-range.log" || {
  cat "$work/check-range.log"
  fail "no range mode in the container"
}
step check-range-full run --cap-add SYS_ADMIN localhost/imager:range imager check
pass "range mode with --cap-add SYS_ADMIN, imager check passes"
set +e
run localhost/imager:range imager check >"$work/check-range-nocap.log" 2>&1
rc=$?
set -e
[ "$rc" != 0 ] || fail "range mode worked without CAP_SYS_ADMIN; README.md says it is needed"
grep -q 'newuidmap.*Operation not permitted' "$work/check-range-nocap.log" || {
  cat "$work/check-range-nocap.log"
  fail "imager check does not name newuidmap's failure"
}
pass "without --cap-add SYS_ADMIN: newuidmap may not write the map (as README.md says)"

# --- 6. the Kubernetes Job's pod template, with podman kube play ---------------------------------
# The pod of index 1 of deploy/kubernetes/job.yaml with a profile list whose second word is the
# default profile, its output volume a host directory that already holds step 4's lock (as a
# previous run of the Job leaves it), the registry's secret as above. Its cache volume is an
# emptyDir: everything must come from the registry.
stages_pushed=$(sed -n 's/.*--cache-to: \([0-9]*\) stages pushed.*/\1/p' "$work/rootfs.log")
mkdir -p "$work/kube-out/debian-live"
cp "$work/export/debian-live.lock" "$work/kube-out/debian-live/"
pod unshare chown -R 1000:1000 "$work/kube-out"
printf '#!/bin/sh\nexec python3 %s %s "$@"\n' "$src/tests/lib/oci_runtime_unmask.py" \
  "$real_runtime" >"$work/oci-runtime"
chmod 0755 "$work/oci-runtime"
kube() {  # kube NAME [kube_pod.py options]: plays the pod and waits for it; sets kube_rc to its
  # exit code; NAME.log has its output
  local name=$1 t0=$SECONDS
  shift
  python3 "$src/tests/lib/kube_pod.py" "$src/deploy/kubernetes/job.yaml" --name "$name" \
    --volume "out=$work/kube-out" --volume "registry-auth=$work/registry-secret" \
    --env "IMAGER_CACHE_FROM=$cache_ref" --env "IMAGER_CACHE_TO=$cache_ref" \
    --env "IMAGER_REGISTRY_CA=$secret/ca.pem" --no-resources "$@" >"$work/$name.yaml" ||
    fail "kube_pod.py could not make the pod $name"
  # The last --runtime counts: the wrapper, in front of the runtime pod() would choose.
  pod --runtime "$work/oci-runtime" kube play "${network[@]}" "$work/$name.yaml" \
    >"$work/$name-play.log" 2>&1 || {
    cat "$work/$name-play.log"
    fail "podman kube play $name.yaml"
  }
  kube_rc=$(pod wait "$name-imager")
  pod logs "$name-imager" >"$work/$name.log" 2>&1
  pod pod rm -f "$name" >/dev/null 2>&1 || true
  echo "$name: $((SECONDS - t0)) s"
}
kube_ok() {  # kube_ok NAME [kube_pod.py options]: kube, and the pod must succeed
  kube "$@"
  [ "$kube_rc" = 0 ] || {
    tail -40 "$work/$1.log"
    fail "the pod $1 exited with $kube_rc (log: $work/$1.log)"
  }
}
kube_ok kube-build --index 1 --image localhost/imager:test \
  --env "IMAGER_PROFILES=debian-installer debian-live" --env "IMAGER_BUILD_ARGS=--format tar"
built=$(stages_built "$work/kube-build.log")
[ -z "$built" ] || fail "the pod ran stages ($built) that the registry has"
grep -q "$stages_pushed stages.*($stages_pushed of them from --cache-from)" "$work/kube-build.log" || {
  tail -20 "$work/kube-build.log"
  fail "the pod's summary does not say that its $stages_pushed stages came from the registry"
}
cmp -s "$tarball" "$work/kube-out/debian-live/debian-live.tar.gz" ||
  fail "the pod's tarball differs from the one step 4 built"
pass "the Job's pod (index 1: debian-live) took its $stages_pushed stages from the registry, same tarball"

# The range-mode patch: the pod runs the SUBIDS image with CAP_SYS_ADMIN (in podman's user
# namespace, as hostUsers: false gives it the pod's) and without no_new_privs.
kube_ok kube-range --index 0 --image localhost/imager:range \
  --patch "$src/deploy/kubernetes/range/range-patch.yaml" \
  --args 'imager check && imager run --print-plan -- true'
grep -q 'id map (range mode)' "$work/kube-range.log" || {
  cat "$work/kube-range.log"
  fail "no range mode in the range-mode pod"
}
pass "the range-mode pod template gives range mode; imager check passes in it"

# Without procMount: Unmasked (the runtime's masks over /proc stay), imager's sandbox cannot mount
# its proc: the template's setting is needed, as job.yaml says.
printf -- '- {op: remove, path: /spec/template/spec/containers/0/securityContext/procMount}\n' \
  >"$work/masked.yaml"
kube kube-masked --index 0 --image localhost/imager:test --patch "$work/masked.yaml" \
  --args 'imager check'
[ "$kube_rc" != 0 ] && grep -q 'proc' "$work/kube-masked.log" || {
  cat "$work/kube-masked.log"
  fail "imager check passed in a pod with a masked /proc (exit $kube_rc)"
}
pass "without procMount: Unmasked the pod's imager check fails: $(grep -m1 '^FAIL' "$work/kube-masked.log")"
