# -*- coding: utf-8 -*-
"""An Istio revision install (istioctl's rendering of the default profile, no gateway) through istio_install,
beside kubernetes.core.k8s and the raw floors applying the same rendered manifest for other revisions (what
bench_install.py measured before). Every revision is removed before and after."""

from __future__ import absolute_import, division, print_function

import os
import subprocess

import yaml

from common import groups
from scenarios import goal, row

NAME = "install"
INSTALL = """    - name: istio_install
      meshops.istio.istio_install: "{{ install }}"
"""
# From a file: the rendered manifest holds Istio's injection templates ("{{ ... }}"), which Ansible would template.
K8S_SRC = """    - name: k8s with the rendered manifest
      kubernetes.core.k8s:
        src: "{{ manifest }}"
        server_side_apply: {field_manager: bench-k8s, force_conflicts: true}
"""
REVISIONS = {"ours": "bench-m", "k8s": "bench-k", "raw1": "bench-r", "raw8": "bench-s"}


def render(ctx, values, revision):
    path = os.path.join(ctx.tmp, "iop-{0}.yaml".format(revision))
    with open(path, "w") as handle:
        yaml.safe_dump({"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator",
                        "spec": {"profile": "default", "revision": revision, "values": values,
                                 "components": {"ingressGateways": [{"name": "istio-ingressgateway",
                                                                     "enabled": False}]}}}, handle)
    text = subprocess.run(["istioctl", "manifest", "generate", "-f", path], env=ctx.env, check=True,
                          capture_output=True, text=True).stdout
    return [d for d in yaml.safe_load_all(text) if d]


def remove_all(ctx):
    for revision in REVISIONS.values():
        ctx.playbook(INSTALL, {"install": {"state": "absent", "revision": revision, "ingress_gateway": False}},
                     name="remove-" + revision)


def run(ctx, opts):
    values = {}
    if ctx.env.get("LAB_ISTIO_VALUES"):
        with open(ctx.env["LAB_ISTIO_VALUES"]) as handle:
            values = yaml.safe_load(handle)
    remove_all(ctx)  # leftovers of an interrupted run would turn an install into a rerun
    rows = []
    try:
        objs = render(ctx, values, REVISIONS["raw1"])
        serial = ctx.raw.apply(objs, threads=1)
        rows.append(row("raw server-side apply, serial (the floor)", serial, "floor"))
        rows.append(row("raw server-side apply, {0} threads".format(opts.threads),
                        ctx.raw.apply(render(ctx, values, REVISIONS["raw8"]), threads=opts.threads), "other"))
        queries = groups(objs)
        noop = ctx.raw.lists(queries)
        rows.append(row("raw list, one per kind and namespace ({0}: the no-op floor)".format(len(queries)), noop,
                        "floor"))
        empty, ping = ctx.fixed
        rows.append(row("ansible-playbook, one ping task (the fixed cost)", ping, "fixed"))
        args = {"install": {"revision": REVISIONS["ours"], "profile": "default", "values": values,
                            "ingress_gateway": False, "wait": False}}
        first, dummy, result = ctx.playbook(INSTALL, args, name="install-ours")
        again, stats, result2 = ctx.playbook(INSTALL, args, name="install-ours-rerun")
        if stats.get("changed"):
            raise SystemExit("istio_install: the rerun changed something")
        rows.append(row("istio_install, install", first, "ours", api_calls=result.get("api_calls")))
        rows.append(row("istio_install, no-op rerun", again, "ours", api_calls=result2.get("api_calls")))
        manifest = os.path.join(ctx.tmp, "rendered-k8s.yaml")
        with open(manifest, "w") as handle:
            yaml.safe_dump_all(render(ctx, values, REVISIONS["k8s"]), handle)
        kfirst = ctx.playbook(K8S_SRC, {"manifest": manifest}, name="install-k8s")[0]
        kagain, kstats, dummy = ctx.playbook(K8S_SRC, {"manifest": manifest}, name="install-k8s-rerun")
        rows.append(row("kubernetes.core.k8s, one task with the list, install", kfirst, "other"))
        rows.append(row("kubernetes.core.k8s, one task with the list, rerun", kagain, "other",
                        changed=kstats.get("changed")))
    finally:
        remove_all(ctx)
    return {"objects": len(objs), "rows": rows,
            "description": "Istio revision install, {0} objects rendered by istioctl".format(len(objs)),
            "goals": [goal("install", first, serial + ping, "serial floor + fixed cost"),
                      goal("no-op rerun", again, 1.2 * (noop + ping), "1.2 x (no-op floor + fixed cost)")],
            "notes": ["the rerun sent {0}".format(result2.get("api_calls"))]}
