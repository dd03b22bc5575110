# -*- coding: utf-8 -*-
"""Faults: the API server killed (kill -9) in the middle of a module run and restarted with one
``lab/lab.sh up``. The run rides out the outage (its retries have a 30 s budget) or, when the outage
outlasts the budget, fails saying the API server cannot be reached; a rerun converges with changed=0.

Runs on a lab of its own (labs.lab_factory): killing the shared lab's API server would fail the tests
other people run on it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import select
import subprocess
import threading
import time

import pytest

from harness import Ansible
from labs import lab_factory, spare_lab, state  # noqa: F401 pylint: disable=unused-import

MODULE = "meshops.istio.mesh_policy"
AUTHZ = "authorizationpolicies.security.istio.io"
COUNT = 150


@pytest.fixture(scope="module")
def faults_lab(spare_lab):  # noqa: F811 pylint: disable=redefined-outer-name
    return spare_lab


@pytest.fixture(scope="module")
def faults_ansible(faults_lab, ansible):
    return Ansible(faults_lab, ansible.env["ANSIBLE_COLLECTIONS_PATH"])


def policies(ns, count=COUNT):
    return {"authorization_policies": [
        {"name": "allow-{0:03d}".format(i), "namespace": ns, "selector": {"app": "svc-{0:03d}".format(i)},
         "rules": [{"from": [{"principals": ["cluster.local/ns/{0}/sa/client-{1:03d}".format(ns, i)]}],
                    "to": [{"methods": ["GET"], "paths": ["/v1/*"]}]}]}
        for i in range(count)]}


def count_objects(lab, ns):
    proc = lab.kubectl("get", AUTHZ, "-n", ns, "-o", "name", check=False, timeout=10)
    return len(proc.stdout.split()) if proc.returncode == 0 else -1


def in_background(fn, *args, **kwargs):
    """Run ``fn`` in a thread; returns (thread, box) where box gets 'result' and 'seconds'."""
    box = {}

    def run():
        t0 = time.monotonic()
        try:
            box["result"] = fn(*args, **kwargs)
        finally:
            box["seconds"] = time.monotonic() - t0
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def watch_objects(lab, ns):
    """``kubectl get --watch`` on the namespace's AuthorizationPolicies, started before the module runs:
    a line per object as soon as the server has stored it (polling with kubectl was too slow to land the
    kill before the last of 150 writes)."""
    return subprocess.Popen(["kubectl", "get", AUTHZ, "-n", ns, "--watch", "-o", "name"], env=lab.env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def kill_when_writing(lab, watcher, thread, timeout=300):
    """Kill -9 the API server as soon as the first object of the batch is written (the module's dry
    runs of all objects are over, its writes have begun); returns the kill time."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            assert thread.is_alive(), "the module finished before it wrote anything: no fault was injected"
            assert time.monotonic() < deadline, "no object written within {0}s".format(timeout)
            ready, dummy, dummy2 = select.select([watcher.stdout], [], [], 0.5)
            if ready and watcher.stdout.readline():
                break
        lab.killed = lab.kill("kube-apiserver")
        return time.monotonic()
    finally:
        watcher.kill()
        watcher.wait()


def started_after(task, wall):
    """Seconds after the wall-clock time ``wall`` that a task of the JSON callback's output started."""
    start = (task["task"].get("duration") or {}).get("start") or ""
    try:
        return round(datetime.datetime.strptime(start[:26], "%Y-%m-%dT%H:%M:%S.%f").replace(
            tzinfo=datetime.timezone.utc).timestamp() - wall, 1)
    except ValueError:
        return None


def restart(lab, killed_at, pause=0):
    """One ``lab/lab.sh up`` (right after the kill, while the dead process may still be a zombie:
    init reaps it about a second later here): it must start the API server again in one call.
    Returns the outage in seconds."""
    time.sleep(pause)
    print("faults: lab.sh up while the killed API server is {0}".format(
        "a zombie" if state(lab.killed) == "Z" else "gone"))
    proc = lab.up(check=False)
    assert proc.returncode == 0, "lab.sh up after kill -9 failed in one call:\n" + proc.stderr[-3000:]
    assert "starting kube-apiserver" in proc.stderr
    lab.wait_for(lab.apiserver_ready, timeout=120, what="the API server to be ready")
    return time.monotonic() - killed_at


def test_module_rides_out_an_api_server_restart_and_a_rerun_changes_nothing(faults_lab, faults_ansible):
    lab = faults_lab
    ns = "faults-ride"
    lab.kubectl("create", "namespace", ns)
    args = policies(ns)

    watcher = watch_objects(lab, ns)
    thread, box = in_background(faults_ansible.module, MODULE, args, timeout=900)
    killed_at = kill_when_writing(lab, watcher, thread)
    outage = restart(lab, killed_at)
    thread.join(900)
    result = box["result"]
    print("faults: API server down {0:.1f}s; module ran {1:.1f}s; api_calls {2}".format(
        outage, box["seconds"], result.get("api_calls")))

    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    assert result["api_calls"].get("retries", 0) >= 1, "the kill did not hit the module's requests"
    assert count_objects(lab, ns) == COUNT

    again = faults_ansible.module(MODULE, args)
    assert not again.get("failed"), again.get("msg")
    assert again["changed"] is False and "apply" not in again["api_calls"]


def test_outage_longer_than_the_budget_fails_clearly_and_a_rerun_converges(faults_lab, faults_ansible):
    lab = faults_lab
    ns = "faults-budget"
    lab.kubectl("create", "namespace", ns)
    args = policies(ns)
    short = Ansible(lab, faults_ansible.env["ANSIBLE_COLLECTIONS_PATH"])
    short.env["MESHOPS_RETRY_BUDGET"] = "3"

    watcher = watch_objects(lab, ns)
    thread, box = in_background(short.module, MODULE, args, timeout=900)
    killed_at = kill_when_writing(lab, watcher, thread)
    thread.join(120)
    assert not thread.is_alive(), "the module still runs 120 s into an outage with a 3 s retry budget"
    failed_after = time.monotonic() - killed_at
    result = box["result"]
    restart(lab, killed_at)
    written = count_objects(lab, ns)
    print("faults: with MESHOPS_RETRY_BUDGET=3 the module failed {0:.1f}s after the kill, {1} of {2} objects "
          "written: {3}".format(failed_after, written, COUNT, result.get("msg")))

    assert result.get("failed") is True
    assert "the Kubernetes API server cannot be reached after" in result["msg"]
    assert "(retry budget: MESHOPS_RETRY_BUDGET)" in result["msg"]
    assert "AuthorizationPolicy {0}/allow-".format(ns) in result["msg"]
    assert 0 < written < COUNT, "the kill did not land in the middle of the writes"

    again = faults_ansible.module(MODULE, args)
    assert not again.get("failed"), again.get("msg")
    assert again["changed"] is True and count_objects(lab, ns) == COUNT
    assert faults_ansible.module(MODULE, args)["changed"] is False


ADDON = """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: prometheus
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: prometheus
data:
  prometheus.yml: "global: {scrape_interval: 15s}"
"""

PLAY = """\
- hosts: localhost
  gather_facts: false
  roles:
    - role: meshops.istio.addons
"""


def test_addons_role_retries_its_writes_while_the_api_server_restarts(faults_lab, faults_ansible, tmp_path):
    """The addons role calls kubernetes.core.k8s itself: its writes retry transient failures too."""
    lab = faults_lab
    ns = "faults-addons"
    lab.kubectl("create", "namespace", ns)
    (tmp_path / "prometheus.yaml").write_text(ADDON)
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY)
    extra = {"addons_components": ["prometheus"], "addons_source": str(tmp_path), "addons_namespace": ns,
             "addons_wait": False}

    lab.killed = lab.kill("kube-apiserver")
    killed_at, killed_wall = time.monotonic(), time.time()
    thread, box = in_background(faults_ansible.playbook, str(playbook), extra_vars=extra, timeout=600)
    # Long enough for the role to reach its first API call (a dry run of every addon) while the server is down:
    # before it come the checks of its variables and manifests.
    outage = restart(lab, killed_at, pause=15)
    thread.join(600)
    rc, stats, out = box["result"]
    # The role's first API call is its dry run of every addon, then the apply: whichever met the outage retried.
    calls = [res for name, res in Ansible.results(out)
             if name.startswith(("Dry-run the addon manifests", "Apply the addon manifests"))]
    attempts = [r.get("attempts", 1) for res in calls for r in res.get("results", [])]
    started = [started_after(t, killed_wall) for play in out["plays"] for t in play["tasks"]
               if t["task"]["name"].split(" : ", 1)[-1].startswith("Dry-run the addon manifests")]
    print("faults: addons role with the API server down {0:.1f}s: rc {1}, ran {2:.1f}s, attempts {3}, its dry run "
          "started {4}s after the kill".format(outage, rc, box["seconds"], attempts, started))
    assert rc == 0, Ansible.failure(out)
    assert len(calls) == 2 and max(attempts) > 1, "the role's API calls were not retried"
    assert stats["localhost"]["changed"] == 1
    assert lab.kubectl("get", "configmap", "prometheus", "-n", ns, check=False).returncode == 0

    rc, stats, out = faults_ansible.playbook(str(playbook), extra_vars=extra)
    assert rc == 0 and stats["localhost"]["changed"] == 0
    names = [name for name, res in Ansible.results(out)]
    assert "Apply the addon manifests" in names and "Dry-run the addon manifests on the API server" in names
    assert not [name for name in names if "undefined" in name or "<<" in name], names


def test_a_second_lab_is_separate_from_the_shared_one(faults_lab, lab):
    """The fault lab has its own directory and ports: the shared lab's API server stays up throughout."""
    assert faults_lab.kubeconfig != lab.kubeconfig
    assert os.path.dirname(faults_lab.kubeconfig) == faults_lab.directory
    assert lab.kubectl("get", "--raw", "/readyz").stdout.strip() == "ok"
