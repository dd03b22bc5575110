# -*- coding: utf-8 -*-
"""meshops.istio.mesh_pod_info against the lab: the pods a selector matches, which are Ready and which carry
istio-proxy (pods of an unlabelled namespace do not; pods of an injected one do), read only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

MODULE = "meshops.istio.mesh_pod_info"


def deployment(ns, name, replicas=2):
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": name, "image": "example.invalid/{0}:1".format(name)}]}}}})


def live_pods(lab, ns, app):
    return sorted(p["metadata"]["name"] for p in lab.kubectl_json("get", "pods", "-n", ns, "-l", "app=" + app)["items"]
                  if not p["metadata"].get("deletionTimestamp"))


def test_pods_without_and_with_the_sidecar(lab, ansible, namespace):
    plain = namespace("podinfo")
    injected = namespace("podinfo-inj", labels={"istio-injection": "enabled"})
    for ns in (plain, injected):
        lab.apply(deployment(ns, "web"))
    result = ansible.module(MODULE, {"namespace": plain, "label_selector": "app=web", "wait": True,
                                     "wait_timeout": 120})
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False and result["ready"] is True and result["not_ready"] == []
    assert sorted(result["pods"]) == live_pods(lab, plain, "web") and len(result["pods"]) == 2
    assert sorted(result["without_sidecar"]) == sorted(result["pods"])
    assert set(result["api_calls"]) <= {"discovery", "list"}

    result = ansible.module(MODULE, {"namespace": injected, "label_selector": "app=web", "wait": True,
                                     "wait_timeout": 120})
    assert not result.get("failed"), result.get("msg")
    assert result["ready"] is True and len(result["pods"]) == 2 and result["without_sidecar"] == []


def test_nothing_selected_is_not_ready_and_bad_input_is_refused(lab, ansible, namespace):
    ns = namespace("podinfo-none")
    result = ansible.module(MODULE, {"namespace": ns, "label_selector": "app=nothing"})
    assert result["ready"] is False and result["pods"] == []
    bad = ansible.module(MODULE, {"namespace": "Bad_NS", "wait_timeout": 0})
    assert bad.get("failed") is True
    assert "namespace: 'Bad_NS' is not a valid namespace name" in bad["msg"]
    assert "wait_timeout: must be a positive whole number of seconds (1 or more)" in bad["msg"] and bad["api_calls"] == {}
