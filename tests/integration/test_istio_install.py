# -*- coding: utf-8 -*-
"""meshops.istio.istio_install against the lab: install, idempotency, targeted change, check mode,
revisions, removal, and bad input refused before any write."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

MODULE = "meshops.istio.istio_install"
KINDS = ("deployments,services,configmaps,serviceaccounts,roles,rolebindings,clusterroles,clusterrolebindings,"
         "mutatingwebhookconfigurations,validatingwebhookconfigurations,horizontalpodautoscalers,"
         "poddisruptionbudgets,customresourcedefinitions")


def version(item):
    """What moves when something writes the object: its resourceVersion, except where controllers keep
    writing the status on their own (Deployments: generation; HorizontalPodAutoscalers, which have no
    generation: the object without status and server-managed fields)."""
    meta = item["metadata"]
    if meta.get("generation"):
        return meta["generation"]
    if item["kind"] == "HorizontalPodAutoscaler":
        meta = dict((k, v) for k, v in meta.items() if k not in ("resourceVersion", "managedFields"))
        return json.dumps({"metadata": meta, "spec": item.get("spec")}, sort_keys=True)
    return meta["resourceVersion"]


def istio_objects(lab):
    """{kind/namespace/name: generation, or resourceVersion where there is none} of what an installation writes: objects with Istio's install
    labels, and the unlabelled workloads, accounts and RBAC of istio-system. (ConfigMaps istiod itself keeps
    renewing, such as its leader-election locks, are left out unless labelled.)"""
    found = {}
    queries = [("get", KINDS, "-A", "-l", "operator.istio.io/component"),
               ("get", KINDS, "-A", "-l", "istio.io/rev"),
               ("get", "deployments,services,serviceaccounts,roles,rolebindings", "-n", "istio-system"),
               ("get", "clusterroles,clusterrolebindings,validatingwebhookconfigurations,"
                       "mutatingwebhookconfigurations")]
    for query in queries:
        for item in lab.kubectl_json(*query)["items"]:
            meta = item["metadata"]
            if query[1].startswith("clusterroles") and "istio" not in meta["name"]:
                continue
            found["{0}/{1}/{2}".format(item["kind"], meta.get("namespace", ""), meta["name"])] = version(item)
    return found


@pytest.fixture(scope="module")
def base_args(lab_istio_values):
    return {"profile": "default", "values": lab_istio_values, "wait_timeout": 120}


def moved(before, after):
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def test_check_mode_on_a_clean_revision_writes_nothing(lab, ansible, base_args):
    before = istio_objects(lab)
    result = ansible.module(MODULE, dict(base_args, revision="chk", ingress_gateway=False), check=True, diff=True)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    assert result["counts"]["created"] > 0
    assert any(o["kind"] == "Deployment" and o["name"] == "istiod-chk" for o in result["objects"])
    assert result["diff"], "diff mode lists the objects to create"
    assert set(k for k in result["api_calls"]) <= {"discovery", "get", "list", "apply_dry_run"}
    assert moved(before, istio_objects(lab)) == []


def test_default_install_is_ready_and_a_rerun_writes_nothing(lab, ansible, base_args):
    result = ansible.module(MODULE, base_args)
    assert not result.get("failed"), result.get("msg")
    assert result["readiness"]["istiod"] is True
    assert result["readiness"]["webhooks"] is True
    deployment = lab.kubectl_json("get", "deployment", "istiod", "-n", "istio-system")
    assert deployment["status"]["readyReplicas"] >= 1
    before = istio_objects(lab)
    again = ansible.module(MODULE, base_args)
    assert not again.get("failed"), again.get("msg")
    assert again["changed"] is False, again["objects"]
    assert again["counts"]["created"] == again["counts"]["updated"] == again["counts"]["pruned"] == 0
    assert "apply" not in again["api_calls"] and "delete" not in again["api_calls"]
    assert moved(before, istio_objects(lab)) == []


def test_changing_one_value_changes_only_the_affected_objects(lab, ansible, base_args):
    ansible.module(MODULE, base_args)
    before = istio_objects(lab)
    args = dict(base_args, mesh_config={"enableTracing": True, "defaultConfig": {"tracing": {"sampling": 10.0}}})
    result = ansible.module(MODULE, args, diff=True)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    # the mesh config, and the values istiod publishes (they include the mesh config)
    assert sorted((o["kind"], o["name"]) for o in result["objects"]) == [("ConfigMap", "istio"), ("ConfigMap", "values")]
    assert moved(before, istio_objects(lab)) == ["ConfigMap/istio-system/istio", "ConfigMap/istio-system/values"]
    mesh = lab.kubectl_json("get", "configmap", "istio", "-n", "istio-system")["data"]["mesh"]
    assert "enableTracing: true" in mesh and "sampling: 10" in mesh
    # and back, so later tests see the default mesh config
    assert ansible.module(MODULE, base_args)["changed"] is True


def test_revision_installs_beside_default_and_absent_removes_only_it(lab, ansible, base_args):
    result = ansible.module(MODULE, dict(base_args, revision="canary", ingress_gateway=False))
    assert not result.get("failed"), result.get("msg")
    assert result["readiness"]["istiod-canary"] is True
    names = [d["metadata"]["name"] for d in lab.kubectl_json("get", "deployments", "-n", "istio-system")["items"]]
    assert "istiod" in names and "istiod-canary" in names
    default_before = {k: v for k, v in istio_objects(lab).items() if "canary" not in k}

    removed = ansible.module(MODULE, {"state": "absent", "revision": "canary"})
    assert not removed.get("failed"), removed.get("msg")
    assert removed["changed"] is True
    assert all("canary" in o["name"] for o in removed["objects"]), removed["objects"]
    after = istio_objects(lab)
    assert [k for k in after if "canary" in k] == []
    assert moved(default_before, after) == []
    assert lab.kubectl("get", "crd", "virtualservices.networking.istio.io").returncode == 0
    again = ansible.module(MODULE, {"state": "absent", "revision": "canary"})
    assert again["changed"] is False


def test_helm_method_from_local_charts(lab, ansible, base_args):
    assets = lab.env.get("LAB_ISTIO_ASSETS")
    if not assets:
        pytest.skip("no local Istio charts outside the lab")
    args = dict(base_args, method="helm", chart_dir=os.path.join(assets, "charts"), revision="helmrev")
    assert "ingress_gateway" not in args  # the helm method renders gateways only when asked
    result = ansible.module(MODULE, args)
    assert not result.get("failed"), result.get("msg")
    assert result["readiness"]["istiod-helmrev"] is True
    assert ansible.module(MODULE, args)["changed"] is False
    removed = ansible.module(MODULE, {"state": "absent", "revision": "helmrev"})
    assert removed["changed"] is True
    assert lab.kubectl("get", "deployment", "istiod-helmrev", "-n", "istio-system", check=False).returncode != 0


def test_injection_still_works_after_the_install(lab, namespace):
    ns = namespace("post", labels={"istio-injection": "enabled"})
    lab.kubectl("create", "deployment", "web", "--image=example.invalid/web:1", "-n", ns)
    pod = lab.wait_for(lambda: next(iter(lab.kubectl_json("get", "pods", "-n", ns)["items"]), None),
                       what="a pod in " + ns)
    assert "istio-proxy" in [c["name"] for c in pod["spec"]["containers"] + pod["spec"].get("initContainers", [])]


def restricted_kubeconfig(lab, namespace, tmp_path):
    ns = namespace("norbac")
    lab.kubectl("create", "serviceaccount", "installer", "-n", ns)
    lab.kubectl("create", "clusterrolebinding", "view-" + ns, "--clusterrole=view",
                "--serviceaccount={0}:installer".format(ns))
    token = lab.kubectl("create", "token", "installer", "-n", ns).stdout.strip()
    cluster = lab.kubectl_json("config", "view", "--raw", "--minify")["clusters"][0]["cluster"]
    path = tmp_path / "installer.kubeconfig"
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "clusters": [{"name": "lab", "cluster": cluster}],
        "users": [{"name": "installer", "user": {"token": token}}],
        "contexts": [{"name": "installer", "context": {"cluster": "lab", "user": "installer"}}],
        "current-context": "installer"}))
    return str(path), ns


@pytest.mark.parametrize("case", ["profile", "revision", "istioctl_missing", "version", "unreachable", "rbac",
                                  "take_over"])
def test_bad_input_fails_before_any_write(lab, ansible, base_args, namespace, tmp_path, monkeypatch, case):
    args = dict(base_args, revision="bad", ingress_gateway=False)
    if case == "profile":
        args["profile"] = "no-such-profile"
        expect = ["profile 'no-such-profile' is not known", "known profiles:", "default", "demo", "minimal"]
    elif case == "revision":
        args["revision"] = "1.30.4"
        expect = ["revision '1.30.4' is not valid", "no dots"]
    elif case == "istioctl_missing":
        args["istioctl_path"] = "/nonexistent/istioctl"
        expect = ["istioctl not found at /nonexistent/istioctl"]
    elif case == "version":
        args["version"] = "1.20"
        expect = ["version 1.20 was asked but istioctl", "renders Istio 1."]
    elif case == "unreachable":
        path = tmp_path / "unreachable.kubeconfig"
        path.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "gone",
                          "cluster": {"server": "https://127.0.0.1:1", "insecure-skip-tls-verify": True}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [{"name": "gone", "context": {"cluster": "gone", "user": "u"}}],
            "current-context": "gone"}))
        args["kubeconfig"] = str(path)
        # Nothing will ever answer there: a short retry budget instead of the default 30 s.
        monkeypatch.setitem(ansible.env, "MESHOPS_RETRY_BUDGET", "2")
        expect = ["the Kubernetes API server cannot be reached"]
    elif case == "take_over":
        args["ingress_gateway"] = True  # rendered by the default revision too
        expect = ["would take over objects of another revision", "Deployment istio-system/istio-ingressgateway"]
    else:
        args["kubeconfig"] = restricted_kubeconfig(lab, namespace, tmp_path)[0]
        expect = ["HTTP 403", "forbidden", "lack an RBAC permission", "nothing was written"]
    before = istio_objects(lab)
    result = ansible.module(MODULE, args)
    assert result.get("failed") is True, result
    for text in expect:
        assert text in result["msg"], result["msg"]
    assert moved(before, istio_objects(lab)) == []
