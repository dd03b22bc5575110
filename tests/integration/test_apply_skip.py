# -*- coding: utf-8 -*-
"""The dry-run skip of Kube.plan against the real API server.

1. fields.why_not against kube-apiserver itself: objects applied by field manager meshops in one variant, then
   judged in another; whenever the verdict is "unchanged" the server's own dry run of that apply returns the
   object exactly as it is (contents, resourceVersion and managed fields). And the same object again is
   always judged unchanged (the skip really happens).
2. Through the module: mesh_policy writes 30 AuthorizationPolicies in 3 namespaces; the rerun sends no dry run
   and no write (api_calls: lists only); a changed object, and one whose field another manager changed (taken
   back), are still dry-run and written, and nothing else is.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import sys

import pytest

SEC = "security.istio.io/v1"


@pytest.fixture(scope="module")
def kube(lab, ansible):
    """A Kube of the collection under test on the lab's real API server (its own client, no module)."""
    sys.path.insert(0, ansible.env["ANSIBLE_COLLECTIONS_PATH"])
    from kubernetes import config, dynamic
    from ansible_collections.meshops.istio.plugins.module_utils import fields, kube as kube_mod

    class Module:
        check_mode = False
        params = {}

    client = dynamic.DynamicClient(config.new_client_from_config(config_file=lab.kubeconfig))
    return kube_mod.Kube(Module(), client=client), fields


def policy(ns):
    return {"apiVersion": SEC, "kind": "AuthorizationPolicy",
            "metadata": {"name": "web", "namespace": ns, "labels": {"team": "shop"}},
            "spec": {"action": "ALLOW", "selector": {"matchLabels": {"app": "web"}},
                     "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/shop/sa/api"]}}],
                                "to": [{"operation": {"methods": ["GET"], "ports": ["8080"]}}]}]}}


def deployment(ns):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"},
                                               "annotations": {"sidecar.istio.io/inject": "false"}},
                                  "spec": {"containers": [{"name": "app", "image": "example.invalid/app:1",
                                                           "ports": [{"containerPort": 8080}],
                                                           "env": [{"name": "MODE", "value": "prod"}]}]}}}}


def at(path, value):
    def change(obj):
        node = obj
        for part in path[:-1]:
            node = node[part]
        if value is KeyError:
            del node[path[-1]]
        else:
            node[path[-1]] = value
    return change


BOX = ("spec", "template", "spec", "containers", 0)
VARIANTS = {
    "AuthorizationPolicy": [
        ("same", lambda obj: None),
        ("action DENY", at(("spec", "action"), "DENY")),
        ("no selector", at(("spec", "selector"), KeyError)),
        ("label added", at(("metadata", "labels", "tier"), "front")),
        ("no labels", at(("metadata", "labels"), KeyError)),
        ("method POST", at(("spec", "rules", 0, "to", 0, "operation", "methods"), ["POST"])),
        ("port 9090", at(("spec", "rules", 0, "to", 0, "operation", "ports"), ["9090"])),
        ("empty spec", at(("spec",), {})),
        ("rules []", at(("spec", "rules"), [])),
    ],
    "Deployment": [
        ("same", lambda obj: None),
        ("replicas 2", at(("spec", "replicas"), 2)),
        ("no replicas", at(("spec", "replicas"), KeyError)),
        ("image", at(BOX + ("image",), "example.invalid/app:2")),
        ("protocol TCP given", at(BOX + ("ports", 0, "protocol"), "TCP")),
        ("port UDP", at(BOX + ("ports", 0, "protocol"), "UDP")),
        ("no env", at(BOX + ("env",), KeyError)),
        ("selector label", lambda obj: [at(("spec", "selector", "matchLabels", "tier"), "x")(obj),
                                        at(("spec", "template", "metadata", "labels", "tier"), "x")(obj)]),
    ],
}


def variant(kind, ns, name, change):
    obj = (policy if kind == "AuthorizationPolicy" else deployment)(ns)
    obj["metadata"]["name"] = name
    change(obj)
    return obj


def comparable(obj):
    """The object without what the controllers move on their own meanwhile (status, its managed fields entry,
    the revision annotation, and so the resourceVersion); generation and every applied field stay."""
    out = copy.deepcopy(obj)
    meta = out["metadata"]
    meta.pop("resourceVersion", None)
    meta["managedFields"] = [dict((k, v) for k, v in e.items() if k != "time")
                             for e in meta.get("managedFields") or [] if not e.get("subresource")]
    (meta.get("annotations") or {}).pop("deployment.kubernetes.io/revision", None)
    if meta.get("annotations") == {}:
        del meta["annotations"]
    out.pop("status", None)
    return out


@pytest.mark.parametrize("kind", sorted(VARIANTS))
def test_a_skip_is_never_wrong_on_the_real_server(namespace, kube, kind):
    k, fields = kube
    ns = namespace("skip")
    skipped = 0
    for i, (before_name, before) in enumerate(VARIANTS[kind]):
        name = "web{0}".format(i)
        k._ssa(variant(kind, ns, name, before), dry_run=False, force_conflicts=True)
        live = k.get(SEC if kind == "AuthorizationPolicy" else "apps/v1", kind, name, ns)
        for after_name, after in VARIANTS[kind]:
            second = variant(kind, ns, name, after)
            why = fields.why_not(second, live, "meshops")
            if after_name == before_name:
                assert why is None, "{0}: the same object again is not skipped: {1}".format(before_name, why)
            if why is None:
                skipped += 1
                predicted = k._ssa(second, dry_run=True, force_conflicts=True)
                assert comparable(predicted) == comparable(live), \
                    "{0} then {1}: skipped, but the server's dry run changes the object".format(before_name, after_name)
    assert skipped >= len(VARIANTS[kind])


def policies(namespaces, per_namespace=10, action="ALLOW"):
    return {"authorization_policies": [
        {"name": "p{0}".format(i), "namespace": ns, "action": action, "selector": {"app": "app{0}".format(i)},
         "rules": [{"from": [{"principals": ["cluster.local/ns/{0}/sa/client{1}".format(ns, i)]}],
                    "to": [{"methods": ["GET"], "ports": ["8080"]}]}]}
        for ns in namespaces for i in range(per_namespace)]}


def test_a_rerun_only_lists_and_changes_are_still_caught(lab, ansible, namespace):
    names = [namespace("skipmod") for dummy in range(3)]
    args = policies(names)
    first = ansible.module("meshops.istio.mesh_policy", args)
    assert not first.get("failed"), first.get("msg")
    assert first["changed"] is True and len(first["objects"]) == 30
    assert first["api_calls"]["apply_dry_run"] == 30 and first["api_calls"]["apply"] == 30

    again = ansible.module("meshops.istio.mesh_policy", args)
    assert again["changed"] is False and again["objects"] == []
    assert set(again["api_calls"]) == {"discovery", "list"}, again["api_calls"]
    assert again["api_calls"]["list"] == 3  # one per namespace

    # one object changed in the input, one whose rules another manager (kubectl) removed in the cluster
    changed = copy.deepcopy(args)
    changed["authorization_policies"][4]["rules"][0]["to"][0]["methods"] = ["GET", "HEAD"]
    lab.kubectl("patch", "authorizationpolicy", "p7", "-n", names[2], "--type", "json",
                "-p", '[{"op": "remove", "path": "/spec/rules"}]')
    third = ansible.module("meshops.istio.mesh_policy", changed)
    assert not third.get("failed"), third.get("msg")
    assert sorted((o["namespace"], o["name"]) for o in third["objects"]) == sorted(
        [(names[0], "p4"), (names[2], "p7")])
    assert third["api_calls"]["apply_dry_run"] == 2 and third["api_calls"]["apply"] == 2
    assert lab.kubectl_json("get", "authorizationpolicy", "p7", "-n", names[2])["spec"]["rules"]

    # a field meshops owns, changed by another manager: dry-run, and taken back (mesh_policy forces the conflict:
    # the policies are the collection's)
    lab.kubectl("patch", "authorizationpolicy", "p8", "-n", names[1], "--type", "merge",
                "-p", '{"spec": {"selector": {"matchLabels": {"app": "other"}}}}')
    fourth = ansible.module("meshops.istio.mesh_policy", changed)
    assert not fourth.get("failed"), fourth.get("msg")
    assert [(o["namespace"], o["name"], o["action"]) for o in fourth["objects"]] == [(names[1], "p8", "updated")]
    assert fourth["api_calls"]["apply_dry_run"] == 1 and fourth["api_calls"]["apply"] == 1
    assert lab.kubectl_json("get", "authorizationpolicy", "p8", "-n", names[1])["spec"]["selector"] == {
        "matchLabels": {"app": "app8"}}
