#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The pod that a Kubernetes Indexed Job would start, as a Pod for `podman kube play`.

  kube_pod.py JOB.yaml [--patch PATCH.yaml] --index N --image IMAGE
              [--env NAME=VALUE]... [--volume NAME=HOSTDIR]... [--args CMD] [--no-resources] [--name POD]

Takes the Job's pod template as it is (command, env, securityContext, volume mounts) and does
what the Job controller and kubelet would:
  - JOB_COMPLETION_INDEX=N in every container's environment (the Indexed Job's contract);
  - --no-resources drops the containers' requests and limits: rootless podman cannot set them
    without a cgroup v2 tree delegated to the user;
  - --patch applies an RFC 6902 JSON patch (add/replace/remove) to the Job first, as kustomize
    does with deploy/kubernetes/range;
  - --image replaces the image, --env sets or adds environment variables, --args replaces the
    containers' args (the command their "sh -c" runs);
  - --volume gives a volume of the template a host directory (hostPath) instead of its
    persistentVolumeClaim, secret or emptyDir: the test's stand-in for the cluster's storage.
What podman 4.3's kube play ignores is translated or checked here, so the pod runs as the
template says or this script fails:
  - securityContext.seccompProfile Unconfined -> the annotation podman reads;
  - procMount Unmasked -> the annotation "imager.test/procMount: Unmasked", which the test's
    OCI runtime wrapper (tests/lib/oci_runtime_unmask) turns into a spec without masked and
    read-only /proc paths, as a CRI runtime does for Unmasked;
  - runAsNonRoot: checked against runAsUser; hostUsers: false is what rootless podman always
    does (the pod runs in the user's namespace).
Needs python3-yaml.
"""
import argparse
import copy
import sys

import yaml


def die(msg):
    sys.exit("kube_pod.py: " + msg)


def pointer(doc, path):
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]
    parent = doc
    for p in parts[:-1]:
        parent = parent[int(p)] if isinstance(parent, list) else parent[p]
    return parent, parts[-1]


def apply_patch(doc, ops):
    for op in ops:
        parent, key = pointer(doc, op["path"])
        if isinstance(parent, list):
            key = len(parent) if key == "-" else int(key)
        if op["op"] == "remove":
            del parent[key]
        elif op["op"] == "replace":
            if isinstance(parent, dict) and key not in parent:
                die("patch replaces %s, which the Job does not have" % op["path"])
            parent[key] = op["value"]
        elif op["op"] == "add":
            if isinstance(parent, list):
                parent.insert(key, op["value"])
            else:
                parent[key] = op["value"]
        else:
            die("patch op %s is not supported" % op["op"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("job")
    ap.add_argument("--patch")
    ap.add_argument("--index", type=int, required=True)
    ap.add_argument("--image", required=True)
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--volume", action="append", default=[])
    ap.add_argument("--name", default="imager-build")
    ap.add_argument("--no-resources", action="store_true",
                    help="drops the containers' resources (rootless podman without cgroup v2 "
                    "delegation cannot set limits)")
    ap.add_argument("--args", help="replaces the containers' args (a command for their sh -c)")
    a = ap.parse_args()

    with open(a.job) as f:
        job = yaml.safe_load(f)
    if a.patch:
        with open(a.patch) as f:
            apply_patch(job, yaml.safe_load(f))
    if job.get("kind") != "Job" or job["spec"].get("completionMode") != "Indexed":
        die("%s is not an Indexed Job" % a.job)
    if not 0 <= a.index < job["spec"]["completions"]:
        die("index %d is outside the Job's %d completions" % (a.index, job["spec"]["completions"]))

    template = copy.deepcopy(job["spec"]["template"])
    spec = template["spec"]
    annotations = dict(template.get("metadata", {}).get("annotations", {}))
    psc = spec.get("securityContext", {})
    if psc.pop("seccompProfile", {}).get("type") == "Unconfined":
        annotations["seccomp.security.alpha.kubernetes.io/pod"] = "unconfined"
    if psc.get("runAsNonRoot") and psc.get("runAsUser", 0) == 0:
        die("runAsNonRoot without a non-zero runAsUser")
    if spec.pop("hostUsers", True) is not False:
        print("kube_pod.py: note: the template runs in the node's user namespace", file=sys.stderr)

    env_over = dict(e.split("=", 1) for e in a.env)
    for c in spec["containers"]:
        c["image"] = a.image
        if a.no_resources:
            c.pop("resources", None)
        if a.args is not None:
            c["args"] = [a.args]
        sc = c.get("securityContext", {})
        if sc.pop("procMount", "Default") == "Unmasked":
            annotations["imager.test/procMount"] = "Unmasked"
        if sc.pop("seccompProfile", {}).get("type") == "Unconfined":
            annotations["seccomp.security.alpha.kubernetes.io/pod"] = "unconfined"
        if "runAsUser" not in sc and "runAsUser" in psc:
            sc["runAsUser"] = psc["runAsUser"]
        if "runAsGroup" not in sc and "runAsGroup" in psc:
            sc["runAsGroup"] = psc["runAsGroup"]
        env = [e for e in c.get("env", []) if e["name"] not in env_over and
               e["name"] != "JOB_COMPLETION_INDEX"]
        env += [{"name": k, "value": v} for k, v in env_over.items()]
        env.append({"name": "JOB_COMPLETION_INDEX", "value": str(a.index)})
        c["env"] = env

    hostdirs = dict(v.split("=", 1) for v in a.volume)
    for v in spec.get("volumes", []):
        if v["name"] in hostdirs:
            for kind in ("persistentVolumeClaim", "secret", "configMap", "emptyDir"):
                v.pop(kind, None)
            v["hostPath"] = {"path": hostdirs.pop(v["name"]), "type": "Directory"}
        elif "emptyDir" not in v:
            die("volume %s needs --volume %s=HOSTDIR" % (v["name"], v["name"]))
    if hostdirs:
        die("the template has no volume " + ", ".join(sorted(hostdirs)))

    template.setdefault("metadata", {})
    template["metadata"].update({"name": a.name, "annotations": annotations})
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": template["metadata"], "spec": spec}
    yaml.safe_dump(pod, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
