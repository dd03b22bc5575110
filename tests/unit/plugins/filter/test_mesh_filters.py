# -*- coding: utf-8 -*-
"""The roles' filters: pod_report (the module's own pod rules) and helm_release_differences."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.meshops.istio.plugins.filter.mesh import FilterModule, helm_release_differences, pod_report


def pod(name, ready=True, sidecar=True, native=False, phase="Running", deleting=False):
    containers = [{"name": "app"}]
    init = [{"name": "istio-proxy"}] if sidecar and native else []
    if sidecar and not native:
        containers.append({"name": "istio-proxy"})
    meta = {"name": name}
    if deleting:
        meta["deletionTimestamp"] = "2026-11-24T00:00:00Z"
    return {"metadata": meta, "spec": {"containers": containers, "initContainers": init},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def test_pod_report_leaves_out_terminating_and_finished_pods():
    report = pod_report([pod("a"), pod("b", ready=False, phase="Pending"), pod("c", sidecar=False),
                         pod("d", native=True), pod("old", sidecar=False, deleting=True),
                         pod("job", sidecar=False, phase="Succeeded")])
    assert report == {"pods": ["a", "b", "c", "d"], "not_ready": ["b (Pending)"], "without_sidecar": ["c"]}
    assert pod_report(None) == {"pods": [], "not_ready": [], "without_sidecar": []}


CHART = {"name": "shop", "version": "1.2.0", "appVersion": "1.0.0"}


@pytest.mark.parametrize("current, values, expect", [
    (None, {}, ["not installed"]),
    ({"status": "deployed", "chart": "shop-1.2.0", "app_version": "1.0.0", "values": {"a": 1}}, {"a": 1}, []),
    ({"status": "failed", "chart": "shop-1.1.0", "app_version": "0.9", "values": {}}, {"a": 1},
     ["status failed", "chart shop-1.1.0 -> shop-1.2.0", "app version 0.9 -> 1.0.0", "values"]),
    ({"status": "deployed", "chart": "shop-1.2.0", "app_version": "1.0.0", "values": None}, {}, []),
    ({"status": "deployed", "chart": "shop-1.2.0", "app_version": "1.0.0", "values": {"old": 1},
      "release_values": {"a": 1}}, {"a": 1}, []),
])
def test_helm_release_differences(current, values, expect):
    assert helm_release_differences(current, CHART, values) == expect


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {"pod_report", "helm_release_differences"}
