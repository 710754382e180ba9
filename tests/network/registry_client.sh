#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
# oci::RegistryClient (through tests/registry_probe) against Debian's docker-registry (the CNCF
# distribution registry), started here on 127.0.0.1: one with TLS from a throwaway self-signed
# certificate and htpasswd (Basic) authentication, one over plain HTTP without authentication, and
# one with Bearer tokens from tests/lib/registry_token_server.py (the flow of public registries,
# including a token widened by a cross-repository mount's challenge). Checks:
# push then pull gives the same bytes, a second push is skipped, a cross-repository mount; a
# wrong password, missing credentials and an untrusted certificate are clear errors; a blob
# tampered with in the registry's storage is refused naming its digest and leaves no file behind;
# manifests round-trip by tag and digest; tags are listed. Needs no root and no outside network.
#
# Environment: REGISTRY_PROBE (default: build/tests/registry_probe); VERBOSE=1 shows each
# expected error message.
set -euo pipefail

src=$(cd "$(dirname "$0")/../.." && pwd)
probe=${REGISTRY_PROBE:-$src/build/tests/registry_probe}
for tool in docker-registry htpasswd openssl python3 sha256sum base64; do
  command -v "$tool" >/dev/null || {
    echo "SKIP: $tool is not installed (dev/deps.txt: docker-registry apache2-utils)" >&2
    exit 77
  }
done
[ -x "$probe" ] || { echo "no $probe: build it (ninja -C build registry_probe)" >&2; exit 2; }

T=$(mktemp -d "${TMPDIR:-/tmp}/imager-registry.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$T"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for log in "$T"/*.log; do [ -s "$log" ] && { echo "--- $log" >&2; tail -20 "$log" >&2; }; done
  exit 1
}
pass() { echo "ok: $*"; }
assert_eq() { [ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"; pass "$1"; }
assert_contains() {
  case "$3" in
    *"$2"*) pass "$1" ;;
    *) fail "$1: '$2' not in: $3" ;;
  esac
}
assert_not_contains() {
  case "$3" in
    *"$2"*) fail "$1: '$2' in: $3" ;;
    *) pass "$1" ;;
  esac
}
# Runs the probe expecting failure; prints its stderr.
probe_fails() {
  local err
  if err=$("$probe" "$@" 2>&1 >/dev/null); then fail "probe $* succeeded"; fi
  [ -z "${VERBOSE:-}" ] || echo "  probe error: $err" >&2
  echo "$err"
}
sha() { sha256sum "$1" | cut -d' ' -f1; }

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_registry NAME PORT: serves $T/NAME.yml, waits until the port accepts connections.
start_registry() {
  docker-registry serve "$T/$1.yml" >"$T/$1.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do
    kill -0 "${pids[-1]}" 2>/dev/null || fail "docker-registry $1 exited"
    if (exec 3<>"/dev/tcp/127.0.0.1/$2") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  fail "docker-registry $1 does not listen on 127.0.0.1:$2"
}

# ---- a TLS registry with htpasswd ----------------------------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$T/key.pem" -out "$T/cert.pem" -subj /CN=localhost \
  -addext subjectAltName=IP:127.0.0.1,DNS:localhost 2>"$T/openssl.log"
password=$(openssl rand -hex 12)
htpasswd -Bbn tester "$password" >"$T/htpasswd"
port=$(free_port)
cat >"$T/tls.yml" <<EOF
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $T/storage}
http:
  addr: 127.0.0.1:$port
  secret: $(openssl rand -hex 16)
  tls: {certificate: $T/cert.pem, key: $T/key.pem}
auth:
  htpasswd: {realm: imager-test, path: $T/htpasswd}
EOF
start_registry tls "$port"

host=127.0.0.1:$port
auth_json() { printf '{"auths": {"%s": {"auth": "%s"}}}\n' "$host" "$(printf '%s' "$1" | base64 -w0)"; }
auth_json "tester:$password" >"$T/auth.json"
auth_json "tester:wrong-$password" >"$T/wrong.json"
echo '{}' >"$T/empty.json"
ref=docker://$host/imager/cache:t1
P=("$probe" --ca-file="$T/cert.pem" --auth-file="$T/auth.json")

# Failures that must say what is wrong.
err=$(probe_fails --auth-file="$T/auth.json" "$ref" tags)
assert_contains "untrusted certificate: TLS error" "TLS" "$err"
assert_contains "untrusted certificate: names --tls-verify=false" "--tls-verify=false" "$err"
assert_contains "untrusted certificate: names the CA" "CA certificate" "$err"
err=$(probe_fails --ca-file="$T/cert.pem" --auth-file="$T/wrong.json" "$ref" tags)
assert_contains "wrong password: authentication failed" "authentication failed" "$err"
assert_contains "wrong password: names the user and file" "user 'tester' from $T/wrong.json" "$err"
assert_not_contains "wrong password: not shown" "wrong-$password" "$err"
err=$(probe_fails --ca-file="$T/cert.pem" --auth-file="$T/empty.json" "$ref" tags)
assert_contains "no credentials: says where it looked" "no credentials for $host in $T/empty.json" "$err"
err=$(probe_fails --ca-file="$T/cert.pem" "docker://$host/Bad/Name" tags)
assert_contains "bad reference" "invalid repository component 'Bad'" "$err"

# An empty repository has no tags.
assert_eq "no tags yet" "" "$("${P[@]}" "$ref" tags)"

# Blobs: a 3 MiB layer streamed both ways, skipped when present, mounted into another repository.
head -c 3145777 /dev/urandom >"$T/layer"
digest=sha256:$(sha "$T/layer")
assert_eq "has-blob before push" "no" "$("${P[@]}" "$ref" has-blob "$digest")"
assert_eq "push uploads" "uploaded $digest" "$("${P[@]}" "$ref" push-blob "$T/layer")"
assert_eq "second push skipped" "present $digest" "$("${P[@]}" "$ref" push-blob "$T/layer")"
assert_eq "has-blob after push" "yes" "$("${P[@]}" "$ref" has-blob "$digest")"
"${P[@]}" "$ref" pull-blob "$digest" "$T/pulled" 3145777 || fail "pull failed"
assert_eq "pulled bytes" "$(sha "$T/layer")" "$(sha "$T/pulled")"
[ ! -e "$T/pulled.tmp" ] || fail "pull left $T/pulled.tmp"
assert_eq "cross-repository mount" "mounted $digest" \
  "$("${P[@]}" "docker://$host/imager/other" push-blob "$T/layer" imager/cache)"

# Manifests: by tag and by digest, byte for byte.
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' \
  >"$T/config"
"${P[@]}" "$ref" push-blob "$T/config" >/dev/null
manifest_type=application/vnd.oci.image.manifest.v1+json
cat >"$T/manifest.json" <<EOF
{"schemaVersion":2,"mediaType":"$manifest_type",
 "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:$(sha "$T/config")","size":$(stat -c %s "$T/config")},
 "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":"$digest","size":3145777}]}
EOF
mdigest=sha256:$(sha "$T/manifest.json")
assert_eq "put manifest by tag" "$mdigest" \
  "$("${P[@]}" "$ref" put-manifest "$T/manifest.json" "$manifest_type")"
assert_eq "get manifest by tag" "$manifest_type $mdigest" \
  "$("${P[@]}" "$ref" get-manifest t1 "$T/got.json")"
cmp -s "$T/manifest.json" "$T/got.json" || fail "the manifest read back differs"
assert_eq "get manifest by digest" "$manifest_type $mdigest" \
  "$("${P[@]}" "$ref" get-manifest "$mdigest")"
assert_eq "missing tag" "absent" "$("${P[@]}" "$ref" get-manifest nope)"
"${P[@]}" "$ref" put-manifest "$T/manifest.json" "$manifest_type" t2 >/dev/null
"${P[@]}" "$ref" put-manifest "$T/manifest.json" "$manifest_type" "$mdigest" >/dev/null
assert_eq "tags" "t1 t2" "$("${P[@]}" "$ref" tags | sort | xargs)"
sed "s/$digest/sha256:$(printf '%064d' 0)/" "$T/manifest.json" >"$T/dangling.json"
err=$(probe_fails --ca-file="$T/cert.pem" --auth-file="$T/auth.json" "$ref" put-manifest \
  "$T/dangling.json" "$manifest_type" t3)
assert_contains "registry error: names the URL" "PUT https://$host/v2/imager/cache/manifests/t3" "$err"
assert_contains "registry error: the registry's message" "MANIFEST_BLOB_UNKNOWN" "$err"

# A blob tampered with in the registry's storage (same size, other bytes) is refused.
hex=${digest#sha256:}
data=$T/storage/docker/registry/v2/blobs/sha256/${hex:0:2}/$hex/data
[ -f "$data" ] || fail "no blob data at $data"
head -c 3145777 /dev/urandom >"$data"
err=$(probe_fails "${P[@]:1}" "$ref" pull-blob "$digest" "$T/tampered")
assert_contains "tampered blob: refused naming the digest" "pull blob $digest" "$err"
assert_contains "tampered blob: refused" "refused" "$err"
[ ! -e "$T/tampered" ] && [ ! -e "$T/tampered.tmp" ] || fail "a tampered pull left a file"
pass "tampered blob: no file left"

# ---- a plain-HTTP registry without authentication ------------------------------------------------
port2=$(free_port)
cat >"$T/plain.yml" <<EOF
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $T/storage-plain}
http:
  addr: 127.0.0.1:$port2
  secret: $(openssl rand -hex 16)
EOF
start_registry plain "$port2"
plain=docker://127.0.0.1:$port2/plain/repo:x
err=$(probe_fails "$plain" tags)
assert_contains "plain HTTP with verification: names --tls-verify=false" "--tls-verify=false" "$err"
Q=("$probe" --tls-verify=false)
assert_eq "plain HTTP: push" "uploaded $digest" "$("${Q[@]}" "$plain" push-blob "$T/layer")"
"${Q[@]}" "$plain" pull-blob "$digest" "$T/plain-pulled" || fail "plain HTTP pull failed"
assert_eq "plain HTTP: pulled bytes" "$(sha "$T/layer")" "$(sha "$T/plain-pulled")"
"${Q[@]}" "$plain" push-blob "$T/config" >/dev/null
"${Q[@]}" "$plain" put-manifest "$T/manifest.json" "$manifest_type" >/dev/null
assert_eq "plain HTTP: manifest" "$manifest_type $mdigest" "$("${Q[@]}" "$plain" get-manifest x)"
# tls_verify=false also accepts the self-signed certificate without a CA.
assert_eq "tls-verify=false on TLS" "t1 t2" \
  "$("$probe" --tls-verify=false --auth-file="$T/auth.json" "$ref" tags | sort | xargs)"

# Nothing listening: retried with backoff, then an error naming the URL.
dead=$(free_port)
err=$(probe_fails --tls-verify=false "docker://127.0.0.1:$dead/x/y" tags)
assert_contains "unreachable: names the URL" "GET https://127.0.0.1:$dead/v2/" "$err"
assert_contains "unreachable: retried" "(gave up after 4 attempts)" "$err"

# ---- a TLS registry with Bearer tokens from a token service (how public registries work) -------
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout "$T/sign-key.pem" \
  -out "$T/sign-cert.pem" -subj /CN=imager-test-token-issuer 2>>"$T/openssl.log"
python3 "$src/tests/lib/registry_token_server.py" --port-file "$T/token.port" \
  --tls-cert "$T/cert.pem" --tls-key "$T/key.pem" --sign-key "$T/sign-key.pem" \
  --sign-cert "$T/sign-cert.pem" --user tester --password "$password" --service imager-test \
  --issuer imager-test-issuer 2>"$T/token-service.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$T/token.port" ] && break; sleep 0.1; done
[ -s "$T/token.port" ] || fail "the token service did not start"
port3=$(free_port)
cat >"$T/token.yml" <<EOF
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $T/storage-token}
http:
  addr: 127.0.0.1:$port3
  secret: $(openssl rand -hex 16)
  tls: {certificate: $T/cert.pem, key: $T/key.pem}
auth:
  token:
    realm: https://127.0.0.1:$(cat "$T/token.port")/token
    service: imager-test
    issuer: imager-test-issuer
    rootcertbundle: $T/sign-cert.pem
EOF
start_registry token "$port3"
host=127.0.0.1:$port3
auth_json "tester:$password" >"$T/token-auth.json"
auth_json "tester:wrong-$password" >"$T/token-wrong.json"
B=("$probe" --ca-file="$T/cert.pem" --auth-file="$T/token-auth.json")
bref=docker://$host/imager/cache:b1
assert_eq "bearer: push" "uploaded $digest" "$("${B[@]}" "$bref" push-blob "$T/layer")"
assert_contains "bearer: token asked for pull,push" "tester repository:imager/cache:pull,push" \
  "$(cat "$T/token-service.log")"
"${B[@]}" "$bref" pull-blob "$digest" "$T/bearer-pulled" || fail "bearer pull failed"
assert_eq "bearer: pulled bytes" "$(sha "$T/layer")" "$(sha "$T/bearer-pulled")"
assert_eq "bearer: mount (a token for both repositories)" "mounted $digest" \
  "$("${B[@]}" "docker://$host/imager/other" push-blob "$T/layer" imager/cache)"
assert_contains "bearer: the mount's challenge widened the token's scope" \
  "tester repository:imager/cache:pull repository:imager/other:pull,push" \
  "$(cat "$T/token-service.log")"
"${B[@]}" "$bref" push-blob "$T/config" >/dev/null
"${B[@]}" "$bref" put-manifest "$T/manifest.json" "$manifest_type" >/dev/null
assert_eq "bearer: tags" "b1" "$("${B[@]}" "$bref" tags)"
err=$(probe_fails --ca-file="$T/cert.pem" --auth-file="$T/token-wrong.json" "$bref" tags)
assert_contains "bearer, wrong password: the token service refused" "token service" "$err"
assert_contains "bearer, wrong password: names the user" "user 'tester'" "$err"
assert_not_contains "bearer, wrong password: not shown" "wrong-$password" "$err"
err=$(probe_fails --ca-file="$T/cert.pem" --auth-file="$T/empty.json" "$bref" tags)
assert_contains "bearer, anonymous: refused" "HTTP 401" "$err"
assert_contains "bearer, anonymous: says where credentials were sought" \
  "no credentials for $host in $T/empty.json" "$err"

[ -z "${VERBOSE:-}" ] || { echo "--- token requests:"; cat "$T/token-service.log"; }
echo "PASS: registry client"
