# -*- coding: utf-8 -*-
"""PeerAuthentication precedence, case by case against Istio's documented rules.

Sources (Istio's PeerAuthentication reference, https://istio.io/latest/docs/reference/config/security/
peer_authentication/, and the authentication concept page): mesh-level policy in the root namespace, namespace
policy, workload policy with a selector; the narrowest wins; UNSET inherits from the parent; the default is
PERMISSIVE; port-level mTLS of a workload policy keys the workload's port; "PeerAuthentication policies with
workload selectors are ignored when deployed in the root namespace"; of several policies at one scope Istio
applies the oldest. Each test names the documented example or rule it checks.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.meshops.istio.plugins.module_utils import peers
from ansible_collections.meshops.istio.plugins.module_utils.peers import Decision

ROOT = "istio-system"


def pa(name, namespace, mode=None, selector=None, ports=None, created="2026-01-01T00:00:00Z", mtls=True):
    spec = {}
    if selector is not None:
        spec["selector"] = {"matchLabels": selector}
    if mtls:
        spec["mtls"] = {"mode": mode} if mode else {}
    if ports:
        spec["portLevelMtls"] = dict((p, {"mode": m}) for p, m in ports.items())
    return {"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": created}, "spec": spec}


def decide(policies, labels=None, ports=(8080, 9090), namespace="foo"):
    base, per_port, found = peers.effective(policies, namespace, labels or {"app": "finance"}, list(ports), ROOT)
    return base, per_port, found


def test_no_policy_is_permissive_by_default():
    base, ports, dummy = decide([])
    assert base == Decision("PERMISSIVE", None, "default")
    assert ports[8080] == base and base.accepts_plaintext


def test_mesh_policy_in_the_root_namespace_applies_everywhere():
    base, dummy, dummy = decide([pa("default", ROOT, "STRICT")])
    assert base == Decision("STRICT", "PeerAuthentication istio-system/default", "mesh")
    assert not base.accepts_plaintext


def test_namespace_policy_overrides_the_mesh_policy():
    base, dummy, dummy = decide([pa("default", ROOT, "STRICT"), pa("default", "foo", "PERMISSIVE")])
    assert base == Decision("PERMISSIVE", "PeerAuthentication foo/default", "namespace")


def test_doc_example_permissive_namespace_strict_finance():
    """"Policies to allow both mTLS and plaintext traffic for all workloads under namespace foo, but require
    mTLS for workload finance.\""""
    policies = [pa("default", "foo", "PERMISSIVE"), pa("finance", "foo", "STRICT", selector={"app": "finance"})]
    assert decide(policies)[0] == Decision("STRICT", "PeerAuthentication foo/finance", "workload")
    assert decide(policies, labels={"app": "other"})[0] == Decision("PERMISSIVE", "PeerAuthentication foo/default",
                                                                    "namespace")


def test_doc_example_strict_workload_with_port_8080_disabled():
    """"Policy that enables strict mTLS for all finance workloads, but leaves the port 8080 to plaintext.\""""
    policies = [pa("default", "foo", "STRICT", selector={"app": "finance"}, ports={8080: "DISABLE"})]
    base, ports, dummy = decide(policies)
    assert base == Decision("STRICT", "PeerAuthentication foo/default", "workload")
    assert ports[8080] == Decision("DISABLE", "PeerAuthentication foo/default", "workload-port")
    assert ports[9090] == base


def test_doc_example_unset_inherits_and_port_8080_is_overridden():
    """"Policy that inherits mTLS mode from namespace (or mesh) settings, and disables mTLS for workload port
    8080.\""""
    policies = [pa("default", ROOT, "STRICT"),
                pa("finance", "foo", "UNSET", selector={"app": "finance"}, ports={8080: "DISABLE"})]
    base, ports, dummy = decide(policies)
    assert base == Decision("STRICT", "PeerAuthentication istio-system/default", "mesh")
    assert ports[8080] == Decision("DISABLE", "PeerAuthentication foo/finance", "workload-port")
    assert ports[9090] == base


@pytest.mark.parametrize("mtls", [False, True], ids=["no mtls field", "mtls without mode"])
def test_a_policy_saying_nothing_inherits(mtls):
    base, dummy, dummy = decide([pa("default", ROOT, "STRICT"), pa("default", "foo", None, mtls=mtls)])
    assert base.mode == "STRICT" and base.scope == "mesh"


def test_unset_namespace_inherits_a_disabled_mesh():
    base, dummy, dummy = decide([pa("default", ROOT, "DISABLE"), pa("default", "foo", "UNSET")])
    assert base == Decision("DISABLE", "PeerAuthentication istio-system/default", "mesh")


def test_workload_selector_in_the_root_namespace_is_ignored():
    """"PeerAuthentication policies with workload selectors are ignored when deployed in the root namespace.\""""
    policies = [pa("default", ROOT, "PERMISSIVE"), pa("finance", ROOT, "STRICT", selector={"app": "finance"})]
    assert decide(policies)[0] == Decision("PERMISSIVE", "PeerAuthentication istio-system/default", "mesh")


def test_oldest_namespace_policy_wins_and_the_other_is_shadowed():
    older = pa("a-older", "foo", "STRICT", created="2026-01-01T00:00:00Z")
    younger = pa("b-younger", "foo", "DISABLE", created="2026-02-01T00:00:00Z")
    base, dummy, found = decide([younger, older])
    assert base.policy == "PeerAuthentication foo/a-older" and base.mode == "STRICT"
    assert found.shadowed == [(younger, older)]


def test_oldest_workload_policy_wins_even_when_named_later():
    older = pa("zz", "foo", "DISABLE", selector={"app": "finance"}, created="2026-01-01T00:00:00Z")
    younger = pa("aa", "foo", "STRICT", selector={"version": "v1"}, created="2026-03-01T00:00:00Z")
    base, dummy, found = decide([younger, older], labels={"app": "finance", "version": "v1"})
    assert base == Decision("DISABLE", "PeerAuthentication foo/zz", "workload")
    assert found.shadowed == [(younger, older)]


def test_same_creation_time_is_ordered_by_name():
    a, b = pa("a", "foo", "STRICT"), pa("b", "foo", "DISABLE")
    assert decide([b, a])[0].policy == "PeerAuthentication foo/a"


def test_port_level_of_a_namespace_wide_policy_is_ignored():
    base, ports, dummy = decide([pa("default", "foo", "STRICT", ports={8080: "DISABLE"})])
    assert ports[8080] == base == Decision("STRICT", "PeerAuthentication foo/default", "namespace")


def test_port_level_of_the_losing_workload_policy_is_ignored():
    older = pa("older", "foo", "STRICT", selector={"app": "finance"}, created="2026-01-01T00:00:00Z")
    younger = pa("younger", "foo", "STRICT", selector={"app": "finance"}, ports={8080: "DISABLE"},
                 created="2026-05-01T00:00:00Z")
    assert decide([older, younger])[1][8080].mode == "STRICT"


def test_unset_port_level_inherits_the_workload_mode():
    base, ports, dummy = decide([pa("default", "foo", "DISABLE"),
                                 pa("w", "foo", "STRICT", selector={"app": "finance"}, ports={8080: "UNSET"})])
    assert ports[8080] == base == Decision("STRICT", "PeerAuthentication foo/w", "workload")


def test_unset_port_level_and_unset_workload_inherit_the_namespace():
    base, ports, dummy = decide([pa("default", "foo", "PERMISSIVE"),
                                 pa("w", "foo", "UNSET", selector={"app": "finance"}, ports={8080: "UNSET"})])
    assert ports[8080] == base == Decision("PERMISSIVE", "PeerAuthentication foo/default", "namespace")


def test_port_keys_given_as_strings_count():
    base, ports, dummy = decide([pa("w", "foo", "STRICT", selector={"app": "finance"}, ports={"8080": "DISABLE"})])
    assert ports[8080].mode == "DISABLE"


def test_selector_that_does_not_match_does_not_apply():
    base, dummy, found = decide([pa("w", "foo", "STRICT", selector={"app": "finance", "version": "v2"})],
                                labels={"app": "finance", "version": "v1"})
    assert base == peers.DEFAULT_DECISION and found.workload is None


def test_empty_match_labels_is_a_namespace_wide_policy():
    base, dummy, dummy = decide([pa("default", "foo", "STRICT", selector={})], labels={"app": "x"})
    assert base.scope == "namespace"


def test_policies_of_other_namespaces_do_not_apply():
    base, dummy, dummy = decide([pa("default", "bar", "STRICT"), pa("w", "bar", "STRICT", selector={"app": "finance"})])
    assert base == peers.DEFAULT_DECISION


def test_namespace_decision_leaves_workload_policies_out():
    policies = [pa("default", ROOT, "STRICT"), pa("w", "foo", "DISABLE", selector={"app": "finance"})]
    assert peers.namespace_decision(policies, "foo", ROOT) == Decision(
        "STRICT", "PeerAuthentication istio-system/default", "mesh")


def test_policy_in_the_root_namespace_for_a_workload_of_the_root_namespace_is_mesh_level():
    base, dummy, dummy = decide([pa("default", ROOT, "STRICT")], namespace=ROOT)
    assert base.scope == "mesh"


def test_unused_port_levels_are_listed():
    dummy, dummy, found = decide([pa("w", "foo", "STRICT", selector={"app": "finance"}, ports={7000: "DISABLE"})])
    assert peers.unused_port_levels(found, [8080, 9090]) == [7000]
