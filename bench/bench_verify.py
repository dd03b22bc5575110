#!/usr/bin/env python3
"""Benchmark: meshops.istio.mtls_verify on 5,000 pods in 200 namespaces (kwok pods) on the lab.

Creates 200 namespaces labelled for injection, each with a STRICT PeerAuthentication, a DestinationRule, and
WORKLOADS workloads of PODS pods behind a Service (pods written in their injected form, with istio-proxy, bound
to the kwok nodes directly: no scheduler, no injection webhook, no ReplicaSet controller, so 5,000 pods are
created in a minute by parallel requests). A workload's pods are owned by a ConfigMap standing in for its
controller (any owner groups pods into a workload; a real ReplicaSet would have its controller fight the bench).

Times, each through ansible-playbook (so the same Ansible start-up in every row):

  list_all      kubernetes.core.k8s_info of everything mtls_verify reads, cluster-wide (namespaces, pods,
                replicasets, services, PeerAuthentications, DestinationRules, VirtualServices, the root
                certificate ConfigMaps, the injector webhooks)
  list_min      kubernetes.core.k8s_info of pods, PeerAuthentications and DestinationRules only
  mtls_verify   the module over every injected namespace, analyze off
  + analyze     the same with istioctl analyze --all-namespaces folded in

first at 1 pod per workload, then at PODS pods per workload, and prints the times and the module's API calls
at both sizes (they must not differ). The namespaces are deleted at the end (pods first, in parallel; the
namespaces themselves are left to the namespace controller) unless --keep.

Run: .venv/bin/python bench/bench_verify.py [--namespaces 200] [--workloads 5] [--pods 5]
Speed is measured here, never asserted by tests.
"""

from __future__ import absolute_import, division, print_function

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

from labenv import ansible_env  # bench/ is on sys.path

LABEL = "meshops-bench"
KWOK_NOW = dict(("pod-{0}.stage.kwok.x-k8s.io/{1}".format(stage, what), "0s")
                for stage in ("create", "ready", "delete") for what in ("delay", "jitter-delay"))
LIST_ALL = [("v1", "Namespace", {}), ("v1", "Pod", {}), ("apps/v1", "ReplicaSet", {}), ("v1", "Service", {}),
            ("security.istio.io/v1", "PeerAuthentication", {}), ("networking.istio.io/v1", "DestinationRule", {}),
            ("networking.istio.io/v1", "VirtualService", {}),
            ("v1", "ConfigMap", {"field_selectors": ["metadata.name=istio-ca-root-cert"]}),
            ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration", {"label_selectors": ["istio.io/rev"]})]
LIST_MIN = LIST_ALL[1:2] + LIST_ALL[4:6]


def info_play(kinds):
    tasks = []
    for api_version, kind, extra in kinds:
        task = {"name": "list " + kind, "kubernetes.core.k8s_info": dict({"api_version": api_version, "kind": kind},
                                                                         **extra)}
        tasks.append(task)
    return json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}])


VERIFY_PLAY = json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [{
    "name": "mtls_verify", "meshops.istio.mtls_verify": {
        "namespace_selector": "{0}={{{{ run }}}}".format(LABEL), "fail_on": "never", "analyze": "{{ analyze }}"},
    "register": "verified"}, {"name": "calls", "ansible.builtin.debug": {"msg": "{{ {'calls': verified.api_calls, "
                                                                               "'rows': verified.matrix | length, "
                                                                               "'findings': verified.summary} }}"}}]}])


def playbook(env, play, extra):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "play.json")
        with open(path, "w") as handle:
            handle.write(play)
        binary = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
        start = time.monotonic()
        proc = subprocess.run([binary, path, "-i", "localhost,", "-c", "local", "-e", json.dumps(extra)], env=env,
                              capture_output=True, text=True, check=False)
        elapsed = time.monotonic() - start
    try:
        out = json.loads(proc.stdout)
    except ValueError:
        sys.exit("ansible-playbook printed no JSON:\n{0}\n{1}".format(proc.stdout[-3000:], proc.stderr[-3000:]))
    if proc.returncode != 0:
        sys.exit("ansible-playbook failed: {0}".format(json.dumps(out)[-3000:]))
    last = out["plays"][0]["tasks"][-1]["hosts"]["localhost"]
    return elapsed, last.get("msg")


class Builder:
    """Creates the bench's objects with parallel requests of the kubernetes client."""

    def __init__(self, kubeconfig, run, threads=16):
        self.run = run
        from kubernetes import client, config
        self.api_client = config.new_client_from_config(config_file=kubeconfig)
        self.api_client.rest_client.pool_manager.connection_pool_kw["maxsize"] = threads
        self.core = client.CoreV1Api(self.api_client)
        self.custom = client.CustomObjectsApi(self.api_client)
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=threads)

    def each(self, fn, items):
        futures = [self.pool.submit(fn, item) for item in items]
        return [f.result() for f in futures]

    def namespace(self, name, run):
        self.core.create_namespace({"metadata": {"name": name, "labels": {LABEL: run, "istio-injection": "enabled"}}})
        self.custom.create_namespaced_custom_object("security.istio.io", "v1", name, "peerauthentications", {
            "apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication", "metadata": {"name": "default"},
            "spec": {"mtls": {"mode": "STRICT"}}})
        self.custom.create_namespaced_custom_object("networking.istio.io", "v1", name, "destinationrules", {
            "apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": {"name": "w0"},
            "spec": {"host": "w0", "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}}}})

    def workload(self, item):
        ns, name = item
        owner = self.core.create_namespaced_config_map(ns, {"metadata": {"name": name}, "data": {"role": "owner"}})
        self.core.create_namespaced_service(ns, {"metadata": {"name": name}, "spec": {
            "selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
        return ns, name, owner.metadata.uid

    def pod(self, item):
        ns, name, uid, index, node = item
        self.core.create_namespaced_pod(ns, {"metadata": {
            "name": "{0}-{1}".format(name, index), "labels": {"app": name, "sidecar.istio.io/inject": "false", LABEL: self.run},
            "annotations": dict(KWOK_NOW, **{"sidecar.istio.io/status": json.dumps({"revision": "default"})}),
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": name, "uid": uid,
                                 "controller": True}]},
            "spec": {"nodeName": node, "containers": [
                {"name": "app", "image": "example.invalid/app:1", "ports": [{"name": "http", "containerPort": 8080}]},
                {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:lab"}]}})

    def delete_pods(self, ns):
        self.core.delete_collection_namespaced_pod(ns, grace_period_seconds=0)


class Module:
    """What the runner needs of a module, for timing it in this process (no Ansible start-up)."""

    check_mode = False

    def __init__(self, params):
        self.params = params

    def warn(self, msg):
        print("warning: " + msg)

    def get_bin_path(self, name, required=False):
        return None


def in_process(env, run, collections):
    """Seconds of (the raw lists of what mtls_verify reads, the mtls_verify runner), each with a fresh client
    (discovery included), in this process."""
    if collections not in sys.path:
        sys.path.insert(0, collections)
    from kubernetes import config
    from kubernetes.dynamic import DynamicClient
    from ansible_collections.meshops.istio.plugins.module_utils import verify
    from ansible_collections.meshops.istio.plugins.module_utils.kube import Kube

    def client():
        return DynamicClient(config.new_client_from_config(config_file=env["KUBECONFIG"]))

    t0 = time.monotonic()
    dyn = client()
    for api_version, kind, extra in LIST_ALL:
        res = dyn.resources.get(api_version=api_version, kind=kind)
        dyn.get(res, field_selector=(extra.get("field_selectors") or [None])[0],
                label_selector=(extra.get("label_selectors") or [None])[0])
    listed = time.monotonic() - t0
    params = dict(namespaces=None, namespace_selector="{0}={1}".format(LABEL, run), expect="STRICT", fail_on="never",
                  analyze=False, istioctl_path=None, evidence_window="10m", ca_root_cert=None, root_namespace=None,
                  istio_namespace="istio-system", prometheus_url=None)
    module = Module(params)
    t0 = time.monotonic()
    kube = Kube(module, client=client())
    out = verify.run(module, kube)
    return listed, time.monotonic() - t0, dict(kube.calls), len(out["matrix"])


def running(env, run):
    out = subprocess.run(["kubectl", "get", "pods", "-A", "-l", "{0}={1}".format(LABEL, run),
                          "--field-selector", "status.phase=Running",
                          "-o", "name", "--chunk-size=0"], env=env, capture_output=True, text=True, check=False).stdout
    return len(out.split())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespaces", type=int, default=200)
    parser.add_argument("--workloads", type=int, default=5, help="workloads per namespace")
    parser.add_argument("--pods", type=int, default=5, help="pods per workload at the second size")
    parser.add_argument("--keep", action="store_true", help="keep the namespaces afterwards")
    opts = parser.parse_args()

    env = ansible_env()
    env["ANSIBLE_DEPRECATION_WARNINGS"] = "False"
    run = uuid.uuid4().hex[:6]
    builder = Builder(env["KUBECONFIG"], run)
    names = ["bv-{0}-{1:03d}".format(run, i) for i in range(opts.namespaces)]
    nodes = ["lab-node-1", "lab-node-2", "lab-node-3"]
    results = []
    try:
        start = time.monotonic()
        builder.each(lambda ns: builder.namespace(ns, run), names)
        owners = builder.each(builder.workload, [(ns, "w{0}".format(w)) for ns in names for w in range(opts.workloads)])
        made = 0
        for size in (1, opts.pods):
            pods = [(ns, name, uid, i, nodes[(made + i) % 3]) for ns, name, uid in owners for i in range(made, size)]
            t0 = time.monotonic()
            builder.each(builder.pod, pods)
            made = size
            total = len(owners) * size
            print("created {0} pods ({1} new in {2:.1f}s; setup so far {3:.1f}s); waiting for kwok to run them".format(
                total, len(pods), time.monotonic() - t0, time.monotonic() - start), flush=True)
            deadline = time.monotonic() + 600
            while running(env, run) < total and time.monotonic() < deadline:
                time.sleep(5)
            print("{0} of {1} pods Running".format(running(env, run), total), flush=True)
            row = {"pods": total}
            best = min((in_process(env, run, env["ANSIBLE_COLLECTIONS_PATH"]) for dummy in range(3)),
                       key=lambda r: r[1])
            row["py_list"], row["py_verify"], row["py_calls"], row["py_rows"] = best
            for label, play, extra in (("list_all", info_play(LIST_ALL), {}), ("list_min", info_play(LIST_MIN), {}),
                                       ("mtls_verify", VERIFY_PLAY, {"run": run, "analyze": False}),
                                       ("+ analyze", VERIFY_PLAY, {"run": run, "analyze": True})):
                times, msg = [], None
                for dummy in range(2):
                    elapsed, msg = playbook(env, play, extra)
                    times.append(elapsed)
                row[label] = min(times)
                if msg and isinstance(msg, dict):
                    row[label + " calls"] = msg["calls"]
                    row[label + " rows"] = msg["rows"]
            results.append(row)
        print("\n{0} namespaces x {1} workloads (Service, DestinationRule, STRICT PeerAuthentication), seconds".format(
            opts.namespaces, opts.workloads))
        print("in this process, best of 3 (a fresh client each, discovery included):")
        print("{0:>6}{1:>12}{2:>14}{3:>8}".format("pods", "raw lists", "mtls_verify", "ratio"))
        for row in results:
            print("{0:>6}{1:>12.2f}{2:>14.2f}{3:>7.2f}x".format(row["pods"], row["py_list"], row["py_verify"],
                                                                row["py_verify"] / row["py_list"]))
        print("through ansible-playbook, best of 2 (k8s_info: one task per kind):")
        print("{0:>6}{1:>10}{2:>10}{3:>13}{4:>11}{5:>12}{6:>12}".format(
            "pods", "list_all", "list_min", "mtls_verify", "+ analyze", "vs list_all", "vs list_min"))
        for row in results:
            print("{0:>6}{1:>10.2f}{2:>10.2f}{3:>13.2f}{4:>11.2f}{5:>11.2f}x{6:>11.2f}x".format(
                row["pods"], row["list_all"], row["list_min"], row["mtls_verify"], row["+ analyze"],
                row["mtls_verify"] / row["list_all"], row["mtls_verify"] / row["list_min"]))
        for row in results:
            print("{0} pods: matrix rows {1}, API calls {2}".format(row["pods"], row["mtls_verify rows"],
                                                                 json.dumps(row["mtls_verify calls"], sort_keys=True)))
        if len(results) == 2 and results[0]["mtls_verify calls"] != results[1]["mtls_verify calls"]:
            print("NOTE: the API calls differ between the two sizes")
    finally:
        if not opts.keep:
            t0 = time.monotonic()
            builder.each(builder.delete_pods, names)
            subprocess.run(["kubectl", "delete", "namespace", "-l", "{0}={1}".format(LABEL, run), "--wait=false"],
                           env=env, capture_output=True, check=False)
            print("deleted the pods in {0:.1f}s; the namespace controller removes the {1} namespaces in the "
                  "background".format(time.monotonic() - t0, len(names)))


if __name__ == "__main__":
    main()
