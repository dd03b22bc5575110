#!/usr/bin/env python3
"""Benchmark: a canary rollout's wall time against the sum of its configured pauses and analyses (goal: at most 5%).

On the lab's data plane (echo stable and canary, a load client at 50 calls/s, Prometheus scraping every second),
mesh_traffic writes the DestinationRule and VirtualService, then one meshops.istio.canary_shift task promotes the
canary in --steps equal steps of --pause seconds each:

  analysis   every step analysed on the lab's Prometheus (3 PromQL queries per step, all passing)
  no-analysis the same steps without analysis (the writes and pauses alone)

For each it prints the configured time (the pauses, plus an interval for every measurement that was repeated: a
passing analysis is one measurement, so passing analyses add no configured time), the module's own time (duration_s: from its start to its return), the whole ansible-playbook
run, and the overheads over the configured time; then a rerun of the promoted release (it must change nothing).
The data plane is stopped and its namespace removed at the end (unless --keep).

Run: .venv/bin/python bench/bench_canary.py [--steps 5] [--pause 10]
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

from labenv import ROOT, ansible_env  # bench/ is on sys.path

LAB_SH = os.path.join(ROOT, "lab", "lab.sh")
SPEC = {"services": [{"name": "echo", "versions": [{"name": "stable"}, {"name": "canary"}]}],
        "clients": [{"name": "loadgen", "load": {"service": "echo", "rate": 50}}]}


def run(env, *argv):
    proc = subprocess.run(list(argv), env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit("{0} failed: {1}{2}".format(" ".join(argv[:4]), proc.stdout[-2000:], proc.stderr[-2000:]))
    return proc.stdout


def playbook(env, module, args):
    """One task of ``module``; returns (wall seconds, its result)."""
    with tempfile.TemporaryDirectory() as tmp:
        play = os.path.join(tmp, "play.json")
        with open(play, "w") as handle:
            json.dump([{"hosts": "localhost", "gather_facts": False, "tasks": [{"name": "t", module: args}]}], handle)
        binary = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
        start = time.monotonic()
        proc = subprocess.run([binary, play, "-i", "localhost,", "-c", "local"], env=env, capture_output=True,
                              text=True, check=False)
        wall = time.monotonic() - start
    try:
        result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        sys.exit("{0} printed no result:\n{1}\n{2}".format(module, proc.stdout[-3000:], proc.stderr[-3000:]))
    if result.get("failed"):
        sys.exit("{0} failed: {1}".format(module, result.get("msg")))
    return wall, result


def traffic(ns, service="echo"):
    host = "{0}.{1}.svc.cluster.local".format(service, ns)
    return {"owner": ns, "destination_rules": [{"name": service, "namespace": ns, "spec": {
        "host": host, "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}},
        "subsets": [{"name": "stable", "labels": {"version": "stable"}},
                    {"name": "canary", "labels": {"version": "canary"}}]}}],
        "virtual_services": [{"name": service, "namespace": ns, "spec": {"hosts": [host], "http": [
            {"name": "primary", "route": [{"destination": {"host": host, "subset": "stable"}}]}]}}]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--pause", type=float, default=10.0, help="seconds per step")
    parser.add_argument("--keep", action="store_true", help="keep the data plane afterwards")
    opts = parser.parse_args()

    env = ansible_env()
    env["ANSIBLE_DEPRECATION_WARNINGS"] = "False"
    ns = "bcn-{0}".format(uuid.uuid4().hex[:6])  # short: the agents' unix socket paths have a limit
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(SPEC, handle)
    run(env, LAB_SH, "dataplane", "up", ns, "--spec", handle.name)
    os.remove(handle.name)
    weights = [int(round(100.0 * (i + 1) / opts.steps)) for i in range(opts.steps)]
    rows = []
    try:
        for variant in ("analysis", "no-analysis"):
            run(env, "kubectl", "delete", "virtualservice,destinationrule", "echo", "-n", ns, "--ignore-not-found")
            playbook(env, "meshops.istio.mesh_traffic", traffic(ns))
            time.sleep(3)  # the load reaches stable, and Prometheus has a few scrapes of it
            args = {"namespace": ns, "virtual_service": "echo", "prometheus_url": env["LAB_PROMETHEUS_URL"],
                    "steps": [{"weight": w, "pause": opts.pause, "analysis": variant == "analysis"} for w in weights],
                    "analysis": {"window": min(5, opts.pause), "interval": 1, "min_requests": 5}}
            wall, result = playbook(env, "meshops.istio.canary_shift", args)
            if result["phase"] != "promoted":
                sys.exit("{0}: phase {1}: {2}".format(variant, result["phase"], result.get("message")))
            again_wall, again = playbook(env, "meshops.istio.canary_shift", args)
            if again["changed"]:
                sys.exit("{0}: the rerun of the promoted release changed something".format(variant))
            calls = result["api_calls"]
            # a measurement that failed or had no data is repeated after the interval: configured time too
            repeats = max(0, len(result["timeline"]) - opts.steps) if variant == "analysis" else 0
            rows.append((variant, opts.steps * opts.pause + repeats * 1.0, result["duration_s"], wall, again_wall,
                         sum(v for k, v in calls.items() if k != "discovery"), result["timeline"]))
        print("{0} steps of {1:g} s ({2}), data plane at 50 calls/s".format(
            opts.steps, opts.pause, "/".join(str(w) for w in weights)))
        print("{0:<13}{1:>12}{2:>12}{3:>10}{4:>12}{5:>10}{6:>11}{7:>10}".format(
            "", "configured", "module (s)", "over", "playbook", "over", "rerun (s)", "API calls"))
        for variant, configured, module, wall, again_wall, calls, timeline in rows:
            print("{0:<13}{1:>12.1f}{2:>12.2f}{3:>9.1f}%{4:>12.2f}{5:>9.1f}%{6:>11.2f}{7:>10}".format(
                variant, configured, module, 100.0 * (module - configured) / configured, wall,
                100.0 * (wall - configured) / configured, again_wall, calls))
        for entry in rows[0][6]:
            print("  analysis of step {step} at {at}: {result} ({requests} requests, success {success_rate}, "
                  "p99 {p99_ms} ms){0}".format(" " + entry["reason"] if entry.get("reason") else "", **entry))
    finally:
        if not opts.keep:
            subprocess.run([LAB_SH, "dataplane", "down", ns], env=env, capture_output=True, check=False)


if __name__ == "__main__":
    main()
