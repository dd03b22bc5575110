#!/usr/bin/env python3
"""Benchmarks of meshops.istio, side by side in one run, on the lab (or MESHOPS_KUBECONFIG's cluster).

Every scenario (bench/scenarios/) times, in the same run: our module (first apply and no-op rerun),
kubernetes.core.k8s with the list, a kubernetes.core.k8s loop on a sample (scaled), the raw API floors
(server-side apply from this one Python process, serial and threaded), the raw no-op floor (one list per kind
and namespace) and the fixed cost of an ansible-playbook run (no task; one ping task). It prints a table per
scenario with ratios against the serial floor and the goals, and writes everything as JSON to
bench/results/<UTC time>-<host>.json.

  .venv/bin/python bench/run.py                      policy, traffic, install, onboard (make bench)
  .venv/bin/python bench/run.py --only policy        one scenario (policy traffic install onboard demo)
  .venv/bin/python bench/run.py --markdown FILE      print the tables of a results file as Markdown

Speed is measured here, never asserted by tests. Other work on the machine shows in the numbers: the load
averages before and after are recorded with them.
"""

from __future__ import absolute_import, division, print_function

import argparse
import collections
import datetime
import importlib
import json
import os
import sys
import time

from common import ROOT, Context, load, machine
from scenarios import DEFAULT, SCENARIOS, fixed_cost

RESULTS = os.path.join(ROOT, "bench", "results")


def options(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated scenarios: " + " ".join(SCENARIOS))
    parser.add_argument("--objects", type=int, default=300, help="objects of the policy and traffic scenarios")
    parser.add_argument("--namespaces", type=int, default=10, help="namespaces of the policy scenario")
    parser.add_argument("--threads", type=int, default=8, help="threads of the parallel raw floor")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of the policy and traffic ways (medians are reported; the loop runs once)")
    parser.add_argument("--loop-sample", type=int, default=30,
                        help="objects the kubernetes.core.k8s loop applies (scaled to all; 0 leaves it out)")
    parser.add_argument("--onboard-namespaces", type=int, default=50)
    parser.add_argument("--onboard-deployments", type=int, default=10)
    parser.add_argument("--onboard-limits", default="500,5",
                        help="max_concurrent_restarts values, comma-separated (each onboards afresh)")
    parser.add_argument("--keep", action="store_true", help="keep the namespaces made")
    parser.add_argument("--no-save", action="store_true", help="print only, write no results file")
    parser.add_argument("--markdown", metavar="FILE", help="print the tables of a results file as Markdown")
    opts = parser.parse_args(argv)
    opts.onboard_limits = [int(x) for x in opts.onboard_limits.split(",") if x.strip()]
    return opts


def ratio(seconds, base):
    return "{0:.2f}x".format(seconds / base) if base else "-"


def table(name, result):
    """Plain-text lines of one scenario."""
    rows = result["rows"]
    floor = next((r["seconds"] for r in rows if r["kind"] == "floor"), None)
    width = max(len(r["what"]) for r in rows) + 2
    lines = ["{0}: {1}".format(name, result.get("description", "")),
             "  {0:<{w}}{1:>10}{2:>12}".format("what", "seconds", "vs floor", w=width)]
    for r in rows:
        lines.append("  {0:<{w}}{1:>10.2f}{2:>12}".format(r["what"], r["seconds"], ratio(r["seconds"], floor),
                                                         w=width))
    for g in result.get("goals", []):
        lines.append("  goal {0}: {1:.2f}s against {2} = {3:.2f}s: {4:.2f} of it, {5}".format(
            g["goal"], g["seconds"], g["formula"], g["limit"], g["ratio"], "met" if g["met"] else "NOT met"))
    lines += ["  note: " + n for n in result.get("notes", [])]
    return lines


def markdown(data):
    out = ["Measured {0} on {1} ({2} CPUs, {3}; {4} GiB), load averages {5} before and {6} after.".format(
        data["started"][:16].replace("T", " ") + " UTC", data["machine"].get("host"), data["machine"].get("cpus"),
        data["machine"].get("cpu"), data["machine"].get("memory_gib"), data["load_before"], data["load_after"]), ""]
    for name, result in data["scenarios"].items():
        rows = result["rows"]
        floor = next((r["seconds"] for r in rows if r["kind"] == "floor"), None)
        out += ["**{0}** ({1})".format(name, result.get("description", "")), "",
                "| what | seconds | against the floor |", "|---|---|---|"]
        out += ["| {0} | {1:.2f} | {2} |".format(r["what"], r["seconds"], ratio(r["seconds"], floor)) for r in rows]
        for g in result.get("goals", []):
            out.append("")
            out.append("Goal, {0}: {1:.2f} s against {2} = {3:.2f} s: **{4:.2f}** ({5}).".format(
                g["goal"], g["seconds"], g["formula"], g["limit"], g["ratio"], "met" if g["met"] else "not met"))
        out.append("")
    return "\n".join(out)


def main(argv=None):
    opts = options(argv)
    if opts.markdown:
        with open(opts.markdown) as handle:
            print(markdown(json.load(handle, object_pairs_hook=collections.OrderedDict)))
        return
    names = [n.strip() for n in opts.only.split(",")] if opts.only else list(DEFAULT)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        sys.exit("unknown scenario(s): {0}; known: {1}".format(", ".join(unknown), " ".join(SCENARIOS)))
    ctx = Context(keep=opts.keep)
    data = collections.OrderedDict([
        ("started", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("machine", machine()), ("load_before", load()),
        ("options", dict((k, v) for k, v in vars(opts).items() if k not in ("markdown",))),
        ("scenarios", collections.OrderedDict())])
    start = time.monotonic()
    try:
        if any(n != "demo" for n in names):
            ctx.fixed = fixed_cost(ctx, rounds=max(3, opts.rounds))
        for name in names:
            began, load_at = time.monotonic(), load()
            result = importlib.import_module("scenarios." + name).run(ctx, opts)
            result["load_at_start"] = load_at
            result["elapsed"] = round(time.monotonic() - began, 1)
            data["scenarios"][name] = result
            print("\n".join(table(name, result)) + "\n", flush=True)
    finally:
        ctx.cleanup()
    data["load_after"] = load()
    data["elapsed"] = round(time.monotonic() - start, 1)
    print("load averages: {0} before, {1} after; {2:.0f}s in all".format(data["load_before"], data["load_after"],
                                                                       data["elapsed"]))
    if not opts.no_save:
        os.makedirs(RESULTS, exist_ok=True)
        stamp = data["started"][:19].replace(":", "").replace("-", "")
        path = os.path.join(RESULTS, "{0}-{1}.json".format(stamp, data["machine"].get("host") or "host"))
        with open(path, "w") as handle:
            json.dump(data, handle, indent=1)
            handle.write("\n")
        print("results: {0}".format(os.path.relpath(path, ROOT)))


if __name__ == "__main__":
    main()
