# -*- coding: utf-8 -*-
"""Onboarding N namespaces x M Deployments through mesh_onboard, beside kwok replacing the same pods after plain
`kubectl rollout restart` calls issued all at once (what bench_onboard.py measured before, plus that floor).

The Deployments are made before injection is enabled; the floor restarts them all at once (one kubectl per
namespace, all started together) and waits until every one is rolled out; mesh_onboard then labels the
namespaces and restarts every Deployment (now getting the sidecar), at most max_concurrent_restarts at once,
for each value given; a rerun must change nothing."""

from __future__ import absolute_import, division, print_function

import json
import subprocess
import time

from scenarios import row

NAME = "onboard"
TASK = """    - name: mesh_onboard
      meshops.istio.mesh_onboard:
        namespace_selector: "{{ selector }}"
        mtls_mode: PERMISSIVE
        max_concurrent_restarts: "{{ limit }}"
        wait_timeout: 900
"""


def manifest(names, deployments):
    items = []
    for ns in names:
        for i in range(deployments):
            app = "app{0}".format(i)
            items.append({
                "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": app, "namespace": ns},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": app}},
                         "template": {"metadata": {"labels": {"app": app}},
                                      "spec": {"containers": [{"name": app, "image": "example.invalid/app:1"}]}}}})
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": items})


def rolled_out(ctx, names, timeout=1200):
    """Seconds until every Deployment of ``names`` is rolled out (one cluster-wide list per look)."""
    wanted = set(names)
    res = ctx.raw.resource("apps/v1", "Deployment")
    start = time.monotonic()
    while True:
        items = ctx.raw.client.get(res, serializer=lambda c, data: data)["items"]
        mine = [d for d in items if d["metadata"]["namespace"] in wanted]
        done = [d for d in mine if d.get("status", {}).get("observedGeneration", 0) >= d["metadata"]["generation"]
                and all(d.get("status", {}).get(k, 0) == d["spec"]["replicas"]
                        for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas"))]
        if mine and len(done) == len(mine):
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise SystemExit("the Deployments did not roll out within {0}s ({1} of {2})".format(
                timeout, len(done), len(mine)))
        time.sleep(0.25)


def restart_all(ctx, names):
    """`kubectl rollout restart deployment -n NS` (all of its Deployments) for every namespace, all started at
    once; seconds until every Deployment is rolled out."""
    start = time.monotonic()
    procs = [subprocess.Popen(["kubectl", "rollout", "restart", "deployment", "-n", ns], env=ctx.env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for ns in names]
    for proc in procs:
        if proc.wait() != 0:
            raise SystemExit("kubectl rollout restart failed: {0}".format(proc.stderr.read()[-500:]))
    issued = time.monotonic() - start
    rolled_out(ctx, names)
    return time.monotonic() - start, issued


def run(ctx, opts):
    names = ctx.make_namespaces("onb", opts.onboard_namespaces)
    selector = "meshops-bench={0}".format(ctx.run_id)
    total = opts.onboard_namespaces * opts.onboard_deployments
    rows, notes = [], []
    start = time.monotonic()
    ctx.kubectl("apply", "-f", "-", data=manifest(names, opts.onboard_deployments))
    rolled_out(ctx, names)
    notes.append("setup: {0} namespaces x {1} Deployments (1 pod each) rolled out in {2:.1f}s".format(
        opts.onboard_namespaces, opts.onboard_deployments, time.monotonic() - start))
    floor, issued = restart_all(ctx, names)
    rows.append(row("kubectl rollout restart of all {0} Deployments at once, until rolled out (the floor)".format(
        total), floor, "floor", issued=round(issued, 3)))
    for n, limit in enumerate(opts.onboard_limits):
        if n:  # back to pods without the sidecar: unlabel, restart, wait
            ctx.kubectl("label", "namespace", "-l", selector, "istio-injection-")
            restart_all(ctx, names)
        first, dummy, result = ctx.playbook(TASK, {"selector": selector, "limit": limit}, name="onboard-%d" % limit)
        if len(result.get("restarted") or []) != total:
            raise SystemExit("mesh_onboard restarted {0} of {1}".format(len(result.get("restarted") or []), total))
        rows.append(row("mesh_onboard, max_concurrent_restarts {0}: label, restart, verify".format(limit), first,
                        "ours", api_calls=result.get("api_calls")))
        if n == 0:
            again, stats, result2 = ctx.playbook(TASK, {"selector": selector, "limit": limit}, name="onboard-rerun")
            if stats.get("changed"):
                raise SystemExit("mesh_onboard: the rerun changed something")
            rows.append(row("mesh_onboard, no-op rerun", again, "ours", api_calls=result2.get("api_calls")))
    return {"objects": total, "rows": rows, "goals": [], "notes": notes,
            "description": "onboarding {0} namespaces x {1} Deployments".format(opts.onboard_namespaces,
                                                                               opts.onboard_deployments)}
