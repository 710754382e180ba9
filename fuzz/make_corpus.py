#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes the seed corpora of the fuzz targets into fuzz/corpus/<target>/: small, real-shaped
inputs built here from scratch (python's tarfile, hand-made cpio and ar), so every byte is
reproducible. Run it again after changing a seed; it rewrites the directory."""
import gzip
import hashlib
import io
import json
import lzma
import os
import shutil
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
CORPUS = os.path.join(HERE, "corpus")
CUT = b"\n--8<--\n"  # fuzz_util.h SplitParts
MTIME = 1686386231   # 2023-06-10, fixed so archives are byte-identical


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# ---- archives -------------------------------------------------------------------------------
def tar(entries, fmt=tarfile.GNU_FORMAT):
    """entries: (name, kind, payload, mode); kind: file dir sym link fifo chr."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for name, kind, payload, mode in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime, ti.mode, ti.uname, ti.gname = MTIME, mode, "root", "root"
            data = None
            if kind == "file":
                data = payload.encode()
                ti.size = len(data)
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE
            elif kind == "sym":
                ti.type, ti.linkname = tarfile.SYMTYPE, payload
            elif kind == "link":
                ti.type, ti.linkname = tarfile.LNKTYPE, payload
            elif kind == "fifo":
                ti.type = tarfile.FIFOTYPE
            elif kind == "chr":
                ti.type, ti.devmajor, ti.devminor = tarfile.CHRTYPE, 1, 3
            elif kind == "owned":
                data = payload.encode()
                ti.size, ti.uid, ti.gid = len(data), 100, 42
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    # tarfile pads to 10 KiB records; two zero blocks end an archive, the rest is noise.
    out = buf.getvalue()
    return out.rstrip(b"\0") + b"\0" * (1024 + (-len(out.rstrip(b"\0"))) % 512)


def cpio_newc(entries):
    """entries: (name, mode, data); newc as the kernel reads initramfs."""
    out = b""
    for ino, (name, mode, data) in enumerate(entries + [("TRAILER!!!", 0, b"")], 1):
        n = name.encode() + b"\0"
        hdr = b"070701" + b"".join(b"%08X" % v for v in (
            ino if name != "TRAILER!!!" else 0, mode, 0, 0, 1, MTIME, len(data), 0, 0, 0, 0,
            len(n), 0))
        out += hdr + n
        out += b"\0" * ((-len(out)) % 4) + data
        out += b"\0" * ((-len(out)) % 4)
    return out


def ar(members):
    out = b"!<arch>\n"
    for name, data in members:
        out += b"%-16s%-12d%-6d%-6d%-8s%-10d`\n" % (name.encode(), MTIME, 0, 0, b"100644", len(data))
        out += data + (b"\n" if len(data) % 2 else b"")
    return out


def gz(data):
    return gzip.compress(data, mtime=0)


# Entries that try to leave the destination: fuzz::Jail runs the targets one level below the
# working directory, so "/proc/self/cwd/../x" and "../x" both name a place it watches.
ESCAPES = [
    ("up", "sym", "..", 0o777),
    ("up/escaped-through-dotdot-link", "file", "x\n", 0o644),
    ("cwd", "sym", "/proc/self/cwd/..", 0o777),
    ("cwd/escaped-through-absolute-link", "file", "x\n", 0o644),
    ("../escaped-by-name", "file", "x\n", 0o644),
    ("hard", "link", "../escaped-by-name", 0o644),
]

ROOTFS = [
    ("./", "dir", None, 0o755),
    ("./etc/", "dir", None, 0o755),
    ("./etc/hostname", "file", "debian\n", 0o644),
    ("./etc/os-release", "file", 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n', 0o644),
    ("./etc/localtime", "sym", "/usr/share/zoneinfo/Etc/UTC", 0o777),
    ("./usr/", "dir", None, 0o755),
    ("./usr/bin/", "dir", None, 0o755),
    ("./usr/bin/sh", "file", "#!/bin/true\n", 0o755),
    ("./usr/bin/dash", "link", "./usr/bin/sh", 0o755),
    ("./bin", "sym", "usr/bin", 0o777),
    ("./run/", "dir", None, 0o755),
    ("./run/initctl", "fifo", None, 0o600),
    ("./dev/", "dir", None, 0o755),
    ("./dev/null", "chr", None, 0o666),
    ("./var/mail/root", "owned", "", 0o660),
]


def archives():
    put("tar", "rootfs.tar", tar(ROOTFS))
    put("tar", "rootfs-pax.tar", tar(ROOTFS + [("./usr/share/" + "long-name/" * 12 + "f", "file", "x", 0o644)],
                                     fmt=tarfile.PAX_FORMAT))
    put("tar", "rootfs.tar.gz", gz(tar(ROOTFS)))
    put("tar", "rootfs.tar.xz", lzma.compress(tar(ROOTFS[:6])))
    put("tar", "escapes.tar", tar(ESCAPES))
    put("tar", "whiteout.tar", tar([("./etc/", "dir", None, 0o755), ("./etc/.wh.hostname", "file", "", 0o644),
                                    ("./usr/.wh..wh..opq", "file", "", 0o644)]))
    put("tar", "initrd.cpio", cpio_newc([
        (".", 0o40755, b""), ("bin", 0o40755, b""), ("bin/sh", 0o100755, b"#!/bin/true\n"),
        ("init", 0o120777, b"bin/sh"), ("etc", 0o40755, b""),
        ("etc/imager-booter.conf", 0o100644, b"id=abc\n")]))
    put("tar", "escapes.cpio", cpio_newc([
        ("up", 0o120777, b".."), ("up/escaped", 0o100644, b"x"),
        ("../escaped-by-name", 0o100644, b"x")]))

    # OCI layers: a root filesystem, then one that whites out, empties and tries to escape.
    lower = tar(ROOTFS)
    upper = tar([("./etc/", "dir", None, 0o755), ("./etc/.wh.hostname", "file", "", 0o644),
                 ("./usr/bin/.wh..wh..opq", "file", "", 0o644), ("./usr/bin/true", "file", "", 0o755),
                 ("./.wh.run", "file", "", 0o644)])
    put("oci_unpack", "rootfs", lower)
    put("oci_unpack", "two-layers", lower + CUT + upper)
    put("oci_unpack", "escapes", lower + CUT + tar(ESCAPES))
    put("oci_unpack", "whiteout-through-link", tar([("./l", "sym", "/proc/self/cwd", 0o777)]) + CUT +
        tar([("./l/.wh.root", "file", "", 0o644), ("./l/.wh..wh..opq", "file", "", 0o644)]))
    put("oci_unpack", "layer.tar.gz", gz(lower))

    # A .deb: debian-binary, control.tar.gz, data.tar.xz.
    control = tar([("./", "dir", None, 0o755), ("./control", "file",
                   "Package: hello\nVersion: 2.10-3\nArchitecture: amd64\nMaintainer: A <a@b>\n"
                   "Pre-Depends: libc6 (>= 2.34)\nDepends: libc6 (>= 2.34), dpkg | dpkg-dev:any\n"
                   "Description: example\n a package\n .\n more\n", 0o644),
                   ("./postinst", "file", "#!/bin/sh\nexit 0\n", 0o755)])
    data = tar(ROOTFS[:10] + [("./var/mail/root", "owned", "", 0o660)])
    put("deb", "hello.deb", ar([("debian-binary", b"2.0\n"), ("control.tar.gz", gz(control)),
                                ("data.tar.xz", lzma.compress(data))]))
    put("deb", "plain.deb", ar([("debian-binary", b"2.0\n"), ("control.tar", control),
                                ("data.tar", tar(ESCAPES))]))
    return lower, upper


def oci(lower, upper):
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                       "digest": "@MANIFEST@", "size": "@MANIFEST_SIZE@",
                                       "annotations": {"org.opencontainers.image.ref.name": "latest"}}]},
                       indent=2).replace('"@MANIFEST_SIZE@"', "@MANIFEST_SIZE@")

    def manifest(n, media="application/vnd.oci.image.layer.v1.tar"):
        layers = [{"mediaType": media, "digest": "@LAYER%d@" % i, "size": "@LAYER%d_SIZE@" % i}
                  for i in range(n)]
        text = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                      "digest": "@CONFIG@", "size": "@CONFIG_SIZE@"},
                           "layers": layers}, indent=2)
        return text.replace('"@CONFIG_SIZE@"', "@CONFIG_SIZE@").replace('_SIZE@"', "_SIZE@").replace(
            '"@LAYER0_SIZE@', "@LAYER0_SIZE@").replace('"@LAYER1_SIZE@', "@LAYER1_SIZE@")

    def config(n):
        return json.dumps({"created": "2023-06-10T08:37:11Z", "architecture": "amd64", "os": "linux",
                           "config": {"Env": ["PATH=/usr/bin:/bin"], "Cmd": ["/bin/sh"]},
                           "rootfs": {"type": "layers", "diff_ids": ["@LAYER%d_DIFFID@" % i for i in range(n)]},
                           "history": [{"created": "2023-06-10T08:37:11Z", "created_by": "imager build"}] * n},
                          indent=2)

    put("oci_layout", "one-layer", index.encode() + CUT + manifest(1).encode() + CUT + config(1).encode() +
        CUT + lower)
    put("oci_layout", "two-layers", index.encode() + CUT + manifest(2).encode() + CUT +
        config(2).encode() + CUT + lower + CUT + upper)
    put("oci_layout", "gzip-layer", index.encode() + CUT +
        manifest(1, "application/vnd.oci.image.layer.v1.tar+gzip").encode() + CUT + config(1).encode() +
        CUT + gz(lower))
    put("oci_layout", "escapes", index.encode() + CUT + manifest(1).encode() + CUT + config(1).encode() +
        CUT + tar(ESCAPES))


RELEASE = """Origin: Debian
Label: Debian
Suite: stable
Version: 12.1
Codename: bookworm
Changelogs: https://metadata.ftp-master.debian.org/changelogs/@CHANGEPATH@_changelog
Date: Sat, 22 Jul 2023 09:42:32 UTC
Valid-Until: Sat, 29 Jul 2023 09:42:32 UTC
Acquire-By-Hash: yes
No-Support-for-Architecture-all: Packages
Architectures: all amd64 arm64 armel armhf i386 mips64el mipsel ppc64el s390x
Components: main contrib non-free-firmware non-free
Description: Debian 12.1 Released 22 July 2023
MD5Sum:
 0ed6d4c8891eb86358b94bb35d9e4da4  1484322 contrib/Contents-all
SHA256:
 d6c9c82f4e61b4662f752f07a7b2c2ec50cd6c4d1a4bd6b3e0b9c6b6e5f5d0a2   738242 contrib/Contents-all
 1a3ac2f6fde3a4e8b1e8d8cf9b1f2ebf8cfc0c1a0a1b1f1c2d2e2f303132333   103 main/binary-amd64/Release
 7e2b8d1fd0f5a0f5f8e6a7b3c1d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6  8787868 main/binary-amd64/Packages.xz
 0d6c4a7f8e9b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d 45678901 main/binary-amd64/Packages
"""

ARMOR_BODY = """iQIzBAEBCAAdFiEEtpOh1G2aowlJPe0DAl+oUzMDvZwFAmS7o3cACgkQAl+oUzMD
vZz3sxAAlhT0N3kKlR8kZz3e1dQXb0K4kL1M5dXmH0nV2eN7dWq8bQ==
=Gcpt"""


def text_targets():
    put("release", "Release", RELEASE)
    put("release", "InRelease",
        "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n" + RELEASE.replace("\n-", "\n- -") +
        "-----BEGIN PGP SIGNATURE-----\n\n" + ARMOR_BODY + "\n-----END PGP SIGNATURE-----\n")
    put("release", "key.asc", "-----BEGIN PGP PUBLIC KEY BLOCK-----\nComment: test\n\n" + ARMOR_BODY +
        "\n-----END PGP PUBLIC KEY BLOCK-----\n-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n" +
        "mQINBGPM\n-----END PGP PUBLIC KEY BLOCK-----\n")
    put("release", "gpgv-status",
        "[GNUPG:] NEWSIG\n[GNUPG:] KEY_CONSIDERED B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8 0\n"
        "[GNUPG:] SIG_ID 0Lq3r9uT8m8Hn2P1 2023-07-22 1690018952\n"
        "[GNUPG:] GOODSIG 0E98404D386FA1D9 Debian Archive Automatic Signing Key (12/bookworm)\n"
        "[GNUPG:] VALIDSIG 4CB50190207B4758A3F73A796ED0E7B82643E131 2023-07-22 1690018952 0 4 0 1 10 01 "
        "B8B80B5B623EAB6AD8775C45B7C5D7D6350947F8\n"
        "[GNUPG:] NEWSIG\n[GNUPG:] ERRSIG 99 22 8 01 1 9 -\n[GNUPG:] NO_PUBKEY 99\n"
        "[GNUPG:] NEWSIG\n[GNUPG:] EXPKEYSIG 1122 A\n[GNUPG:] REVKEYSIG 3344 B\n[GNUPG:] BADSIG 5566 C\n")
    put("release", "date", "Sat, 10 Jun 2023 08:37:11 UTC")

    packages = """Package: base-files
Version: 12.4+deb12u1
Installed-Size: 341
Maintainer: Santiago Vila <sanvila@debian.org>
Architecture: amd64
Replaces: base, dpkg (<= 1.15.0), miscutils
Provides: base
Pre-Depends: awk
Breaks: debian-security-support (<< 2019.04.25), initscripts (<< 2.88dsf-13.3)
Description: Debian base system miscellaneous files
Multi-Arch: foreign
Essential: yes
Priority: required
Section: admin
Filename: pool/main/b/base-files/base-files_12.4+deb12u1_amd64.deb
Size: 70740
SHA256: 4a5b1b0e6b4d1e6c8a5a9e7b1d2c3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e

Package: mawk
Version: 1.3.4.20200120-3.1
Architecture: amd64
Provides: awk
Depends: libc6 (>= 2.34)
Priority: required
Filename: pool/main/m/mawk/mawk_1.3.4.20200120-3.1_amd64.deb
Size: 133132

Package: libc6
Source: glibc
Version: 2.36-9+deb12u1
Architecture: amd64
Depends: libgcc-s1
Recommends: libidn2-0 (>= 2.0.5~)
Suggests: glibc-doc, debconf | debconf-2.0, libc-l10n, locales, libnss-nis, libnss-nisplus
Priority: optional
Filename: pool/main/g/glibc/libc6_2.36-9+deb12u1_amd64.deb
Size: 2757936

Package: apt
Version: 2.6.1
Architecture: amd64
Depends: adduser, gpgv | gpgv2 | gpgv1, libapt-pkg6.0 (>= 2.6.1), debian-archive-keyring, libc6:any
Priority: important
Filename: pool/main/a/apt/apt_2.6.1_amd64.deb
Size: 1371212

Package: tzdata
Version: 2024a-0+deb12u1
Architecture: all
Depends: debconf (>= 0.5) | debconf-2.0
Priority: standard
Filename: pool/main/t/tzdata/tzdata_2024a-0+deb12u1_all.deb
Size: 255480
"""
    put("packages", "Packages", packages)
    put("packages", "Packages-crlf", packages.replace("\n", "\r\n"))

    repomd = """<?xml version="1.0" encoding="UTF-8"?>
<repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm">
  <revision>1686386231</revision>
  <data type="primary">
    <checksum type="sha256">3f1c2e7d9b0a4c5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6</checksum>
    <open-checksum type="sha256">a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90</open-checksum>
    <location href="repodata/3f1c-primary.xml.gz"/>
    <timestamp>1686386231</timestamp>
    <size>1234</size>
    <open-size>5678</open-size>
  </data>
  <data type="group">
    <checksum type="sha256">0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef</checksum>
    <location href="repodata/0123-comps.xml"/>
    <size>400</size>
  </data>
  <data type="filelists">
    <checksum type="sha1">0123456789abcdef0123456789abcdef01234567</checksum>
    <location href='repodata/x-filelists.xml.gz'/>
  </data>
</repomd>
"""
    primary = """<?xml version="1.0" encoding="UTF-8"?>
<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="2">
<package type="rpm">
  <name>alpha</name>
  <arch>noarch</arch>
  <version epoch="0" ver="1.0" rel="1"/>
  <checksum type="sha256" pkgid="YES">aa11</checksum>
  <summary>fixture alpha</summary>
  <location href="Packages/alpha-1.0-1.noarch.rpm"/>
  <format>
    <rpm:license>GPL-3.0-or-later</rpm:license>
    <rpm:provides><rpm:entry name="alpha" flags="EQ" epoch="0" ver="1.0" rel="1"/></rpm:provides>
    <rpm:requires><rpm:entry name="gamma" flags="GE" epoch="0" ver="1"/><rpm:entry name="/bin/sh"/>
      <rpm:entry name="(delta if gamma)"/></rpm:requires>
    <file>/usr/bin/alpha</file>
  </format>
</package>
<package type="rpm">
  <name>gamma</name>
  <arch>x86_64</arch>
  <version epoch="1" ver="2.0" rel="3.fc38"/>
  <location href="Packages/gamma-2.0-3.fc38.x86_64.rpm"/>
  <format><rpm:provides><rpm:entry name="gamma"/></rpm:provides><file>/etc/gamma.conf</file></format>
</package>
</metadata>
"""
    comps = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">
<comps>
  <group>
    <id>core</id>
    <name>Core</name>
    <packagelist>
      <packagereq type="mandatory">alpha</packagereq>
      <packagereq type="default">gamma</packagereq>
      <packagereq type="optional">delta</packagereq>
      <packagereq type="conditional" requires="alpha">gamma</packagereq>
    </packagelist>
  </group>
</comps>
"""
    put("rpmmd", "repomd-only", repomd)
    put("rpmmd", "repo", repomd + CUT.decode() + primary + CUT.decode() + comps)

    put("booter_config", "full.conf",
        "# generated\nprobe = cdrom, usb, /dev/vd*\ntimeout=12\npoll_ms=100\nimage=/live/base.squashfs\n"
        "image=/live/top.squashfs\nid=abc-123\nid_file=/.stamp\ntoram=yes\n"
        "module=kernel/drivers/cdrom/cdrom.ko\nmodule=kernel/fs/isofs/isofs.ko.xz\n"
        "init=/lib/systemd/systemd\nshell=no\non_failure=poweroff\nquiet=yes\n")
    put("booter_config", "cmdline",
        'BOOT_IMAGE=/live/vmlinuz quiet imager.probe=usb,cdrom imager.timeout=60 imager.toram '
        'imager.id="a b" imager.image=/live/a.squashfs,/live/b.squashfs imager.on_failure=reboot '
        'imager.module= imager.shell imager.unknown=1 imager.probe=/dev/sd[ab]1,removable\n')
    put("booter_config", "bad.conf", "probe=cdrom,floppy\ntimeout=soon\ntoram\nimg=/x\nimage=rel\n")
    registry()


def registry():
    """References, challenges, auth files, links and error bodies as registries write them."""
    put("registry", "ref", "docker://registry.example.com:5000/imager/cache:v1.2")
    put("registry", "ref-ipv6", "[::1]:5000/a__b.c-d/e--f")
    put("registry", "bearer",
        'Bearer realm="https://auth.example.com/token",service="registry.example.com",'
        'scope="repository:imager/cache:pull,push",error="insufficient_scope"')
    put("registry", "basic-and-more", 'Basic realm="Registry \\"R\\"", charset=UTF-8, Negotiate abc==')
    put("registry", "auth.json", json.dumps({"auths": {
        "reg.example.com:5000/imager": {"auth": "dXNlcjpwYTpzcw=="},
        "https://reg.example.com:5000/v1/": {"auth": "b3RoZXI6c2VjcmV0"}}}))
    put("registry", "link", '</v2/imager/cache/tags/list?last=b&n=2>; rel="next", <https://x/p>; rel=prev')
    put("registry", "errors", json.dumps({"errors": [
        {"code": "MANIFEST_BLOB_UNKNOWN", "message": "blob unknown to registry",
         "detail": "sha256:" + "0" * 64}]}))


def profiles():
    for name in sorted(os.listdir(os.path.join(REPO, "profiles"))):
        if name.endswith(".yaml"):
            with open(os.path.join(REPO, "profiles", name), "rb") as f:
                put("profile", name, f.read())
    put("profile", "extends",
        "extends: base.yaml\nname: child\npackages:\n  include: [vim, 'less']\n  exclude: []\n"
        "users:\n  - name: user\n    groups: [sudo]\n" + CUT.decode() +
        "name: base\ndistribution: debian\nsuite: bookworm\narch: amd64\nrepositories:\n"
        "  - type: deb\n    mirror: http://deb.debian.org/debian\n    components: [main]\n"
        "output:\n  formats: [tar]\n")
    put("profile", "anchors", "a: &x {b: [1, 2, {c: d}]}\ne: *x\nf: !!str 3\ng: |\n  text\n  more\n"
        "h: \"quoted \\u00e9\"\n? complex\n: value\n")


# ---- ISO images (xorriso; skipped without it) ------------------------------------------------
def isos():
    import subprocess
    import tempfile
    if not shutil.which("xorriso"):
        print("make_corpus: xorriso missing, no iso_read seeds")
        return
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "src")
        for d in ["isolinux", "EFI/BOOT", "a/b", "live", ".disk", "loop"]:
            os.makedirs(os.path.join(src, d))
        files = {"isolinux/isolinux.bin": b"\xfa" * 2048, "isolinux/isolinux.cfg": b"default x\n",
                 "EFI/BOOT/grub.cfg": b"menuentry x {}\n", ".disk/info": b"Debian\n",
                 "a/b/file": b"hello\n", "a/xx": b"dots\n", "a/abc": b"slash\n"}
        files["SHA256SUMS"] = ("%s  ./a/b/file\n" % hashlib.sha256(b"hello\n").hexdigest()).encode()
        for name, data in files.items():
            with open(os.path.join(src, name), "wb") as f:
                f.write(data)
        os.chmod(os.path.join(src, "a/b/file"), 0o640)
        os.symlink("b/file", os.path.join(src, "a/link"))
        os.symlink("../../../..", os.path.join(src, "a/up"))
        os.symlink("/proc/self/cwd/..", os.path.join(src, "a/cwd"))
        with open(os.path.join(tmp, "esp.img"), "wb") as f:
            f.write(b"\xeb\x3c\x90" + bytes(32 * 1024 - 3))
        for d, dirs, names in os.walk(src):  # symlinks to directories are among `dirs`
            for n in dirs + names + [d]:
                os.utime(os.path.join(d, n), (MTIME, MTIME), follow_symlinks=False)

        def make(name, *extra):
            out = os.path.join(tmp, name)
            subprocess.run(["xorriso", "-as", "mkisofs", "-R", "-no-pad", "-V", "SEED", "-o", out,
                            "--set_all_file_dates", "set_to_mtime",
                            "-b", "isolinux/isolinux.bin", "-c", "isolinux/boot.cat",
                            "-no-emul-boot", "-boot-load-size", "4", *extra, src], check=True,
                           capture_output=True, env=dict(os.environ, SOURCE_DATE_EPOCH=str(MTIME)))
            with open(out, "rb") as f:
                return f.read()

        def reports(name):  # iso_replay's seed: the El Torito and system area reports
            def report(what):
                r = subprocess.run(["xorriso", "-indev", os.path.join(tmp, name), "-report_" + what,
                                    "plain"], check=True, capture_output=True)
                return b"".join(l + b"\n" for l in r.stdout.splitlines()
                                if not l.startswith((b"Drive", b"Media", b"Boot record")))
            put("iso_replay", name.replace(".iso", ".txt"),
                report("el_torito") + CUT[1:] + report("system_area"))

        plain = make("plain.iso")
        put("iso_read", "plain.iso", plain)
        put("iso_read", "hybrid-gpt.iso", make(
            "hybrid.iso", "-isohybrid-mbr", "/usr/lib/ISOLINUX/isohdpfx.bin", "-eltorito-alt-boot",
            "-e", "--interval:appended_partition_2:all::", "-no-emul-boot", "-isohybrid-gpt-basdat",
            "-partition_cyl_align", "off",
            "-append_partition", "2", "0xef", os.path.join(tmp, "esp.img")))
        # live-build's: a partition offset, the UEFI image in the GPT and the APM.
        put("iso_read", "hybrid-apm.iso", make(
            "apm.iso", "-isohybrid-mbr", "/usr/lib/ISOLINUX/isohdpfx.bin", "-partition_offset", "16",
            "-eltorito-alt-boot", "-e", "EFI/BOOT/grub.cfg", "-no-emul-boot",
            "-isohybrid-gpt-basdat", "-isohybrid-apm-hfsplus", "-partition_cyl_align", "off"))
        for name in ["plain.iso", "hybrid.iso", "apm.iso"]:
            reports(name)
        # Hostile names: the Rock Ridge NM entries of a/xx and a/abc rewritten.
        put("iso_read", "dotdot-and-slash.iso",
            plain.replace(b"NM\x07\x01\x00xx", b"NM\x07\x01\x00..", 1)
                 .replace(b"NM\x08\x01\x00abc", b"NM\x08\x01\x00a/c", 1))
        # An implanted isomd5sum, as implantisomd5 writes it (key=value list in the PVD).
        app = b"ISO MD5SUM = " + hashlib.md5(b"x").hexdigest().encode() + b";SKIPSECTORS = 15;"
        at = 16 * 2048 + 883
        put("iso_read", "md5-implant.iso", plain[:at] + app + plain[at + len(app):])


if __name__ == "__main__":
    shutil.rmtree(CORPUS, ignore_errors=True)
    lower, upper = archives()
    oci(lower, upper)
    text_targets()
    profiles()
    isos()
