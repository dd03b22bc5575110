# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.meshops.istio.plugins.module_utils import diff


def obj(rv="1", data="1", managed="a", **meta):
    m = {"name": "x", "namespace": "n", "resourceVersion": rv, "generation": int(rv),
         "managedFields": [{"manager": managed}], "creationTimestamp": "t" + rv, "uid": "u"}
    m.update(meta)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": m, "data": {"k": data},
            "status": {"observed": rv}}


def test_server_managed_fields_are_ignored():
    assert not diff.differs(obj(rv="1", managed="a"), obj(rv="7", managed="b"))
    assert diff.object_diff(obj(rv="1"), obj(rv="2", managed="z")) is None


def test_real_change_is_seen_and_reported_without_server_fields():
    entry = diff.object_diff(obj(data="1"), obj(rv="2", data="2"), header="ConfigMap n/x")
    assert entry["before"]["data"] == {"k": "1"}
    assert entry["after"]["data"] == {"k": "2"}
    for side in ("before", "after"):
        assert "resourceVersion" not in entry[side]["metadata"]
        assert "managedFields" not in entry[side]["metadata"]
        assert "status" not in entry[side]
    assert entry["before_header"] == "ConfigMap n/x"


def test_creation_diff_has_empty_before():
    entry = diff.object_diff(None, obj())
    assert entry["before"] == {}
    assert entry["after"]["data"] == {"k": "1"}


def test_normalize_does_not_touch_its_input():
    o = obj()
    diff.normalize(o)
    assert o["metadata"]["resourceVersion"] == "1"


def test_revision_annotation_is_server_managed():
    a = obj(annotations={"deployment.kubernetes.io/revision": "1"})
    b = obj(annotations={"deployment.kubernetes.io/revision": "2"})
    assert not diff.differs(a, b)


def test_is_subset():
    have = {"a": {"b": 1, "c": [1, 2]}, "d": "x"}
    assert diff.is_subset({"a": {"b": 1}}, have)
    assert not diff.is_subset({"a": {"c": [1]}}, have)
    assert not diff.is_subset({"e": 1}, have)
