#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Drives Calamares in a booted installer ISO through an install onto the guest's blank disk.

The guest runs under `imager boot ISO --disk D --tablet --qmp SOCK --log SERIAL`; this script
reads the serial console (Calamares' debug log goes there) and talks QMP: pointer clicks on the
USB tablet, keys, screendumps. Calamares runs without a window manager, so its window sits in the
middle of a black screen and its size changes from page to page: every click is placed relative
to the window's frame, found in a fresh screendump. Each step is checked (the screen must change
after a click) and saved as SHOTS/NN-name.ppm. --ram-entry first picks the boot menu's "load
into RAM" entry (ISOLINUX, on the serial console). Exits 0 when Calamares reports the installation
complete, 1 (with the reason) when it fails, a step has no effect or time runs out; QEMU is quit
either way.
"""
import argparse
import hashlib
import json
import os
import socket
import sys
import time

WINDOW_UP = "STARTUP: Window now visible"
FAILED = "ERROR: Installation failed"
# The finished page's log line once the job queue is done ("...; completion: failed" after a
# failed job).
DONE = "completion: succeeded"


class Fail(Exception):
    pass


class Qmp:
    def __init__(self, path, timeout=60):
        end = time.time() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                if time.time() > end:
                    raise Fail(f"no QMP server on {path}")
                time.sleep(1)
        self.f = self.sock.makefile("rw")
        self.f.readline()  # greeting
        self.execute("qmp_capabilities")

    def execute(self, command, **arguments):
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self.f.write(json.dumps(msg) + "\n")
        self.f.flush()
        while True:
            line = self.f.readline()
            if not line:
                raise Fail(f"QMP closed during {command}")
            reply = json.loads(line)
            if "error" in reply:
                raise Fail(f"QMP {command}: {reply['error']}")
            if "return" in reply:
                return reply["return"]


def read_ppm(path):
    with open(path, "rb") as f:
        data = f.read()
    # P6\n<w> <h>\n<max>\n<rgb...>
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        start = pos
        while not data[pos:pos + 1].isspace():
            pos += 1
        fields.append(data[start:pos])
    if fields[0] != b"P6":
        raise Fail(f"{path}: not a binary PPM")
    return int(fields[1]), int(fields[2]), data[pos + 1:]


def window_frame(width, height, rgb):
    """The bounding box of what is not black: rows and columns with over 40 lit pixels (the
    pointer is smaller than that)."""
    lit_rows, lit_cols = [0] * height, [0] * width
    for y in range(0, height):
        row = rgb[y * width * 3:(y + 1) * width * 3]
        for x in range(0, width, 2):
            if row[3 * x] > 8 or row[3 * x + 1] > 8 or row[3 * x + 2] > 8:
                lit_rows[y] += 2
                lit_cols[x] += 1
    rows = [y for y, n in enumerate(lit_rows) if n > 40]
    cols = [x for x, n in enumerate(lit_cols) if n > 20]
    if not rows or not cols:
        raise Fail("the screen is black: no Calamares window")
    return cols[0], rows[0], cols[-1], rows[-1]


class Driver:
    def __init__(self, args):
        self.a = args
        self.step = 0
        self.qmp = Qmp(args.qmp)
        self.width = self.height = 0

    def log(self, msg):
        print(f"drive: {msg}", flush=True)

    def serial(self):
        try:
            with open(self.a.serial, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def wait_serial(self, needles, timeout):
        end = time.time() + timeout
        while time.time() < end:
            text = self.serial()
            for n in needles:
                if n in text:
                    return n
            time.sleep(2)
        return None

    def dump(self, path):
        """A screendump into `path` (replaced): its size noted, its pixels returned."""
        if os.path.exists(path):
            os.unlink(path)
        self.qmp.execute("screendump", filename=path)
        for _ in range(50):  # QEMU writes it asynchronously on some versions
            if os.path.exists(path) and os.path.getsize(path) > 0:
                break
            time.sleep(0.1)
        self.width, self.height, rgb = read_ppm(path)
        return rgb

    def shot(self, name, frame=True):
        """A numbered screendump kept as SHOTS/NN-name.ppm: path, digest, window frame."""
        self.step += 1
        path = os.path.join(self.a.shots, f"{self.step:02d}-{name}.ppm")
        rgb = self.dump(path)
        return (path, hashlib.sha256(rgb).hexdigest(),
                window_frame(self.width, self.height, rgb) if frame else None)

    def pointer(self, x, y):
        scale = lambda v, size: int(v * 32767 / max(size - 1, 1))
        self.qmp.execute("input-send-event", events=[
            {"type": "abs", "data": {"axis": "x", "value": scale(x, self.width)}},
            {"type": "abs", "data": {"axis": "y", "value": scale(y, self.height)}}])
        time.sleep(0.3)

    def click(self, x, y):
        self.pointer(x, y)
        for down in (True, False):
            self.qmp.execute("input-send-event",
                             events=[{"type": "btn", "data": {"down": down, "button": "left"}}])
            time.sleep(0.15)
        time.sleep(0.5)

    def key(self, *names):
        self.qmp.execute("send-key", keys=[{"type": "qcode", "data": k} for k in names])
        time.sleep(0.15)

    def type(self, text):
        special = {" ": "spc", "-": "minus", ".": "dot"}
        for ch in text:
            if ch.isupper():
                self.key("shift", ch.lower())
            else:
                self.key(special.get(ch, ch))

    def stable_shot(self, name):
        """A numbered screendump once two in a row are the same (a page still laying itself out
        or resizing its window would misplace the next click)."""
        previous = None
        for _ in range(20):
            time.sleep(1.5)
            digest = self.poll()
            if digest == previous:
                break
            previous = digest
        return self.shot(name)

    def poll(self):
        """The digest of an unnumbered screendump (SHOTS/poll.ppm, overwritten)."""
        return hashlib.sha256(self.dump(os.path.join(self.a.shots, "poll.ppm"))).hexdigest()

    def press(self, name, x, y, settle=30):
        """Clicks (x, y) until the screen changes (at most 3 tries); returns the next stable
        screen. The pointer rests on the spot first, so that its move and the button's hover
        highlight do not count as the change."""
        self.pointer(x, y)
        time.sleep(1)
        before = self.poll()
        for _ in range(3):
            self.click(x, y)
            end = time.time() + settle
            while time.time() < end:
                time.sleep(2)
                if self.poll() != before:
                    return self.stable_shot(name)
        raise Fail(f"step {name}: clicking ({x}, {y}) changed nothing on the screen")

    def bottom_button(self, frame, from_right):
        """Calamares' navigation buttons sit in the window's bottom right corner: Next (or
        Install) is the middle one, 145 px left of the frame's right edge."""
        x0, y0, x1, y1 = frame
        return x1 - from_right, y1 - 18

    def run(self):
        a = self.a
        if a.ram_entry:
            # ISOLINUX's menu (BIOS) counts down on the serial console: take its second entry.
            if self.wait_serial(["Automatic boot in"], 300) is None:
                raise Fail("no boot menu on the serial console within 300 s")
            self.key("down")
            self.key("ret")
            self.log("chose the boot menu's second entry (load into RAM)")
            if self.wait_serial(["toram: medium released"], 600) is None:
                raise Fail("the booter did not release the medium (no 'toram: medium released')")
        self.log("waiting for Calamares' window")
        if self.wait_serial([WINDOW_UP], a.boot_timeout) is None:
            raise Fail(f"no '{WINDOW_UP}' on the serial console within {a.boot_timeout} s")
        time.sleep(a.settle)  # the partition page probes the disk after the window is up
        _, digest, frame = self.stable_shot("welcome")
        for page in ("location", "keyboard", "partition", "users"):
            x, y = self.bottom_button(frame, 145)
            _, digest, frame = self.press(page, x, y)
            self.log(f"on the {page} page, window {frame}")
        x0, y0 = frame[0], frame[1]
        # The users page: full name, login, host name, password twice (fields 57 px apart).
        for dy, text, replace in ((47, a.user, False), (104, a.user, True),
                                  (161, a.hostname, True), (218, a.password, False)):
            self.click(x0 + 288, y0 + dy)
            if replace:
                self.key("ctrl", "a")
            self.type(text)
        self.click(x0 + 494, y0 + 218)
        self.type(a.password)
        _, digest, frame = self.stable_shot("users-filled")
        x, y = self.bottom_button(frame, 145)
        _, digest, frame = self.press("summary", x, y)
        self.log(f"on the summary page, window {frame}")
        x, y = self.bottom_button(frame, 145)
        _, digest, frame = self.press("confirm", x, y)
        # The confirmation dialog is centred on the window; "Install now" is its default button.
        cx, cy = (frame[0] + frame[2]) // 2, (frame[1] + frame[3]) // 2
        self.pointer(cx, cy)
        self.key("ret")
        if self.wait_serial(["Starting job"], 120) is None:
            self.shot("not-started", frame=False)
            raise Fail("the install did not start after confirming (no 'Starting job' in the log)")
        self.log("installing")
        result = self.wait_serial([DONE, FAILED], a.install_timeout)
        self.shot("end", frame=False)
        if result is None:
            raise Fail(f"the installation did not end within {a.install_timeout} s")
        if result == FAILED:
            lines = [l for l in self.serial().splitlines() if "ERROR" in l or "message" in l]
            raise Fail("Calamares: installation failed: " + " | ".join(lines[-6:]))
        self.log("Calamares reports the installation complete")


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--qmp", required=True, help="QEMU's QMP socket (imager boot --qmp)")
    p.add_argument("--serial", required=True, help="the serial console's log (imager boot --log)")
    p.add_argument("--shots", required=True, help="directory for the screendumps")
    p.add_argument("--user", default="tester")
    p.add_argument("--password", default="tester1")
    p.add_argument("--hostname", default="imagerbox")
    p.add_argument("--boot-timeout", type=int, default=900)
    p.add_argument("--install-timeout", type=int, default=2700)
    p.add_argument("--settle", type=int, default=20)
    p.add_argument("--ram-entry", action="store_true",
                   help="boot the ISOLINUX menu's 'load into RAM' entry (BIOS)")
    a = p.parse_args()
    os.makedirs(a.shots, exist_ok=True)
    code = 0
    driver = None
    try:
        driver = Driver(a)
        driver.run()
    except Fail as e:
        print(f"drive: FAILED: {e}", file=sys.stderr, flush=True)
        code = 1
    finally:
        if driver is not None:
            try:
                driver.qmp.execute("quit")
            except (Fail, OSError):
                pass
    return code


if __name__ == "__main__":
    sys.exit(main())
