#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A misbehaving HTTP mirror for the rootless tests (python3 standard library only).

  bad_mirror.py serve ROOT --port-file F --control C --log L
  bad_mirror.py prepare FIXTURE

serve: serves the directory ROOT on 127.0.0.1 (a free port, written to F once listening), with
byte ranges ("Range: bytes=N-" and "bytes=N-M" answer 206). Each request reads the control file C
(JSON; a missing or empty file means no faults) and appends one JSON line to the log L:
{"path", "range", "fault"} (fault is null when the request was served as it is). C maps a
path pattern (fnmatch on the URL path) to a rule; the first matching rule applies:

  {"mode": M, "times": N, ...}   the fault hits the first N matching requests (absent: all),
                                 counted from the moment the control file's content last changed
  stall    read the request, then send nothing ("after": -1, the default), only the headers
           ("after": 0) or the headers and that many body bytes; hold the connection "seconds"
  drop     headers and "after" body bytes (default: half), then reset the connection (RST)
  short    headers with the full Content-Length and "after" bytes (default: half), then close
  flip     the full body with the byte at "after" (default: the middle) inverted
  length   Content-Length off by "delta": the body is cut to it (delta < 0), or sent whole
           and the connection closed (delta > 0)
  status   answer HTTP "code" (e.g. 404, 500, 503) with a short error page
  file     serve the file "file" (an absolute path) instead
  norange  ignore Range and always send the whole file with 200

prepare: given the output of tests/fixtures/make_deb_repo.py, signs a detached Release.gpg into
FIXTURE/repo/dists/fixture/ and writes repository-level faults, signed with the fixture's key,
into FIXTURE/faults/: InRelease.badhash (Packages.gz listed with a wrong sha256),
InRelease.badsize (with a wrong size), InRelease.validuntil (Valid-Until in the past),
InRelease.expiredsig (a signature that expired a second after it was made) and
InRelease.unsigned (the Release text without any signature).
"""
import argparse
import fnmatch
import hashlib
import http.server
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse


class State:
    def __init__(self, root, control, log):
        self.root = os.path.realpath(root)
        self.control = control
        self.log = log
        self.lock = threading.Lock()
        self.text = None
        self.rules = {}
        self.counts = {}

    def rule_for(self, path):
        """The matching rule whose times are not used up (counting this request), or None."""
        with self.lock:
            try:
                with open(self.control) as f:
                    text = f.read()
            except FileNotFoundError:
                text = ""
            if text != self.text:
                self.text, self.counts = text, {}
                self.rules = json.loads(text) if text.strip() else {}
            for pattern, rule in self.rules.items():
                if not fnmatch.fnmatchcase(path, pattern):
                    continue
                n = self.counts.get(pattern, 0)
                self.counts[pattern] = n + 1
                times = rule.get("times")
                return rule if times is None or n < times else None
            return None

    def record(self, entry):
        with self.lock, open(self.log, "a") as f:
            f.write(json.dumps(entry) + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "bad-mirror"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def do_HEAD(self):
        self.handle_get(head=True)

    def do_GET(self):
        self.handle_get(head=False)

    def handle_get(self, head):
        state = self.server.state
        path = urllib.parse.urlsplit(self.path).path
        rule = state.rule_for(path)
        rng = self.headers.get("Range")
        state.record({"path": path, "range": rng, "fault": rule["mode"] if rule else None})
        mode = rule["mode"] if rule else None
        if mode == "status":
            return self.error_page(int(rule.get("code", 500)))
        if mode == "stall" and rule.get("after", -1) < 0:
            return self.hold(rule)
        source = rule["file"] if mode == "file" else self.local(path)
        if source is None or not os.path.isfile(source):
            return self.error_page(404)
        with open(source, "rb") as f:
            data = f.read()
        status, start = 200, 0
        if rng and mode != "norange":
            parsed = parse_range(rng, len(data))
            if parsed is None:
                return self.error_page(416, {"Content-Range": f"bytes */{len(data)}"})
            start, end = parsed
            status, data = 206, data[start:end + 1]
        # No Last-Modified or ETag: every request is unconditional, so that a fault is never
        # hidden by a 304 (curl also takes an unchanged Last-Modified for one).
        headers = {"Content-Type": "application/octet-stream"}
        if status == 206:
            total = os.path.getsize(source)
            headers["Content-Range"] = f"bytes {start}-{start + len(data) - 1}/{total}"
        length = len(data)
        if mode == "length":
            length = max(0, len(data) + int(rule.get("delta", -1)))
        if mode == "flip" and data:
            at = int(rule.get("after", len(data) // 2)) % len(data)
            data = data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(length))
        if mode in ("stall", "drop", "short", "length"):
            self.send_header("Connection", "close")
        self.end_headers()
        if head:
            return
        half = len(data) // 2
        if mode == "stall":
            self.wfile.write(data[:int(rule["after"])])
            return self.hold(rule)
        if mode == "drop":
            self.wfile.write(data[:int(rule.get("after", half))])
            self.wfile.flush()
            return self.reset()
        if mode == "short":
            self.wfile.write(data[:int(rule.get("after", half))])
            self.close_connection = True
            return
        if mode == "length":
            self.wfile.write(data[:length])
            self.close_connection = True
            return
        self.wfile.write(data)

    def local(self, path):
        full = os.path.realpath(os.path.join(self.server.state.root, path.lstrip("/")))
        if full != self.server.state.root and not full.startswith(self.server.state.root + "/"):
            return None
        return full

    def error_page(self, code, extra=None):
        body = f"<html><body>{code} from bad-mirror</body></html>\n".encode()
        self.send_response(code)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def hold(self, rule):
        """Keeps the connection open without sending anything, until the client gives up."""
        self.wfile.flush()
        deadline = time.monotonic() + float(rule.get("seconds", 300))
        self.connection.settimeout(0.2)
        while time.monotonic() < deadline:
            try:
                if self.connection.recv(4096) == b"":
                    break  # the client closed its end
            except socket.timeout:
                continue
            except OSError:
                break
        self.close_connection = True

    def reset(self):
        """Closes with RST instead of FIN: the client sees "connection reset by peer"."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        os.close(self.connection.detach())  # not shutdown(): that would send a FIN first
        self.close_connection = True


def parse_range(header, size):
    """(first, last) byte of "bytes=N-" or "bytes=N-M", or None when unsatisfiable."""
    if not header.startswith("bytes=") or "," in header:
        return None
    first, _, last = header[6:].partition("-")
    if not first.isdigit() or int(first) >= size:
        return None
    end = int(last) if last.isdigit() else size - 1
    return int(first), min(end, size - 1)


def serve(args):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.state = State(args.root, args.control, args.log)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{server.server_address[1]}\n")
    os.rename(tmp, args.port_file)
    server.serve_forever()


def prepare(args):
    out = os.path.abspath(args.fixture)
    dists = os.path.join(out, "repo/dists/fixture")
    faults = os.path.join(out, "faults")
    os.makedirs(faults, exist_ok=True)
    gpg = ["gpg", "--homedir", os.path.join(out, "gnupg"), "--batch", "--quiet",
           "--pinentry-mode", "loopback", "--passphrase", ""]
    with open(os.path.join(dists, "Release")) as f:
        release = f.read()

    def clearsign(name, text, *extra):
        plain = os.path.join(faults, name + ".txt")
        with open(plain, "w") as f:
            f.write(text)
        subprocess.run(gpg + list(extra) + ["--clearsign", "-o", os.path.join(faults, name),
                                            plain], check=True)
        os.unlink(plain)

    subprocess.run(gpg + ["--detach-sign", "-o", os.path.join(dists, "Release.gpg"),
                          os.path.join(dists, "Release")], check=True)
    packages_gz = " main/binary-amd64/Packages.gz\n"
    lines = release.splitlines(keepends=True)
    at = next(i for i, line in enumerate(lines) if line.endswith(packages_gz))
    digest, size, _ = lines[at].split()
    wrong = hashlib.sha256(b"not the index").hexdigest()
    clearsign("InRelease.badhash",
              "".join(lines[:at] + [f" {wrong} {size}{packages_gz}"] + lines[at + 1:]))
    clearsign("InRelease.badsize",
              "".join(lines[:at] + [f" {digest} {int(size) + 1}{packages_gz}"] + lines[at + 1:]))
    clearsign("InRelease.validuntil", release.replace(
        "Date: Sat, 10 Jun 2023 08:37:11 UTC\n",
        "Date: Sat, 10 Jun 2023 08:37:11 UTC\nValid-Until: Sat, 17 Jun 2023 08:37:11 UTC\n"))
    clearsign("InRelease.expiredsig", release, "--default-sig-expire", "seconds=1")
    with open(os.path.join(faults, "InRelease.unsigned"), "w") as f:
        f.write(release)
    subprocess.run(["gpgconf", "--homedir", os.path.join(out, "gnupg"), "--kill", "gpg-agent"],
                   check=False)
    time.sleep(2)  # InRelease.expiredsig is expired from now on


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("root")
    s.add_argument("--port-file", required=True)
    s.add_argument("--control", required=True)
    s.add_argument("--log", required=True)
    r = sub.add_parser("prepare")
    r.add_argument("fixture")
    args = p.parse_args()
    serve(args) if args.cmd == "serve" else prepare(args)


if __name__ == "__main__":
    sys.exit(main())
