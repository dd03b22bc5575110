# -*- coding: utf-8 -*-
"""Client-side TLS: which DestinationRule a client uses, which of its TLS settings count for a port and subset,
what auto mTLS sends, and the verdict against the server, case by case against Istio's documented rules
(DestinationRule reference: ClientTLSSettings, exportTo, workloadSelector; "Understanding TLS configuration" and
the auto mTLS section of the mutual TLS migration docs)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.meshops.istio.plugins.module_utils import clienttls as ct

HOST = "api.shop.svc.cluster.local"
ROOT = "istio-system"


def dr(name, namespace, host="api", tls=None, ports=None, subsets=None, export=None, selector=None,
       created="2026-01-01T00:00:00Z"):
    spec = {"host": host}
    policy = {}
    if tls is not None:
        policy["tls"] = tls
    if ports:
        policy["portLevelSettings"] = [{"port": {"number": p}, "tls": t} for p, t in ports.items()]
    if policy:
        spec["trafficPolicy"] = policy
    if subsets:
        spec["subsets"] = subsets
    if export is not None:
        spec["exportTo"] = export
    if selector:
        spec["workloadSelector"] = {"matchLabels": selector}
    return {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
            "metadata": {"name": name, "namespace": namespace, "creationTimestamp": created}, "spec": spec}


def by_ns(*rules):
    out = {}
    for rule in rules:
        out.setdefault(rule["metadata"]["namespace"], []).append(rule)
    return out


def resolve(rules, client="web", labels=None):
    found = ct.resolve(by_ns(*rules), HOST, client, "shop", ROOT, labels)
    return found["metadata"]["name"] if found else None


def test_no_rule_at_all():
    assert resolve([]) is None


def test_client_namespace_beats_service_namespace_beats_root():
    rules = [dr("root", ROOT, host=HOST), dr("svc", "shop"), dr("mine", "web", host=HOST)]
    assert resolve(rules) == "mine"
    assert resolve(rules[:2]) == "svc"
    assert resolve(rules[:1]) == "root"


def test_short_host_is_relative_to_the_rules_namespace():
    # "api" in namespace web means api.web.svc.cluster.local: not our host
    assert resolve([dr("mine", "web", host="api"), dr("svc", "shop", host="api")]) == "svc"


def test_export_to_dot_hides_the_rule_from_other_namespaces():
    rules = [dr("private", "shop", export=["."]), dr("root", ROOT, host="*.svc.cluster.local")]
    assert resolve(rules) == "root"
    assert resolve(rules, client="shop") == "private"


def test_export_to_a_list_of_namespaces():
    rules = [dr("listed", "shop", export=["web"])]
    assert resolve(rules, client="web") == "listed"
    assert resolve(rules, client="other") is None


def test_exact_host_beats_wildcard_and_longer_wildcard_beats_shorter():
    rules = [dr("any", "shop", host="*"), dr("ns", "shop", host="*.shop.svc.cluster.local"), dr("exact", "shop")]
    assert resolve(rules) == "exact"
    assert resolve(rules[:2]) == "ns"
    assert resolve(rules[:1]) == "any"


def test_the_oldest_of_equally_specific_rules_wins():
    rules = [dr("b-new", "shop", created="2026-03-01T00:00:00Z"), dr("z-old", "shop", created="2026-01-01T00:00:00Z")]
    assert resolve(rules) == "z-old"


def test_workload_selector_rule_applies_only_to_matching_clients_of_its_namespace():
    rules = [dr("selected", "web", host=HOST, selector={"app": "batch"}), dr("svc", "shop")]
    assert resolve(rules, labels={"app": "batch"}) == "selected"
    assert resolve(rules, labels={"app": "frontend"}) == "svc"
    assert resolve(rules) == "svc"  # clients of unknown labels
    assert resolve([dr("elsewhere", "shop", selector={"app": "batch"})], labels={"app": "batch"}) is None


SUBSETS = [{"name": "v1", "labels": {"version": "v1"}},
           {"name": "v2", "labels": {"version": "v2"}, "trafficPolicy": {
               "tls": {"mode": "SIMPLE"}, "portLevelSettings": [{"port": {"number": 9090}, "tls": {"mode": "MUTUAL"}}]}}]


@pytest.mark.parametrize("port, subset, mode, field", [
    (8080, None, "ISTIO_MUTUAL", "trafficPolicy.tls"),
    (9090, None, "DISABLE", "trafficPolicy.portLevelSettings[9090].tls"),
    (8080, "v1", "ISTIO_MUTUAL", "trafficPolicy.tls"),
    (8080, "v2", "SIMPLE", "subsets[v2].trafficPolicy.tls"),
    (9090, "v2", "MUTUAL", "subsets[v2].trafficPolicy.portLevelSettings[9090].tls"),
])
def test_tls_settings_in_istiods_merge_order(port, subset, mode, field):
    rule = dr("r", "shop", tls={"mode": "ISTIO_MUTUAL"}, ports={9090: {"mode": "DISABLE"}}, subsets=SUBSETS)
    tls, where = ct.tls_settings(rule, port, subset)
    assert (ct.tls_mode(tls), where) == (mode, field)


def test_subsets_with_tls_of_their_own():
    rule = dr("r", "shop", subsets=SUBSETS)
    assert ct.subsets_with_tls(rule, 8080) == ["v2"]
    assert ct.subset_labels(rule, "v2") == {"version": "v2"}


def test_no_tls_settings_means_auto_and_tls_without_mode_means_disable():
    assert ct.tls_settings(None, 8080) == (None, None)
    assert ct.tls_mode(ct.tls_settings(dr("r", "shop"), 8080)[0]) == "auto"
    # ClientTLSSettings.mode defaults to DISABLE: a tls block with only sni disables TLS
    assert ct.tls_mode(ct.tls_settings(dr("r", "shop", tls={"sni": "api"}), 8080)[0]) == "DISABLE"


@pytest.mark.parametrize("mode, sidecar, server, auto, sends", [
    ("auto", True, "STRICT", True, "mTLS"),
    ("auto", True, "PERMISSIVE", True, "mTLS"),
    ("auto", True, "DISABLE", True, "plaintext"),      # istiod tells the client the server is DISABLE
    ("auto", False, "STRICT", True, "plaintext"),      # no sidecar on the endpoint (tlsMode label)
    ("auto", True, "STRICT", False, "plaintext"),      # enableAutoMtls: false
    ("ISTIO_MUTUAL", False, "PERMISSIVE", True, "mTLS"),
    ("DISABLE", True, "STRICT", True, "plaintext"),
    ("SIMPLE", True, "STRICT", True, "TLS"),
    ("MUTUAL", True, "STRICT", True, "TLS"),
])
def test_what_the_client_sends(mode, sidecar, server, auto, sends):
    assert ct.sends(mode, sidecar, server, auto) == sends


@pytest.mark.parametrize("what, sidecar, server, status", [
    ("mTLS", True, "STRICT", "OK"), ("plaintext", True, "STRICT", "CONFLICT"), ("TLS", True, "STRICT", "CONFLICT"),
    ("mTLS", True, "PERMISSIVE", "OK"), ("plaintext", True, "PERMISSIVE", "OK"), ("TLS", True, "PERMISSIVE", "OK"),
    ("mTLS", True, "DISABLE", "CONFLICT"), ("plaintext", True, "DISABLE", "OK"),
    ("mTLS", False, "STRICT", "CONFLICT"), ("plaintext", False, "STRICT", "OK"),
])
def test_verdict_against_the_server(what, sidecar, server, status):
    verdict, why = ct.verdict(what, sidecar, server)
    assert verdict == status
    assert (why is None) == (status == "OK")


def test_tls_check_client_column():
    assert ct.describe("auto", "mTLS") == "auto (mTLS)"
    assert ct.describe("DISABLE", "plaintext") == "DISABLE"


def test_host_match_specificity():
    assert ct.host_match(HOST, HOST) > ct.host_match("*.shop.svc.cluster.local", HOST) > ct.host_match("*", HOST)
    assert ct.host_match("*.other.svc.cluster.local", HOST) is None
    assert ct.host_match(None, HOST) is None
