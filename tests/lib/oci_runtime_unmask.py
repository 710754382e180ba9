#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""An OCI runtime for podman that does what a CRI runtime does for `procMount: Unmasked`.

  oci_runtime_unmask.py REAL_RUNTIME ARGS...

podman 4.3's kube play ignores securityContext.procMount (podman 4.7 reads it). For a container
whose spec carries the annotation "imager.test/procMount: Unmasked" (tests/lib/kube_pod.py adds
it where the pod template says procMount: Unmasked), `create` and `run` get a config.json with
no masked and no read-only paths; then, and for every other call, REAL_RUNTIME (runc or crun)
runs with the same arguments. A test wraps it in a one-line script for podman's --runtime.
"""
import json
import os
import sys


def bundle_of(args):
    for i, a in enumerate(args):
        if a in ("--bundle", "-b") and i + 1 < len(args):
            return args[i + 1]
        if a.startswith("--bundle="):
            return a.split("=", 1)[1]
    return None


def main():
    real, args = sys.argv[1], sys.argv[2:]
    bundle = bundle_of(args)
    if bundle and ("create" in args or "run" in args):
        path = os.path.join(bundle, "config.json")
        with open(path) as f:
            spec = json.load(f)
        if spec.get("annotations", {}).get("imager.test/procMount") == "Unmasked":
            spec["linux"]["maskedPaths"] = []
            spec["linux"]["readonlyPaths"] = []
            with open(path + ".tmp", "w") as f:
                json.dump(spec, f)
            os.replace(path + ".tmp", path)
    os.execv(real, [real] + args)


if __name__ == "__main__":
    main()
