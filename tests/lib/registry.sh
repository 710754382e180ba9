# SPDX-License-Identifier: GPL-3.0-or-later
# shellcheck shell=bash disable=SC2034 # the REGISTRY_* variables are for the sourcing script
# A throwaway OCI registry for the tests (sourced): Debian's docker-registry (the CNCF
# distribution registry) on 127.0.0.1, with a self-signed certificate and htpasswd
# authentication, its storage in a directory of the test's.
#
#   registry_start DIR     creates DIR/{cert.pem,key.pem,htpasswd,auth.json,registry.yml,storage}
#                          and starts the registry; sets REGISTRY_HOST (127.0.0.1:PORT),
#                          REGISTRY_CA, REGISTRY_AUTH, REGISTRY_STORAGE and REGISTRY_PID.
#                          REGISTRY_SAN adds names to the certificate (e.g. IP:10.0.2.2, the
#                          host's loopback as podman's slirp4netns shows it to a container)
#   registry_restart DIR   starts it again on the same port and storage
#   registry_stop          kills it (SIGKILL: what a crash or a pulled cable looks like)
#
# The caller's trap should call registry_stop. Needs docker-registry, htpasswd (apache2-utils),
# openssl and python3.

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

registry_start() {
  local dir=$1
  mkdir -p "$dir/storage"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$dir/key.pem" -out "$dir/cert.pem" -subj /CN=localhost \
    -addext "subjectAltName=IP:127.0.0.1,DNS:localhost${REGISTRY_SAN:+,$REGISTRY_SAN}" 2>"$dir/openssl.log"
  local password port
  password=$(openssl rand -hex 12)
  htpasswd -Bbn tester "$password" >"$dir/htpasswd"
  port=$(free_port)
  REGISTRY_HOST=127.0.0.1:$port
  cat >"$dir/registry.yml" <<EOF
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $dir/storage}
  delete: {enabled: true}
http:
  addr: $REGISTRY_HOST
  secret: $(openssl rand -hex 16)
  tls: {certificate: $dir/cert.pem, key: $dir/key.pem}
auth:
  htpasswd: {realm: imager-test, path: $dir/htpasswd}
EOF
  printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$REGISTRY_HOST" \
    "$(printf 'tester:%s' "$password" | base64 -w0)" >"$dir/auth.json"
  chmod 0644 "$dir/auth.json" "$dir/cert.pem"
  REGISTRY_CA=$dir/cert.pem
  REGISTRY_AUTH=$dir/auth.json
  REGISTRY_STORAGE=$dir/storage
  registry_restart "$dir"
}

registry_restart() {
  local dir=$1
  docker-registry serve "$dir/registry.yml" >>"$dir/registry.log" 2>&1 &
  REGISTRY_PID=$!
  for _ in $(seq 100); do
    if ! kill -0 "$REGISTRY_PID" 2>/dev/null; then
      tail -20 "$dir/registry.log" >&2
      echo "docker-registry exited" >&2
      return 1
    fi
    if (exec 3<>"/dev/tcp/${REGISTRY_HOST%:*}/${REGISTRY_HOST#*:}") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "docker-registry does not listen on $REGISTRY_HOST" >&2
  return 1
}

registry_stop() {
  [ -n "${REGISTRY_PID:-}" ] || return 0
  kill -KILL "$REGISTRY_PID" 2>/dev/null || true
  wait "$REGISTRY_PID" 2>/dev/null || true
  REGISTRY_PID=
}

# registry_check_complete REPO: every tag of REPO in the storage names a manifest whose blobs are
# all there and match their digests (nothing partial is visible). Prints the number of tags.
registry_check_complete() {
  python3 - "$REGISTRY_STORAGE/docker/registry/v2" "$1" <<'PY'
import hashlib, json, os, sys
root, repo = sys.argv[1], sys.argv[2]
def blob(digest):
    algo, hexd = digest.split(":", 1)
    return os.path.join(root, "blobs", algo, hexd[:2], hexd, "data")
def check(digest, what):
    path = blob(digest)
    if not os.path.exists(path):
        sys.exit(f"{what}: blob {digest} is missing")
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    if "sha256:" + h.hexdigest() != digest:
        sys.exit(f"{what}: blob {digest} does not match its digest")
    return path
tags_dir = os.path.join(root, "repositories", repo, "_manifests", "tags")
tags = sorted(os.listdir(tags_dir)) if os.path.isdir(tags_dir) else []
for tag in tags:
    link = open(os.path.join(tags_dir, tag, "current", "link")).read().strip()
    manifest = json.load(open(check(link, f"tag {tag}")))
    for d in [manifest["config"]] + manifest.get("layers", []):
        check(d["digest"], f"tag {tag}")
print(len(tags))
PY
}
