#!/usr/bin/env python3
"""Benchmark: istio_install against kubernetes.core.k8s applying the same rendered manifest.

For each tool, on the lab (or the cluster of MESHOPS_KUBECONFIG), it times a fresh
install of an Istio revision and a no-op rerun, then removes the revision:

  meshops.istio.istio_install        revision bench-m
  kubernetes.core.k8s (one task,     revision bench-k, the list rendered by
  the whole list, server-side apply) `istioctl manifest generate` for it

Run: .venv/bin/python bench/bench_install.py [--rounds N]
Prints a table and the ratios. Speed is measured here, never asserted by tests.
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from labenv import ansible_env  # bench/ is on sys.path

import yaml



def run_module(env, module, args):
    """Time one module run through ansible-playbook; ``args`` is a JSON file of its arguments."""
    play = os.path.join(os.path.dirname(args), "play-{0}.yml".format(module.replace(".", "-")))
    with open(play, "w") as handle:
        handle.write(PLAY.format(module=module))
    with open(args) as handle:
        extra = os.path.join(os.path.dirname(args), "vars-" + os.path.basename(args))
        with open(extra, "w") as out:
            json.dump({"module_args": json.load(handle)}, out)
    start = time.monotonic()
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), play,
                           "-i", "localhost,", "-c", "local", "-e", "@" + extra],
                          env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    try:
        result = json.loads(proc.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        sys.exit("{0} printed no result:\n{1}\n{2}".format(module, proc.stdout[-3000:], proc.stderr[-3000:]))
    if result.get("failed"):
        sys.exit("{0} failed: {1}".format(module, result.get("msg")))
    return elapsed, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=1)
    opts = parser.parse_args()
    env = ansible_env()
    values = {}
    if env.get("LAB_ISTIO_VALUES"):
        with open(env["LAB_ISTIO_VALUES"]) as handle:
            values = yaml.safe_load(handle)
    tmp = tempfile.mkdtemp(prefix="meshops-bench-")

    def args_file(name, data):
        path = os.path.join(tmp, name + ".json")
        with open(path, "w") as handle:
            json.dump(data, handle)
        return path

    # The manifest kubernetes.core.k8s applies: what istioctl renders for revision bench-k.
    values_path = os.path.join(tmp, "iop.yaml")
    with open(values_path, "w") as handle:
        yaml.safe_dump({"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator",
                        "spec": {"profile": "default", "revision": "bench-k", "values": values,
                                 "components": {"ingressGateways": [{"name": "istio-ingressgateway",
                                                                     "enabled": False}]}}}, handle)
    rendered = subprocess.run(["istioctl", "manifest", "generate", "-f", values_path], env=env, check=True,
                              capture_output=True, text=True).stdout
    docs = [d for d in yaml.safe_load_all(rendered) if d]

    meshops = args_file("meshops", {"revision": "bench-m", "profile": "default", "values": values,
                                    "ingress_gateway": False, "wait": False})
    manifest = os.path.join(tmp, "rendered.yaml")
    with open(manifest, "w") as handle:
        handle.write(rendered)
    k8s = args_file("k8s", {"state": "present", "src": manifest,
                            "server_side_apply": {"field_manager": "bench", "force_conflicts": True}})
    def remove_both():
        for rev, name in (("bench-m", "rm-m"), ("bench-k", "rm-k")):
            run_module(env, "meshops.istio.istio_install",
                       args_file(name, {"state": "absent", "revision": rev, "ingress_gateway": False}))

    rows = []
    remove_both()  # leftovers of an interrupted run would turn the install into a rerun
    for dummy in range(opts.rounds):
        m_install, m_result = run_module(env, "meshops.istio.istio_install", meshops)
        m_rerun, m_again = run_module(env, "meshops.istio.istio_install", meshops)
        k_install, _ = run_module(env, "kubernetes.core.k8s", k8s)
        k_rerun, k_again = run_module(env, "kubernetes.core.k8s", k8s)
        rows.append((m_install, m_rerun, k_install, k_rerun, m_again["changed"], k_again["changed"],
                     m_result["api_calls"], m_again["api_calls"]))
        remove_both()

    print("objects rendered: {0}".format(len(docs)))
    print("{0:<34}{1:>12}{2:>14}".format("", "install (s)", "no-op rerun (s)"))
    for m_install, m_rerun, k_install, k_rerun, m_changed, k_changed, calls, calls_again in rows:
        print("{0:<34}{1:>12.2f}{2:>14.2f}   rerun changed={3}".format(
            "meshops.istio.istio_install", m_install, m_rerun, m_changed))
        print("{0:<34}{1:>12.2f}{2:>14.2f}   rerun changed={3}".format(
            "kubernetes.core.k8s (one task)", k_install, k_rerun, k_changed))
        print("ratio meshops / k8s: install {0:.2f}, no-op rerun {1:.2f}".format(
            m_install / k_install, m_rerun / k_rerun))
        print("istio_install API calls: install {0}; rerun {1}".format(calls, calls_again))


if __name__ == "__main__":
    main()
