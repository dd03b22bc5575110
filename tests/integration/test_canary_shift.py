# -*- coding: utf-8 -*-
"""meshops.istio.canary_shift on the lab's API server and istiod (kwok pods, no traffic: the promotion and rollback
logic on real traffic is proven in dataplane/test_canary_dataplane.py), set up as the walkthrough has it: step 5's
mesh_traffic owns the service's DestinationRule and VirtualService, step 7's canary_shift releases a new version.

* check mode prints the plan and writes nothing; invalid input and a subset without a Ready pod are refused with
  the cluster unchanged;
* the two modules share the objects: canary_shift writes with its own field manager, mesh_traffic rerun in the
  middle of a rollout (also with a changed declaration) keeps the canary's weights, header route and subset, and
  after promotion neither module's rerun writes anything;
* status, promote and abort work from separate runs; an abort leaves the DestinationRule exactly as before.

Times (2 cores): about a minute for both tests, mostly ansible's start (about 3 s a task).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

import pytest

MODULE = "meshops.istio.canary_shift"
ANNOTATION = "meshops.istio/canary"
HTTP = [
    {"name": "fault-test", "match": [{"headers": {"x-meshops-fault": {"exact": "abort"}}}],
     "fault": {"abort": {"percentage": {"value": 100}, "httpStatus": 503}},
     "route": [{"destination": {"host": "users", "subset": "v1"}}]},
    {"name": "default", "route": [{"destination": {"host": "users", "subset": "v1"}}], "timeout": "10s",
     "retries": {"attempts": 3, "perTryTimeout": "3s", "retryOn": "gateway-error,connect-failure,refused-stream"}},
]


def step5(ns, timeout="10s"):
    """Step 5 of the walkthrough for one service: mesh_traffic's rule (subset v1) and routes (as the role's)."""
    http = copy.deepcopy(HTTP)
    http[1]["timeout"] = timeout
    return {"owner": "step5-" + ns,
            "destination_rules": [{"name": "users", "namespace": ns, "spec": {
                "host": "users", "trafficPolicy": {"connectionPool": {"tcp": {"maxConnections": 100}}},
                "subsets": [{"name": "v1", "labels": {"version": "v1"}}]}}],
            "virtual_services": [{"name": "users", "namespace": ns, "spec": {"hosts": ["users"], "http": http}}]}


def release(ns, **kw):
    """Step 7: users v2 beside v1, subsets named by version, no metrics (no traffic here)."""
    args = {"namespace": ns, "virtual_service": "users", "stable_subset": "v1", "canary_subset": "v2",
            "canary_labels": {"version": "v2"}, "match": [{"headers": {"x-canary-user": "true"}}],
            "steps": [{"weight": 30, "pause": "manual", "analysis": False}, {"weight": 100, "analysis": False}]}
    args.update(kw)
    return args


@pytest.fixture
def shop(lab, namespace, ansible):
    """Service users with a Ready pod of v1 and of v2 (kwok), and step 5's objects for it."""
    ns = namespace("canary")
    lab.apply("""
apiVersion: v1
kind: Service
metadata: {name: users}
spec:
  selector: {app: users}
  ports: [{name: http, port: 8081}]
---
apiVersion: v1
kind: Pod
metadata: {name: users-v1, labels: {app: users, version: v1}}
spec: {containers: [{name: users, image: users:v1}]}
---
apiVersion: v1
kind: Pod
metadata: {name: users-v2, labels: {app: users, version: v2}}
spec: {containers: [{name: users, image: users:v2}]}
""", "-n", ns)
    lab.wait_for(lambda: all(c["status"] == "True" for p in lab.kubectl_json("get", "pods", "-n", ns)["items"]
                             for c in p.get("status", {}).get("conditions", []) if c["type"] == "Ready")
                 and len(lab.kubectl_json("get", "pods", "-n", ns)["items"]) == 2, timeout=60, what="pods Ready")
    out = ansible.module("meshops.istio.mesh_traffic", step5(ns))
    assert not out.get("failed"), out.get("msg")
    return ns


def objects(lab, ns):
    return dict((i["kind"], i) for i in lab.kubectl_json(
        "get", "virtualservices.networking.istio.io,destinationrules.networking.istio.io", "-n", ns,
        "--show-managed-fields")["items"])


def versions(lab, ns):
    return dict((k, o["metadata"]["resourceVersion"]) for k, o in objects(lab, ns).items())


def weights(vs, route="default"):
    rule = [r for r in vs["spec"]["http"] if r.get("name") == route][0]
    return dict((d["destination"]["subset"], d.get("weight", 100)) for d in rule["route"])


def names(vs):
    return [r.get("name") for r in vs["spec"]["http"]]


def test_check_mode_and_bad_input_write_nothing_and_an_abort_puts_everything_back(lab, ansible, shop, tmp_path):
    ns = shop
    before = versions(lab, ns)
    plain = objects(lab, ns)
    args = release(ns, step_weight=25, step_pause="1m", prometheus_url=lab.prometheus_url)
    del args["steps"]
    check = ansible.module(MODULE, args, check=True)
    assert not check.get("failed"), check.get("msg")
    assert check["changed"] and check["message"].startswith("check mode")
    assert [(p["stable_weight"], p["canary_weight"]) for p in check["plan"]] == [(75, 25), (50, 50), (25, 75),
                                                                                 (0, 100)]
    assert versions(lab, ns) == before
    bad = [
        (release(ns, steps=[{"weight": 130}]), "steps[0].weight"),
        (release(ns, match=[{"headres": {"x": "y"}}]), "match[0].headres: unknown key"),
        (release(ns, canary_labels=None), "DestinationRule {0}/users has no subset 'v2'".format(ns)),
        (release(ns, canary_labels={"version": "v3"}), "subset 'v2' ({'version': 'v3'}) selects no Ready pod"),
        (release(ns, route="nope"), "has no HTTP route named 'nope'"),
        (release(ns, steps=[{"weight": 10}]), "prometheus_url: is needed"),
    ]
    # one playbook (one ansible start) with a task per bad input
    play = tmp_path / "bad.json"
    play.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "bad {0}".format(i), MODULE: args, "ignore_errors": True} for i, (args, dummy) in enumerate(bad)]}]))
    dummy, dummy, doc = ansible.playbook(str(play))
    results = [res for name, res in ansible.results(doc)]
    assert len(results) == len(bad)
    for (args, expected), out in zip(bad, results):
        assert out.get("failed") and expected in out["msg"], (expected, out.get("msg"))
        assert "nothing was written" in out["msg"]
    assert versions(lab, ns) == before

    # started, then aborted by another run: the DestinationRule and the routes as they were
    out = ansible.module(MODULE, release(ns))
    assert not out.get("failed") and out["phase"] == "paused", out.get("msg")
    aborted = ansible.module(MODULE, {"namespace": ns, "virtual_service": "users", "action": "abort"})
    assert not aborted.get("failed"), aborted.get("msg")
    assert aborted["phase"] == "aborted" and aborted["changed"]
    after = objects(lab, ns)
    assert after["DestinationRule"]["spec"] == plain["DestinationRule"]["spec"]  # the v2 subset it added is gone
    assert after["VirtualService"]["spec"] == plain["VirtualService"]["spec"]
    rerun = ansible.module(MODULE, release(ns))
    assert rerun.get("failed") and not rerun["changed"] and "aborted" in rerun["msg"]
    again = ansible.module("meshops.istio.mesh_traffic", step5(ns))
    assert not again.get("failed") and not again["changed"], again


def test_step_5_rerun_never_resets_the_canary_and_nothing_changes_after_promotion(lab, ansible, shop):
    ns = shop
    out = ansible.module(MODULE, release(ns))
    assert not out.get("failed"), out.get("msg")
    assert out["phase"] == "paused" and out["changed"]
    live = objects(lab, ns)
    vs, dr = live["VirtualService"], live["DestinationRule"]
    assert weights(vs) == {"v1": 70, "v2": 30} and names(vs) == ["fault-test", "default-canary", "default"]
    assert vs["spec"]["http"][1]["retries"]["attempts"] == 3  # the header route keeps the route's settings
    assert [s["name"] for s in dr["spec"]["subsets"]] == ["v1", "v2"]
    managers = set(m["manager"] for m in vs["metadata"]["managedFields"])
    assert managers == {"meshops", "meshops-canary"}, managers

    # step 5 rerun as declared: nothing to write; with a changed declaration: its change, the canary's kept
    before = versions(lab, ns)
    again = ansible.module("meshops.istio.mesh_traffic", step5(ns))
    assert not again.get("failed") and not again["changed"], again
    assert versions(lab, ns) == before
    changed = ansible.module("meshops.istio.mesh_traffic", step5(ns, timeout="12s"))
    assert not changed.get("failed"), changed.get("msg")
    assert changed["changed"]
    vs = objects(lab, ns)["VirtualService"]
    assert weights(vs) == {"v1": 70, "v2": 30} and names(vs) == ["fault-test", "default-canary", "default"]
    assert vs["spec"]["http"][2]["timeout"] == "12s"
    assert [s["name"] for s in objects(lab, ns)["DestinationRule"]["spec"]["subsets"]] == ["v1", "v2"]

    status = ansible.module(MODULE, {"namespace": ns, "virtual_service": "users", "action": "status"})
    assert not status.get("failed") and not status["changed"] and status["phase"] == "paused"
    promoted = ansible.module(MODULE, dict(release(ns), action="promote"))
    assert not promoted.get("failed"), promoted.get("msg")
    vs = objects(lab, ns)["VirtualService"]
    assert promoted["phase"] == "promoted" and weights(vs) == {"v1": 0, "v2": 100} and "default-canary" not in names(vs)

    before = versions(lab, ns)
    for module, args in (("meshops.istio.mesh_traffic", step5(ns, timeout="12s")), (MODULE, release(ns))):
        out = ansible.module(module, args)
        assert not out.get("failed") and not out["changed"], (module, out)
    assert versions(lab, ns) == before
    state = json.loads(objects(lab, ns)["VirtualService"]["metadata"]["annotations"][ANNOTATION])
    assert state["phase"] == "promoted" and state["release"] == "v2: version=v2"
