# -*- coding: utf-8 -*-
"""meshops.istio.mesh_onboard against the lab: Deployments created before injection are restarted and
get istio-proxy from the real istiod; a rerun restarts nothing; STRICT is refused while an opted-out
Deployment runs without the sidecar, and applied with force; bad input fails before any write."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

MODULE = "meshops.istio.mesh_onboard"
APPS = ("web", "cart", "pay")


def deployment(ns, name, opt_out=False, replicas=2):
    annotations = {"sidecar.istio.io/inject": "false"} if opt_out else {}
    return json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}, "annotations": annotations},
                              "spec": {"containers": [{"name": name, "image": "example.invalid/{0}:1".format(name)}]}}}})


def deploy(lab, ns, *names, **kw):
    """Create Deployments and wait until they are rolled out (their pods Running and Ready)."""
    for name in names:
        lab.apply(deployment(ns, name, opt_out=name in kw.get("opted_out", ())))
    for name in names:
        lab.kubectl("rollout", "status", "deployment/" + name, "-n", ns, "--timeout=120s", timeout=150)


def pods(lab, ns):
    """{pod name: (container names, sidecar status annotation, Ready)} of the namespace's live pods."""
    out = {}
    for pod in lab.kubectl_json("get", "pods", "-n", ns)["items"]:
        if pod["metadata"].get("deletionTimestamp"):
            continue
        spec = pod["spec"]
        names = [c["name"] for c in spec["containers"] + spec.get("initContainers", [])]
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))
        out[pod["metadata"]["name"]] = (names, (pod["metadata"].get("annotations") or {}).get(
            "sidecar.istio.io/status"), ready)
    return out


def app_of(pod_name):
    return pod_name.rsplit("-", 2)[0]


def snapshot(lab, ns):
    """Everything a run could write in the namespace, by resourceVersion, plus the pod names."""
    state = {"namespace": lab.kubectl_json("get", "namespace", ns)["metadata"]["resourceVersion"]}
    for kind in ("deployments", "peerauthentications.security.istio.io", "authorizationpolicies.security.istio.io"):
        for item in lab.kubectl_json("get", kind, "-n", ns)["items"]:
            state["{0}/{1}".format(item["kind"], item["metadata"]["name"])] = item["metadata"]["resourceVersion"]
    state["pods"] = sorted(pods(lab, ns))
    return state


def test_three_deployments_are_onboarded_and_a_rerun_restarts_nothing(lab, ansible, namespace):
    ns = namespace("onb")
    deploy(lab, ns, *APPS)
    before = pods(lab, ns)
    assert len(before) == 6 and all("istio-proxy" not in names for names, dummy, dummy2 in before.values())
    args = {"namespaces": [ns], "max_concurrent_restarts": 2, "wait_timeout": 120}

    # check mode: reports the label and the three restarts, changes nothing
    state = snapshot(lab, ns)
    check = ansible.module(MODULE, args, check=True, diff=True)
    assert not check.get("failed"), check.get("msg")
    assert check["changed"] is True
    assert check["namespaces"][ns]["labelled"] is True
    assert sorted(check["restarted"]) == sorted("{0}/Deployment/{1}".format(ns, a) for a in APPS)
    assert any(d["before_header"] == "Namespace {0} (updated)".format(ns) for d in check["diff"])
    assert set(check["api_calls"]) <= {"discovery", "list", "get", "apply_dry_run", "patch_dry_run"}
    assert snapshot(lab, ns) == state

    result = ansible.module(MODULE, args)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    assert result["namespaces"][ns]["labels"] == {"istio-injection": "enabled"}
    assert sorted(result["restarted"]) == sorted("{0}/Deployment/{1}".format(ns, a) for a in APPS)
    assert [w["state"] for w in result["namespaces"][ns]["workloads"]] == ["restarted"] * 3
    assert result["missing_sidecar"] == [] and result["failed_workloads"] == []
    assert any("default service account" in w for w in result.get("warnings", []))
    labels = lab.kubectl_json("get", "namespace", ns)["metadata"]["labels"]
    assert labels.get("istio-injection") == "enabled" and "istio.io/rev" not in labels

    after = pods(lab, ns)
    assert len(after) == 6 and not set(after) & set(before), "every pod was replaced"
    assert sorted(set(app_of(p) for p in after)) == sorted(APPS)
    for name, (containers, status, ready) in after.items():
        assert "istio-proxy" in containers, name
        assert status and json.loads(status)["revision"] == "default", name  # injected by istiod's webhook
        assert ready, name

    again = ansible.module(MODULE, args)
    assert not again.get("failed"), again.get("msg")
    assert again["changed"] is False
    assert again["restarted"] == [] and again["objects"] == []
    assert [w["state"] for w in again["namespaces"][ns]["workloads"]] == ["injected"] * 3
    assert set(again["api_calls"]) <= {"discovery", "list", "get"}
    assert sorted(pods(lab, ns)) == sorted(after)


def test_a_deny_all_flipped_to_audit_by_hand_is_restored(lab, ansible, namespace):
    """deny-all is ALLOW without rules; flipped to AUDIT by kubectl it allows every request (istiod refuses a DENY
    without rules). The rerun puts the action back (reported updated), the run after writes nothing."""
    ns = namespace("onbdrift")
    args = {"namespaces": [ns], "default_deny": True, "wait_timeout": 60}
    first = ansible.module(MODULE, args)
    assert not first.get("failed"), first.get("msg")
    policy = "authorizationpolicies.security.istio.io"
    assert lab.kubectl_json("get", policy, "deny-all", "-n", ns)["spec"] == {"action": "ALLOW", "rules": []}
    lab.kubectl("patch", policy, "deny-all", "-n", ns, "--type=merge", "-p", '{"spec":{"action":"AUDIT"}}')

    rerun = ansible.module(MODULE, args)
    assert not rerun.get("failed"), rerun.get("msg")
    assert rerun["changed"] is True and rerun["namespaces"][ns]["authorization_policy"] == "updated"
    assert lab.kubectl_json("get", policy, "deny-all", "-n", ns)["spec"] == {"action": "ALLOW", "rules": []}
    state = snapshot(lab, ns)
    again = ansible.module(MODULE, args)
    assert again["changed"] is False and set(again["api_calls"]) <= {"discovery", "list", "get"}
    assert snapshot(lab, ns) == state


def test_strict_is_refused_for_an_opted_out_deployment_and_applied_with_force(lab, ansible, namespace):
    ns = namespace("onbs")
    deploy(lab, ns, "web", "legacy", opted_out=("legacy",))
    args = {"namespaces": [ns], "mtls_mode": "STRICT", "default_deny": True, "wait_timeout": 120}
    state = snapshot(lab, ns)
    refused = ansible.module(MODULE, args)
    assert refused.get("failed") is True
    assert "mtls_mode STRICT refused" in refused["msg"]
    assert "{0}/Deployment/legacy".format(ns) in refused["msg"]
    assert "{0}/Deployment/web".format(ns) not in refused["msg"]
    assert "force: true" in refused["msg"]
    assert snapshot(lab, ns) == state, "nothing is written when STRICT is refused"

    forced = ansible.module(MODULE, dict(args, force=True))
    assert not forced.get("failed"), forced.get("msg")
    assert forced["restarted"] == ["{0}/Deployment/web".format(ns)]
    assert forced["opted_out"] == ["{0}/Deployment/legacy".format(ns)]
    assert forced["missing_sidecar"] == ["{0}/Deployment/legacy".format(ns)]
    assert forced["namespaces"][ns]["peer_authentication"] == "created"
    assert forced["namespaces"][ns]["authorization_policy"] == "created"
    peer = lab.kubectl_json("get", "peerauthentications.security.istio.io", "default", "-n", ns)
    assert peer["spec"] == {"mtls": {"mode": "STRICT"}}
    deny = lab.kubectl_json("get", "authorizationpolicies.security.istio.io", "deny-all", "-n", ns)
    assert deny["spec"] == {"action": "ALLOW", "rules": []}, "deny-all: ALLOW with no rule (written explicitly)"
    for name, (containers, dummy, ready) in pods(lab, ns).items():
        assert ready and ("istio-proxy" in containers) == (app_of(name) == "web"), name

    state = snapshot(lab, ns)
    again = ansible.module(MODULE, dict(args, force=True))
    assert not again.get("failed"), again.get("msg")
    assert again["changed"] is False
    assert snapshot(lab, ns) == state


def test_revision_label_replaces_istio_injection_set_by_another_tool(lab, ansible, namespace):
    # istio-injection was set with kubectl label: server-side apply could not remove it, the merge patch does.
    ns = namespace("onbr", labels={"istio-injection": "enabled"})
    deploy(lab, ns, "web")
    names = sorted(pods(lab, ns))
    result = ansible.module(MODULE, {"namespaces": [ns], "revision": "default"})
    assert not result.get("failed"), result.get("msg")
    assert result["namespaces"][ns]["labelled"] is True and result["restarted"] == []
    labels = lab.kubectl_json("get", "namespace", ns)["metadata"]["labels"]
    assert labels.get("istio.io/rev") == "default" and "istio-injection" not in labels
    assert sorted(pods(lab, ns)) == names
    assert ansible.module(MODULE, {"namespaces": [ns], "revision": "default"})["changed"] is False


@pytest.mark.parametrize("case", ["mtls_mode", "revision_format", "revision_unknown", "no_namespaces",
                                  "both_scopes", "missing_namespace", "selector", "system_namespace",
                                  "max_concurrent_restarts", "wait_timeout"])
def test_bad_input_fails_before_any_write(lab, ansible, namespace, case):
    ns = namespace("onbx")
    deploy(lab, ns, "web")
    args = {"namespaces": [ns], "mtls_mode": "PERMISSIVE", "default_deny": True}
    if case == "mtls_mode":
        args["mtls_mode"] = "strict"
        expect = ["mtls_mode", "PERMISSIVE, STRICT", "strict"]
    elif case == "revision_format":
        args["revision"] = "1.30.4"
        expect = ["revision '1.30.4' is not valid", "no dots"]
    elif case == "revision_unknown":
        args["revision"] = "nosuchrev"
        expect = ["revision 'nosuchrev' has no sidecar injector", "installed revisions: ", "default"]
    elif case == "no_namespaces":
        args["namespaces"] = []
        expect = ["namespaces (a non-empty list of names) or namespace_selector"]
    elif case == "both_scopes":
        args["namespace_selector"] = "team=shop"
        expect = ["mutually exclusive", "namespaces", "namespace_selector"]
    elif case == "missing_namespace":
        args["namespaces"] = [ns, ns + "-missing"]
        expect = ["namespaces: not found: {0}-missing".format(ns)]
    elif case == "selector":
        del args["namespaces"]
        args["namespace_selector"] = "team in ("
        expect = ["namespace_selector 'team in (' is not a valid label selector"]
    elif case == "system_namespace":
        args["namespaces"] = [ns, "kube-system"]
        expect = ["namespaces[1]: kube-system is a system namespace"]
    elif case == "max_concurrent_restarts":
        args["max_concurrent_restarts"] = 0
        expect = ["max_concurrent_restarts: must be a whole number of 1 or more, not 0"]
    else:
        args["wait_timeout"] = 0
        expect = ["wait_timeout: must be a positive whole number of seconds (1 or more), not 0"]
    state = snapshot(lab, ns)
    system = lab.kubectl_json("get", "namespace", "kube-system")["metadata"]["resourceVersion"]
    result = ansible.module(MODULE, args)
    assert result.get("failed") is True, result
    for text in expect:
        assert text in result["msg"], result["msg"]
    assert snapshot(lab, ns) == state
    assert lab.kubectl_json("get", "namespace", "kube-system")["metadata"]["resourceVersion"] == system
    assert not set(result.get("api_calls") or {}) & {"apply", "patch", "delete"}
