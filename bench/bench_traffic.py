#!/usr/bin/env python3
"""Benchmark: 300 traffic objects (100 hosts x DestinationRule + VirtualService + rate limit) on the lab.

Times, each into a fresh namespace and each followed by a rerun that must change nothing:

  mesh_traffic   one meshops.istio.mesh_traffic task with the 100 hosts' rules, routes and rate limits
                 (validated, every object dry-run, then written)
  k8s_list       one kubernetes.core.k8s task with the same 300 objects as a list of definitions
  k8s_loop       one kubernetes.core.k8s task per object (a loop of 300)

and prints the times. The EnvoyFilters given to kubernetes.core.k8s are the ones mesh_traffic builds (its
ratelimit module), so all three write the same objects. The namespaces are deleted at the end (unless --keep).

Run: .venv/bin/python bench/bench_traffic.py [--hosts 100] [--skip-loop]
Speed is measured here, never asserted by tests.
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

from labenv import ansible_env  # bench/ is on sys.path

PLAYS = {
    "mesh_traffic": """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: mesh_traffic
      meshops.istio.mesh_traffic:
        owner: "{{ owner }}"
        destination_rules: "{{ destination_rules }}"
        virtual_services: "{{ virtual_services }}"
        rate_limits: "{{ rate_limits }}"
""",
    "k8s_list": """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: k8s with a list
      kubernetes.core.k8s:
        definition: "{{ objects }}"
        apply: true
""",
    "k8s_loop": """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: k8s per object
      kubernetes.core.k8s:
        definition: "{{ item }}"
        apply: true
      loop: "{{ objects }}"
""",
}


def kubectl(env, *args, check=True):
    proc = subprocess.run(["kubectl"] + list(args), env=env, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        sys.exit("kubectl {0} failed: {1}".format(" ".join(args), proc.stderr[-2000:]))
    return proc.stdout


def variables(ns, hosts):
    """mesh_traffic's options for ``hosts`` services in ``ns``, and the objects it writes (for k8s)."""
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(env_collections()))))
    from ansible_collections.meshops.istio.plugins.module_utils import ratelimit
    out = {"owner": ns, "destination_rules": [], "virtual_services": [], "rate_limits": [], "objects": []}
    for i in range(hosts):
        svc = "svc{0}".format(i)
        dr = {"name": svc, "namespace": ns, "spec": {
            "host": svc, "trafficPolicy": {"connectionPool": {"tcp": {"maxConnections": 100}},
                                           "outlierDetection": {"consecutive5xxErrors": 5, "interval": "30s"}},
            "subsets": [{"name": "v1", "labels": {"version": "v1"}}, {"name": "v2", "labels": {"version": "v2"}}]}}
        vs = {"name": svc, "namespace": ns, "spec": {"hosts": [svc], "http": [{
            "route": [{"destination": {"host": svc, "subset": "v1"}, "weight": 90},
                      {"destination": {"host": svc, "subset": "v2"}, "weight": 10}],
            "timeout": "10s", "retries": {"attempts": 3, "perTryTimeout": "3s", "retryOn": "connect-failure"}}]}}
        rl = {"name": svc + "-rate-limit", "namespace": ns, "selector": {"app": svc}, "max_tokens": 100,
              "tokens_per_fill": 100, "fill_interval": "60s", "context": "SIDECAR_INBOUND"}
        out["destination_rules"].append(dr)
        out["virtual_services"].append(vs)
        out["rate_limits"].append(rl)
        for kind, item in (("DestinationRule", dr), ("VirtualService", vs)):
            out["objects"].append({"apiVersion": "networking.istio.io/v1", "kind": kind,
                                   "metadata": {"name": item["name"], "namespace": ns}, "spec": item["spec"]})
        out["objects"].append(ratelimit.envoy_filter(rl))
    return out


_COLLECTIONS = {}


def env_collections():
    return _COLLECTIONS["path"]


def playbook(env, what, extra):
    with tempfile.TemporaryDirectory() as tmp:
        play, data = os.path.join(tmp, "play.yml"), os.path.join(tmp, "vars.json")
        with open(play, "w") as handle:
            handle.write(PLAYS[what])
        with open(data, "w") as handle:
            json.dump(extra, handle)
        binary = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
        start = time.monotonic()
        proc = subprocess.run([binary, play, "-i", "localhost,", "-c", "local", "-e", "@" + data], env=env,
                              capture_output=True, text=True, check=False)
        elapsed = time.monotonic() - start
    try:
        out = json.loads(proc.stdout)
    except ValueError:
        sys.exit("{0} printed no JSON:\n{1}\n{2}".format(what, proc.stdout[-3000:], proc.stderr[-3000:]))
    stats = out["stats"]["localhost"]
    if proc.returncode != 0 or stats.get("failures"):
        result = out["plays"][0]["tasks"][-1]["hosts"]["localhost"]
        msgs = [r.get("msg") for r in result.get("results", [result]) if r.get("failed")]
        sys.exit("{0} failed (rc {1}, {2}): {3}".format(what, proc.returncode, json.dumps(stats), msgs[:3]))
    return elapsed, stats.get("changed", 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--skip-loop", action="store_true", help="leave out the loop of one task per object")
    parser.add_argument("--only", choices=("mesh_traffic", "k8s_list", "k8s_loop"), help="time one way only")
    parser.add_argument("--keep", action="store_true", help="keep the namespaces afterwards")
    opts = parser.parse_args()

    env = ansible_env()
    _COLLECTIONS["path"] = env["ANSIBLE_COLLECTIONS_PATH"] + "/ansible_collections/meshops/istio"
    env["ANSIBLE_DEPRECATION_WARNINGS"] = "False"
    run = uuid.uuid4().hex[:6]
    ways = [w for w in ("mesh_traffic", "k8s_list", "k8s_loop") if not (opts.skip_loop and w == "k8s_loop")
            and opts.only in (None, w)]
    rows = []
    try:
        for what in ways:
            ns = "bench-trf-{0}-{1}".format(run, what.replace("_", "-"))
            kubectl(env, "create", "namespace", ns)
            kubectl(env, "label", "namespace", ns, "meshops-bench=" + run)
            extra = variables(ns, opts.hosts)
            first, changed = playbook(env, what, extra)
            again, rechanged = playbook(env, what, extra)
            if rechanged:
                sys.exit("{0}: the rerun changed something".format(what))
            count = sum(len(json.loads(kubectl(env, "get", kind, "-n", ns, "-o", "json"))["items"]) for kind in (
                "destinationrules.networking.istio.io", "virtualservices.networking.istio.io",
                "envoyfilters.networking.istio.io"))
            if count != 3 * opts.hosts:
                sys.exit("{0}: {1} objects in {2}, expected {3}".format(what, count, ns, 3 * opts.hosts))
            rows.append((what, first, again, changed))
        print("{0} objects ({1} hosts x DestinationRule + VirtualService + rate limit)".format(
            3 * opts.hosts, opts.hosts))
        print("{0:<14}{1:>12}{2:>12}{3:>16}".format("", "apply (s)", "rerun (s)", "ms per object"))
        for what, first, again, dummy in rows:
            print("{0:<14}{1:>12.2f}{2:>12.2f}{3:>16.1f}".format(what, first, again, 1000.0 * first / (3 * opts.hosts)))
    finally:
        if not opts.keep:
            kubectl(env, "delete", "namespace", "-l", "meshops-bench=" + run, "--wait=false", check=False)


if __name__ == "__main__":
    main()
