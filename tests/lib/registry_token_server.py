#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A Bearer token service for docker-registry's `auth: token` in the registry tests (python3
standard library plus the openssl command).

  registry_token_server.py --port-file F --tls-cert C --tls-key K --sign-key S --sign-cert SC
                           --user U --password P --service SVC --issuer ISS

Serves GET /token?service=SVC&scope=repository:NAME:ACTIONS... over HTTPS on 127.0.0.1 (a free
port, written to F once listening). A request with the right Basic credentials gets a JWT (RS256,
signed with S; its certificate SC in the "x5c" header, which the registry trusts through its
rootcertbundle) granting every scope it asked for, as {"token": ...}; wrong credentials get 401;
no credentials get a token without access (anonymous). Each request appends "user scope..." to
stderr.
"""
import argparse
import base64
import http.server
import json
import ssl
import subprocess
import sys
import time
import urllib.parse
import uuid


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def der_of_pem(path):
    text = open(path).read()
    body = text.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
    return base64.b64decode("".join(body.split()))


def make_token(args, user, scopes):
    header = {"typ": "JWT", "alg": "RS256",
              "x5c": [base64.b64encode(der_of_pem(args.sign_cert)).decode()]}
    access = []
    for scope in scopes:
        parts = scope.split(":")
        if len(parts) >= 3 and user:
            access.append({"type": parts[0], "name": ":".join(parts[1:-1]),
                           "actions": parts[-1].split(",")})
    now = int(time.time())
    claims = {"iss": args.issuer, "sub": user, "aud": args.service, "exp": now + 300,
              "nbf": now - 10, "iat": now, "jti": str(uuid.uuid4()), "access": access}
    signing_input = (b64url(json.dumps(header).encode()) + "." +
                     b64url(json.dumps(claims).encode())).encode()
    signature = subprocess.run(["openssl", "dgst", "-sha256", "-sign", args.sign_key],
                               input=signing_input, capture_output=True, check=True).stdout
    return signing_input.decode() + "." + b64url(signature)


def main():
    p = argparse.ArgumentParser()
    for name in ("port-file", "tls-cert", "tls-key", "sign-key", "sign-cert", "user",
                 "password", "service", "issuer"):
        p.add_argument("--" + name, required=True)
    args = p.parse_args()
    expected = "Basic " + base64.b64encode(f"{args.user}:{args.password}".encode()).decode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query)
            auth = self.headers.get("Authorization")
            if url.path != "/token" or query.get("service") != [args.service]:
                return self.answer(400, {"error": "unknown service"})
            if auth is not None and auth != expected:
                return self.answer(401, {"errors": [{"code": "UNAUTHORIZED",
                                                     "message": "bad credentials"}]})
            user = args.user if auth else ""
            scopes = query.get("scope", [])
            print(user or "(anonymous)", *scopes, file=sys.stderr, flush=True)
            self.answer(200, {"token": make_token(args, user, scopes), "expires_in": 300})

        def answer(self, code, doc):
            body = json.dumps(doc).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.tls_cert, args.tls_key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with open(args.port_file + ".part", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.rename(args.port_file + ".part", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
