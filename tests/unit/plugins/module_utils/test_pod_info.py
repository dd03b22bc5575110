# -*- coding: utf-8 -*-
"""The mesh_pod_info runner: which pods are Ready and carry the sidecar, waiting with the fake clock."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.meshops.istio.plugins.module_utils import pod_info
from ansible_collections.meshops.istio.plugins.module_utils.errors import InputError
from ansible_collections.meshops.istio.plugins.module_utils.kube import Kube
from ansible_collections.meshops.istio.plugins.module_utils.workloads import pod_report
from ansible_collections.meshops.istio.tests.unit.fakes import Clock, FakeClient, FakeModule


def pod(name, ready=True, sidecar=True, native=False, phase="Running", deleting=False, app="web"):
    containers = [{"name": "app"}]
    init = [{"name": "istio-proxy"}] if sidecar and native else []
    if sidecar and not native:
        containers.append({"name": "istio-proxy"})
    meta = {"name": name, "namespace": "shop", "labels": {"app": app}}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-24T00:00:00Z"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": containers, "initContainers": init},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def test_pod_report_leaves_out_terminating_and_finished_pods():
    report = pod_report([pod("a"), pod("b", ready=False, phase="Pending"), pod("c", sidecar=False),
                         pod("d", native=True), pod("old", sidecar=False, deleting=True),
                         pod("job", sidecar=False, phase="Succeeded")])
    assert report == {"pods": ["a", "b", "c", "d"], "not_ready": ["b (Pending)"], "without_sidecar": ["c"]}
    assert pod_report(None) == {"pods": [], "not_ready": [], "without_sidecar": []}


def run(client, check=False, **kw):
    module = FakeModule(check_mode=check)
    module.params = dict(namespace="shop", label_selector="app=web", wait=False, wait_timeout=30)
    module.params.update(kw)
    clock = Clock()
    return pod_info.run(module, Kube(module, client=client, sleep=clock.sleep, clock=clock)), clock


def test_reports_the_selected_pods_and_changes_nothing():
    client = FakeClient([pod("web-1"), pod("web-2", sidecar=False), pod("db-1", ready=False, app="db")])
    result, clock = run(client)
    assert result["changed"] is False and result["objects"] == []
    assert (result["pods"], result["not_ready"], result["without_sidecar"], result["ready"]) == (
        ["web-1", "web-2"], [], ["web-2"], True)
    assert client.writes() == [] and clock.now == 0


def test_wait_polls_until_every_pod_is_ready_or_the_timeout():
    client = FakeClient([pod("web-1", ready=False)])
    result, clock = run(client, wait=True, wait_timeout=30)
    assert result["ready"] is False and result["not_ready"] == ["web-1 (Running)"] and clock.now == 30
    result, clock = run(client, wait=True, check=True)
    assert clock.now == 0, "check mode does not wait"


def test_bad_input_is_refused_before_any_call():
    client = FakeClient()
    with pytest.raises(InputError) as info:
        run(client, namespace="Shop", wait_timeout=0)
    assert "namespace: 'Shop' is not a valid namespace name" in info.value.msg
    assert "wait_timeout: must be a positive whole number of seconds (1 or more), not 0" in info.value.msg
    assert client.calls == []
