#!/usr/bin/env python3
"""Benchmark: meshops.istio.mesh_onboard onboarding N namespaces x M Deployments on the lab.

Creates N namespaces (labelled meshops-bench=<run id>) with M Deployments each, before injection is
enabled, waits for them to roll out, then times:

  onboard     mesh_onboard namespace_selector=meshops-bench=<run id>, mtls_mode PERMISSIVE: labels
              the namespaces and restarts every Deployment (at most --max-concurrent at once)
  rerun       the same task again: must change nothing

and prints the time and the API calls, in all and per namespace. The namespaces are deleted at the
end (unless --keep).

Run: .venv/bin/python bench/bench_onboard.py [--namespaces 50] [--deployments 10] [--replicas 1]
     [--max-concurrent 10]
Speed is measured here, never asserted by tests.
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import subprocess
import sys
import time
import uuid

from labenv import ansible_env  # bench/ is on sys.path



def kubectl(env, *args, data=None, check=True):
    proc = subprocess.run(["kubectl"] + list(args), env=env, input=data, capture_output=True, text=True,
                          check=False)
    if check and proc.returncode != 0:
        sys.exit("kubectl {0} failed: {1}".format(" ".join(args), proc.stderr[-2000:]))
    return proc.stdout


def manifest(names, deployments, replicas, label):
    items = []
    for ns in names:
        items.append({"apiVersion": "v1", "kind": "Namespace",
                      "metadata": {"name": ns, "labels": {"meshops-bench": label}}})
        for i in range(deployments):
            app = "app{0}".format(i)
            items.append({
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": app, "namespace": ns},
                "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}},
                         "template": {"metadata": {"labels": {"app": app}},
                                      "spec": {"containers": [{"name": app, "image": "example.invalid/app:1"}]}}}})
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items})


def wait_rolled_out(env, label, expected, timeout=600):
    deadline = time.monotonic() + timeout
    while True:
        items = json.loads(kubectl(env, "get", "deployments", "-A", "-o", "json"))["items"]
        mine = [d for d in items if d["metadata"]["namespace"].startswith("bench-onb-" + label)]
        ready = [d for d in mine if d.get("status", {}).get("readyReplicas", 0) == d["spec"]["replicas"]
                 and d.get("status", {}).get("updatedReplicas", 0) == d["spec"]["replicas"]]
        if len(mine) == expected and len(ready) == expected:
            return
        if time.monotonic() > deadline:
            sys.exit("the benchmark's Deployments did not roll out within {0}s ({1} of {2} ready)".format(
                timeout, len(ready), expected))
        time.sleep(1)


def run_module(env, args):
    start = time.monotonic()
    # ansible of the Python running the benchmark (the project's .venv)
    ansible = os.path.join(os.path.dirname(sys.executable), "ansible")
    proc = subprocess.run([ansible, "localhost", "-c", "local", "-m", "meshops.istio.mesh_onboard",
                           "-a", json.dumps(args)], env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    try:
        result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        sys.exit("mesh_onboard printed no result:\n{0}\n{1}".format(proc.stdout[-3000:], proc.stderr[-3000:]))
    if result.get("failed"):
        sys.exit("mesh_onboard failed: {0}".format(result.get("msg")))
    return elapsed, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespaces", type=int, default=50)
    parser.add_argument("--deployments", type=int, default=10, help="Deployments per namespace")
    parser.add_argument("--replicas", type=int, default=1, help="pods per Deployment")
    parser.add_argument("--max-concurrent", type=int, default=10, help="max_concurrent_restarts")
    parser.add_argument("--keep", action="store_true", help="keep the namespaces afterwards")
    opts = parser.parse_args()

    env = ansible_env()
    env["ANSIBLE_DEPRECATION_WARNINGS"] = "False"
    label = uuid.uuid4().hex[:6]
    names = ["bench-onb-{0}-{1}".format(label, i) for i in range(opts.namespaces)]
    expected = opts.namespaces * opts.deployments
    args = {"namespace_selector": "meshops-bench=" + label, "mtls_mode": "PERMISSIVE",
            "max_concurrent_restarts": opts.max_concurrent, "wait_timeout": 600}
    try:
        start = time.monotonic()
        kubectl(env, "apply", "-f", "-", data=manifest(names, opts.deployments, opts.replicas, label))
        wait_rolled_out(env, label, expected)
        print("setup: {0} namespaces x {1} Deployments x {2} pods, rolled out in {3:.1f}s".format(
            opts.namespaces, opts.deployments, opts.replicas, time.monotonic() - start))

        onboard_s, onboard = run_module(env, args)
        rerun_s, rerun = run_module(env, args)
        if len(onboard["restarted"]) != expected:
            sys.exit("expected {0} restarts, got {1}".format(expected, len(onboard["restarted"])))
        if rerun["changed"] or rerun["restarted"]:
            sys.exit("the rerun changed something: {0}".format(rerun["objects"][:5]))

        print("max_concurrent_restarts: {0}".format(opts.max_concurrent))
        print("{0:<10}{1:>10}{2:>12}{3:>14}{4:>12}".format("", "time (s)", "API calls", "calls / ns", "restarts"))
        for what, elapsed, result in (("onboard", onboard_s, onboard), ("rerun", rerun_s, rerun)):
            calls = sum(result["api_calls"].values())
            print("{0:<10}{1:>10.2f}{2:>12}{3:>14.1f}{4:>12}".format(
                what, elapsed, calls, float(calls) / opts.namespaces, len(result["restarted"])))
        for what, result in (("onboard", onboard), ("rerun", rerun)):
            print("{0} API calls by verb: {1}".format(what, json.dumps(result["api_calls"], sort_keys=True)))
        print("onboard: {0:.3f}s per Deployment restarted".format(onboard_s / expected))
    finally:
        if not opts.keep:
            kubectl(env, "delete", "namespace", "-l", "meshops-bench=" + label, "--wait=true", "--timeout=300s",
                    check=False)


if __name__ == "__main__":
    main()
