# -*- coding: utf-8 -*-
"""fields.why_not: a server-side apply is skipped only when it certainly changes nothing.

Each case applies an object through the fake API server (which keeps managedFields as the real server does,
tests/unit/managed.py), changes the live object or the desired one, and checks the verdict; a sweep over many
mutations checks the one direction that matters: whenever the verdict is "unchanged", a real apply leaves the
object exactly as it was (contents and managed fields)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.meshops.istio.plugins.module_utils import fields
from ansible_collections.meshops.istio.tests.unit.fakes import FakeClient, FakeResource

SEC = "security.istio.io/v1"


def policy(**spec):
    base = {"action": "ALLOW", "selector": {"matchLabels": {"app": "web"}},
            "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/shop/sa/api"]}}],
                       "to": [{"operation": {"methods": ["GET"], "ports": ["8080"]}}]}]}
    base.update(spec)
    return {"apiVersion": SEC, "kind": "AuthorizationPolicy",
            "metadata": {"name": "web", "namespace": "shop", "labels": {"team": "shop"},
                         "annotations": {"note": "x"}},
            "spec": base}


def deployment(**container):
    box = {"name": "app", "image": "app:1", "ports": [{"containerPort": 8080, "protocol": "TCP"}],
           "env": [{"name": "MODE", "value": "prod"}]}
    box.update(container)
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [box]}}}}


def res_of(obj):
    return FakeResource(obj["apiVersion"], obj["kind"])


def applied(obj, client=None, manager="meshops", force=False):
    """The fake server with ``obj`` applied by ``manager``; returns (client, live object)."""
    client = client or FakeClient()
    meta = obj["metadata"]
    client.server_side_apply(res_of(obj), body=copy.deepcopy(obj), name=meta["name"],
                             namespace=meta.get("namespace"), field_manager=manager, force_conflicts=force)
    return client, live(client, obj)


def key(obj):
    return (obj["apiVersion"], obj["kind"], obj["metadata"].get("namespace"), obj["metadata"]["name"])


def live(client, obj):
    return copy.deepcopy(client.store[key(obj)])


def verdict(desired, current):
    return fields.why_not(desired, current, "meshops")


def test_the_same_object_again_is_skipped():
    for obj in (policy(), deployment()):
        client, current = applied(obj)
        assert verdict(obj, current) is None
        assert fields.unchanged(obj, current, "meshops")


def test_the_real_servers_field_set_shape_is_read():
    """managedFields as kube-apiserver 1.34 wrote them on the lab (kubectl apply --server-side --field-manager
    meshops, then kubectl get --show-managed-fields): list elements carry '.', maps do not (Update entries do);
    a Deployment's selector is atomic; the port's key has the defaulted protocol, its element does not own it."""
    desired = deployment(ports=[{"containerPort": 8080}])
    desired["metadata"]["labels"] = {"app": "web"}
    desired["spec"]["replicas"] = 1
    desired["spec"]["template"]["metadata"]["annotations"] = {"sidecar.istio.io/inject": "false"}
    current = copy.deepcopy(desired)
    current["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] = "TCP"  # defaulted
    current["spec"]["strategy"] = {"type": "RollingUpdate"}  # defaulted: nobody's field
    current["status"] = {"replicas": 1}
    current["metadata"]["annotations"] = {"deployment.kubernetes.io/revision": "1"}
    current["metadata"].update(uid="u", resourceVersion="7", generation=1, managedFields=[{
        "apiVersion": "apps/v1", "fieldsType": "FieldsV1", "manager": "meshops", "operation": "Apply",
        "time": "2026-11-24T20:40:00Z", "fieldsV1": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:replicas": {}, "f:selector": {}, "f:template": {
                "f:metadata": {"f:annotations": {"f:sidecar.istio.io/inject": {}}, "f:labels": {"f:app": {}}},
                "f:spec": {"f:containers": {'k:{"name":"app"}': {
                    ".": {}, "f:env": {'k:{"name":"MODE"}': {".": {}, "f:name": {}, "f:value": {}}},
                    "f:image": {}, "f:name": {},
                    "f:ports": {'k:{"containerPort":8080,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}}}}}}}}},
        {"apiVersion": "apps/v1", "fieldsType": "FieldsV1", "manager": "kube-controller-manager",
         "operation": "Update", "subresource": "status", "time": "2026-11-24T20:40:01Z", "fieldsV1": {
             "f:metadata": {"f:annotations": {".": {}, "f:deployment.kubernetes.io/revision": {}}},
             "f:status": {"f:replicas": {}}}}])
    assert verdict(desired, current) is None
    newer = copy.deepcopy(desired)
    newer["spec"]["template"]["spec"]["containers"][0]["image"] = "app:2"
    assert "image" in verdict(newer, current)
    explicit = copy.deepcopy(desired)
    explicit["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] = "TCP"
    assert "not owned" in verdict(explicit, current)  # protocol set now: an apply would own it


def test_a_field_removed_from_the_desired_object_is_not_skipped():
    client, current = applied(policy())
    smaller = policy()
    del smaller["spec"]["selector"]
    assert "no longer desired" in verdict(smaller, current)
    unlabelled = policy()
    del unlabelled["metadata"]["labels"]["team"]
    assert "metadata.labels" in verdict(unlabelled, current)


def test_a_field_added_or_changed_is_not_skipped():
    client, current = applied(policy())
    assert "not owned" in verdict(policy(provider={"name": "x"}), current)
    assert "differs" in verdict(policy(action="DENY"), current)
    more = policy()
    more["metadata"]["labels"]["tier"] = "front"
    assert "labels.tier" in verdict(more, current)


def test_a_field_another_manager_changed_is_not_skipped():
    client, dummy = applied(policy())
    client.edit(key(policy()), {("spec", "action"): "DENY"})
    current = live(client, policy())
    # the edit took the field from meshops (and the live value differs): an apply would take it back
    assert verdict(policy(), current) is not None
    # another manager setting the same value shares the field: nothing would change
    client, dummy = applied(policy())
    client.edit(key(policy()), {("spec", "action"): "ALLOW"})
    assert verdict(policy(), live(client, policy())) is None


def test_fields_of_other_managers_and_defaults_do_not_matter():
    client, dummy = applied(policy())
    client.edit(key(policy()), {("metadata", "labels", "owner"): "ops", ("spec", "provider"): {"name": "ext"}})
    assert verdict(policy(), live(client, policy())) is None
    client = FakeClient()
    client.defaulting["Deployment"] = lambda obj: obj["spec"].setdefault("strategy", {"type": "RollingUpdate"})
    client, current = applied(deployment(), client)
    assert current["spec"]["strategy"] == {"type": "RollingUpdate"}
    assert verdict(deployment(), current) is None


def test_a_default_inside_an_atomic_list_is_dry_run():
    client = FakeClient()
    client.defaulting["AuthorizationPolicy"] = lambda obj: obj["spec"]["rules"][0].setdefault("when", [])
    client, current = applied(policy(), client)
    assert "atomic" in verdict(policy(), current)


def test_list_map_keys():
    client, current = applied(deployment())
    assert verdict(deployment(), current) is None
    # a key field left to the server's default (protocol TCP) cannot be matched without the server
    assert "defaults" in verdict(deployment(ports=[{"containerPort": 8080}]), current)
    # another element, an element removed, another order
    two = deployment()
    two["spec"]["template"]["spec"]["containers"].append({"name": "side", "image": "s:1"})
    assert verdict(two, current) is not None
    client, current = applied(two)
    assert verdict(two, current) is None
    one = deployment()
    assert verdict(one, current) is not None
    swapped = copy.deepcopy(two)
    swapped["spec"]["template"]["spec"]["containers"].reverse()
    assert verdict(swapped, current) is not None
    # a renamed element (another key)
    assert "key" in verdict(deployment(name="main"), applied(deployment())[1])


def test_atomic_lists_and_maps():
    client, current = applied(policy())
    changed = policy()
    changed["spec"]["rules"][0]["to"][0]["operation"]["methods"] = ["GET", "POST"]
    assert "atomic" in verdict(changed, current)
    fewer = policy(rules=[])
    assert verdict(fewer, current) is not None
    # the Deployment's selector is atomic: owned as one leaf, compared whole
    client, current = applied(deployment())
    other = deployment()
    other["spec"]["selector"]["matchLabels"]["tier"] = "x"
    assert "atomic" in verdict(other, current)


def test_an_atomic_looking_leaf_that_another_manager_owns_below_is_dry_run():
    obj = policy(selector={})
    client, dummy = applied(obj)
    client.edit(key(obj), {("spec", "selector", "matchLabels"): {"app": "web"}})
    current = live(client, obj)
    current["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:selector"] = {
        "f:matchLabels": {"f:app": {}}}  # the editor owns fields below the selector
    assert "another manager" in verdict(policy(), current)


def test_values_equal_in_another_type_are_not_equal():
    client, current = applied(policy())
    for spec in ({"action": 1}, {"selector": {"matchLabels": {"app": 1}}}):
        assert verdict(policy(**spec), current) is not None
    obj = policy()
    obj["spec"]["replicas"] = 1
    client, current = applied(obj)
    floats = copy.deepcopy(obj)
    floats["spec"]["replicas"] = 1.0
    assert "differs" in verdict(floats, current)
    truthy = copy.deepcopy(obj)
    truthy["spec"]["replicas"] = True
    assert "differs" in verdict(truthy, current)
    text = copy.deepcopy(obj)
    text["spec"]["replicas"] = "1"
    assert "differs" in verdict(text, current)
    ports = deployment()
    client, current = applied(ports)
    assert verdict(deployment(ports=[{"containerPort": "8080", "protocol": "TCP"}]), current) is not None


def test_empty_maps_nulls_and_empty_lists():
    deny = policy()
    deny["spec"] = {}
    client, current = applied(deny)
    assert verdict(deny, current) is None
    assert "atomic" in verdict(policy(), current)  # owned as one leaf, and the live value differs
    assert "empty map" in verdict(deny, applied(policy())[1])
    nulls = policy(provider=None)
    assert "null" in verdict(nulls, applied(nulls)[1])
    empty = policy(rules=[])
    client, current = applied(empty)
    assert current["spec"]["rules"] == [] and verdict(empty, current) is None  # kept empty, and owned
    assert "empty list" in verdict(empty, applied(policy())[1])  # live rules: an apply would empty them
    dropped = copy.deepcopy(current)
    del dropped["spec"]["rules"]  # a schema that does not keep empty lists
    assert "not in the live object" in verdict(empty, dropped)
    client.edit(key(empty), {("spec", "rules"): [{"from": [{"source": {"namespaces": ["ops"]}}]}]})
    assert verdict(empty, live(client, empty)) is not None  # another manager's rules


def omitempty(obj):
    """What the API server does to a typed object's zero values: it does not store them."""
    for box in obj["spec"]["template"]["spec"]["containers"]:
        for env in box.get("env") or []:
            if env.get("value") == "":
                del env["value"]


def test_zero_values_a_typed_object_does_not_store():
    client = FakeClient()
    client.defaulting["Deployment"] = omitempty
    empty = deployment(env=[{"name": "PLATFORM", "value": ""}])
    client, current = applied(empty, client)
    assert "value" not in current["spec"]["template"]["spec"]["containers"][0]["env"][0]
    assert verdict(empty, current) is None
    assert "not in the live object" in verdict(deployment(env=[{"name": "PLATFORM", "value": "x"}]), current)
    # a custom resource stores what it is given: owned and absent there is never a zero value left out
    obj = policy(provider={"name": ""})
    client, current = applied(obj)
    del current["spec"]["provider"]["name"]
    assert "not in the live object" in verdict(obj, current)


def test_sets():
    obj = policy()
    obj["metadata"]["finalizers"] = ["a.example/x", "b.example/y"]
    client, current = applied(obj)
    assert verdict(obj, current) is None
    other = copy.deepcopy(obj)
    other["metadata"]["finalizers"] = ["a.example/x"]
    assert "no longer desired" in verdict(other, current)
    other["metadata"]["finalizers"] = ["b.example/y", "a.example/x"]
    assert "set" in verdict(other, current)


@pytest.mark.parametrize("change,expect", [
    (lambda live: live["metadata"].pop("managedFields"), "no single Apply entry"),
    (lambda live: live["metadata"]["managedFields"][0].update(operation="Update"), "no single Apply entry"),
    (lambda live: live["metadata"]["managedFields"][0].update(apiVersion="security.istio.io/v1beta1"),
     "applied as"),
    (lambda live: live["metadata"].update(deletionTimestamp="2026-11-24T20:00:00Z"), "being deleted"),
])
def test_what_the_live_object_says_can_rule_the_skip_out(change, expect):
    client, current = applied(policy())
    change(current)
    assert expect in verdict(policy(), current)
    assert verdict(policy(), None) == "not live"


def test_runtime_metadata_in_the_desired_object_is_dry_run():
    client, current = applied(policy())
    obj = policy()
    obj["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
    assert "resourceVersion" in verdict(obj, current)
    other = policy()
    other["metadata"]["namespace"] = "elsewhere"
    assert "namespace" in verdict(other, current)


def mutations():
    """(name, function of a desired object) pairs: every kind of change the tests above name, and more."""
    def at(path, value):
        def change(obj):
            node = obj
            for part in path[:-1]:
                node = node[part]
            node[path[-1]] = value
        return change

    def drop(path):
        def change(obj):
            node = obj
            for part in path[:-1]:
                node = node[part]
            del node[path[-1]]
        return change

    box = ("spec", "template", "spec", "containers", 0)
    return [
        ("same", lambda obj: None),
        ("replicas 3", at(("spec", "replicas"), 3)),
        ("replicas 2.0", at(("spec", "replicas"), 2.0)),
        ("replicas '2'", at(("spec", "replicas"), "2")),
        ("no replicas", drop(("spec", "replicas"))),
        ("image", at(box + ("image",), "app:2")),
        ("no env", drop(box + ("env",))),
        ("env value", at(box + ("env", 0, "value"), "dev")),
        ("env renamed", at(box + ("env", 0, "name"), "LEVEL")),
        ("env value empty", at(box + ("env", 0, "value"), "")),
        ("port as text", at(box + ("ports", 0, "containerPort"), "8080")),
        ("port protocol left out", drop(box + ("ports", 0, "protocol"))),
        ("port UDP", at(box + ("ports", 0, "protocol"), "UDP")),
        ("label added", at(("spec", "template", "metadata", "labels", "v"), "1")),
        ("selector label", at(("spec", "selector", "matchLabels", "app"), "api")),
        ("annotation", at(("metadata", "annotations"), {"a": "b"})),
        ("empty annotations", at(("metadata", "annotations"), {})),
        ("null strategy", at(("spec", "strategy"), None)),
        ("second container", lambda obj: obj["spec"]["template"]["spec"]["containers"].append(
            {"name": "b", "image": "b"})),
        ("no containers", at(("spec", "template", "spec", "containers"), [])),
    ]


@pytest.mark.parametrize("before_name,before", mutations())
@pytest.mark.parametrize("after_name,after", mutations())
def test_a_skip_is_never_wrong(before_name, before, after_name, after):
    """Apply one variant, then judge another: whenever the verdict is 'unchanged', applying it really changes
    nothing (object and managed fields), with another manager's fields and server defaults around."""
    first = deployment()
    before(first)
    client = FakeClient()
    client.defaulting["Deployment"] = lambda obj: [obj["spec"].setdefault("revisionHistoryLimit", 10),
                                                   omitempty(obj)]
    client, dummy = applied(first, client)
    client.edit(key(first), {("metadata", "labels", "ops"): "yes"})
    current = live(client, first)
    second = deployment()
    after(second)
    if verdict(second, current) is None:
        applied(second, client)
        assert live(client, second) == current, "{0} then {1}: skipped, but an apply changes the object".format(
            before_name, after_name)
    if before_name == after_name and before_name in ("same", "image", "replicas 3", "label added",
                                                     "port protocol left out", "env value empty"):
        assert verdict(second, current) is None, "{0}: the same object again is not skipped".format(before_name)
