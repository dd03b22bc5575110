# -*- coding: utf-8 -*-
"""The mesh_traffic runner: validation (every invalid input named by its field path, before any API call), the
cluster checks (subsets, Gateway credentials and workloads), and the flow over the fake API server (dry runs
first, no write when unchanged, pruning by owner label, check and diff mode)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.meshops.istio.plugins.module_utils import retry, traffic
from ansible_collections.meshops.istio.plugins.module_utils.errors import InputError
from ansible_collections.meshops.istio.plugins.module_utils.kube import Kube
from ansible_collections.meshops.istio.plugins.modules import mesh_traffic
from ansible_collections.meshops.istio.tests.unit.fakes import FakeClient, FakeModule, arg_errors

NET = "networking.istio.io/v1"


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setattr(retry, "ATTEMPTS", 2)


def dr(name="api", ns="shop", host="api", subsets=("v1", "v2")):
    return {"name": name, "namespace": ns, "spec": {
        "host": host,
        "trafficPolicy": {"connectionPool": {"tcp": {"maxConnections": 100},
                                             "http": {"http1MaxPendingRequests": 100, "http2MaxRequests": 1000}},
                          "outlierDetection": {"consecutive5xxErrors": 5, "interval": "30s",
                                               "baseEjectionTime": "30s", "maxEjectionPercent": 50}},
        "subsets": [{"name": s, "labels": {"version": s}} for s in subsets]}}


def vs(name="api", ns="shop", host="api"):
    return {"name": name, "namespace": ns, "spec": {"hosts": [host], "http": [
        {"match": [{"headers": {"x-canary": {"exact": "true"}}}],
         "route": [{"destination": {"host": host, "subset": "v2"}}]},
        {"route": [{"destination": {"host": host, "subset": "v1"}, "weight": 90},
                   {"destination": {"host": host, "subset": "v2"}, "weight": 10}],
         "timeout": "10s",
         "retries": {"attempts": 3, "perTryTimeout": "3s", "retryOn": "gateway-error,connect-failure,refused-stream"},
         "fault": {"delay": {"percentage": {"value": 10}, "fixedDelay": "5s"},
                   "abort": {"percentage": {"value": 5}, "httpStatus": 503}}}]}}


def gw(name="web", ns="shop", credential="web-tls", selector=None):
    return {"name": name, "namespace": ns, "spec": {
        "selector": selector or {"istio": "ingressgateway"},
        "servers": [{"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "hosts": ["app.example.com"],
                     "tls": {"mode": "SIMPLE", "credentialName": credential}}]}}


def rl(name="api-rate-limit", ns="shop", **kw):
    item = dict(name=name, namespace=ns, selector={"app": "api"}, max_tokens=100, tokens_per_fill=None,
                fill_interval="60s", status_code=None, context="SIDECAR_INBOUND")
    item.update(kw)
    return item


def params(**kw):
    out = dict(owner="shop", prune=True, destination_rules=[dr()], virtual_services=[vs()], gateways=[],
               service_entries=[], sidecars=[], rate_limits=[rl()])
    out.update(kw)
    return out


def gateway_pod(ns="istio-system"):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ingress-1", "namespace": ns,
                                                            "labels": {"istio": "ingressgateway"}}}


def secret(name="web-tls", ns="istio-system"):
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns}, "data": {}}


def run(p, client, check_mode=False, diff=False):
    module = FakeModule(check_mode=check_mode, diff=diff)
    module.params = p
    return traffic.run(module, Kube(module, client=client, sleep=lambda s: None)), module


def problems(p, client=None):
    client = client or FakeClient()
    with pytest.raises(InputError) as err:
        run(p, client)
    assert client.writes() == []
    return str(err.value)


def with_spec(obj, path, value):
    """A deep copy of obj with the value at path (a list of keys and indexes) replaced."""
    out = copy.deepcopy(obj)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return out


INVALID = [
    ("virtual_services", ["spec", "http", 1, "timeout"], "5x", "virtual_services[0].spec.http[1].timeout"),
    ("virtual_services", ["spec", "http", 1, "timeout"], "-1s", "virtual_services[0].spec.http[1].timeout"),
    ("virtual_services", ["spec", "http", 1, "timeout"], 5, "virtual_services[0].spec.http[1].timeout"),
    ("virtual_services", ["spec", "http", 1, "route", 1, "weight"], 0,
     "virtual_services[0].spec.http[1].route: the weights of its 2 destinations sum to 90"),
    ("virtual_services", ["spec", "http", 1, "route", 1, "weight"], 20, "sum to 110"),
    ("virtual_services", ["spec", "http", 1, "route", 1, "weight"], 10.5,
     "virtual_services[0].spec.http[1].route[1].weight"),
    ("virtual_services", ["spec", "http", 1, "route", 0, "weight"], 101,
     "virtual_services[0].spec.http[1].route[0].weight"),
    ("virtual_services", ["spec", "http", 1, "retries", "retryOn"], "5xx,sometimes",
     "virtual_services[0].spec.http[1].retries.retryOn: 'sometimes' is not a retry policy"),
    ("virtual_services", ["spec", "http", 1, "retries", "perTryTimeout"], "3",
     "virtual_services[0].spec.http[1].retries.perTryTimeout"),
    ("virtual_services", ["spec", "http", 1, "retries", "attempts"], -1,
     "virtual_services[0].spec.http[1].retries.attempts"),
    ("virtual_services", ["spec", "http", 1, "fault", "abort", "percentage", "value"], 150,
     "virtual_services[0].spec.http[1].fault.abort.percentage.value"),
    ("virtual_services", ["spec", "http", 1, "fault", "abort", "httpStatus"], 600,
     "virtual_services[0].spec.http[1].fault.abort.httpStatus"),
    ("virtual_services", ["spec", "http", 1, "fault", "delay", "fixedDelay"], "5 s",
     "virtual_services[0].spec.http[1].fault.delay.fixedDelay"),
    ("virtual_services", ["spec", "http", 1, "retries", "retry_on"], "5xx",
     "virtual_services[0].spec.http[1].retries.retry_on: unknown key"),
    ("virtual_services", ["spec", "hosts"], [], "virtual_services[0].spec.hosts"),
    ("destination_rules", ["spec", "trafficPolicy", "connectionPool", "tcp", "maxConnections"], -5,
     "destination_rules[0].spec.trafficPolicy.connectionPool.tcp.maxConnections"),
    ("destination_rules", ["spec", "trafficPolicy", "outlierDetection", "maxEjectionPercent"], 120,
     "destination_rules[0].spec.trafficPolicy.outlierDetection.maxEjectionPercent"),
    ("destination_rules", ["spec", "trafficPolicy", "outlierDetection", "interval"], "30", "outlierDetection.interval"),
    ("destination_rules", ["spec", "trafficPolicy", "tls"], {"mode": "istio_mutual"},
     "destination_rules[0].spec.trafficPolicy.tls.mode: 'istio_mutual' is not one of"),
    ("destination_rules", ["spec", "host"], "", "destination_rules[0].spec.host"),
]


@pytest.mark.parametrize("field, path, value, expected", INVALID)
def test_invalid_inputs_are_named_by_their_field_path_before_any_call(field, path, value, expected):
    p = params()
    p[field] = [with_spec(p[field][0], path, value)]
    client = FakeClient()
    assert expected in problems(p, client)
    assert client.calls == []


def test_every_problem_is_reported_at_once():
    bad = with_spec(with_spec(vs(), ["spec", "http", 1, "timeout"], "5x"), ["spec", "hosts"], [])
    msg = problems(params(virtual_services=[bad], rate_limits=[rl(max_tokens=0, fill_interval="1 minute")]))
    assert msg.startswith("4 invalid value(s); nothing was written")
    assert "rate_limits[0].max_tokens" in msg and "rate_limits[0].fill_interval" in msg


def test_gateway_tls_needs_a_mode_from_istio_and_a_credential():
    bad = with_spec(gw(), ["spec", "servers", 0, "tls"], {"mode": "SIMPLE"})
    assert "gateways[0].spec.servers[0].tls.credentialName: TLS mode SIMPLE needs credentialName" in problems(
        params(gateways=[bad]))
    bad = with_spec(gw(), ["spec", "servers", 0, "tls", "mode"], "STRICT")
    assert "gateways[0].spec.servers[0].tls.mode: 'STRICT' is not one of PASSTHROUGH" in problems(
        params(gateways=[bad]))


def test_the_same_object_twice_is_refused():
    assert "destination_rules[1]: DestinationRule shop/api is also given as destination_rules[0]" in problems(
        params(destination_rules=[dr(), dr()]))


def test_an_unknown_subset_is_refused_unless_a_live_rule_defines_it():
    p = params(destination_rules=[dr(subsets=("v1",))])
    msg = problems(p)
    assert "virtual_services[0].spec.http[0].route[0].destination.subset: subset 'v2' of host " \
           "api.shop.svc.cluster.local is defined in no DestinationRule" in msg
    live = {"apiVersion": NET, "kind": "DestinationRule", "metadata": {"name": "api-v2", "namespace": "shop"},
            "spec": {"host": "api.shop.svc.cluster.local", "subsets": [{"name": "v2"}]}}
    client = FakeClient([live])
    out, dummy = run(p, client)
    assert out["changed"]


def test_check_mode_leaves_a_subset_unchecked_only_while_its_namespace_does_not_exist():
    # A check run of site.yml on a fresh cluster: step 5's DestinationRule is only dry-run, its namespace absent.
    p = params(destination_rules=[dr(subsets=("v1",))])
    client = FakeClient()
    out, module = run(p, client, check_mode=True)
    assert out["changed"] and client.store == {}
    assert any("namespace shop does not exist yet, so subset 'v2' of host api.shop.svc.cluster.local is not "
               "checked" in w for w in module.warnings), module.warnings
    # The namespace is there: a missing subset is refused in check mode too.
    client = FakeClient([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}])
    with pytest.raises(InputError) as err:
        run(p, client, check_mode=True)
    assert "subset 'v2' of host api.shop.svc.cluster.local is defined in no DestinationRule" in str(err.value)


def test_a_live_rule_this_run_prunes_does_not_count():
    owned = {"apiVersion": NET, "kind": "DestinationRule",
             "metadata": {"name": "api-v2", "namespace": "shop", "labels": {"meshops.istio/owner": "shop"}},
             "spec": {"host": "api", "subsets": [{"name": "v2"}]}}
    client = FakeClient([owned])
    assert "subset 'v2'" in problems(params(destination_rules=[dr(subsets=("v1",))]), client)
    out, dummy = run(params(destination_rules=[dr(subsets=("v1",))], prune=False), client)
    assert out["changed"]


def test_gateway_credential_must_exist_where_the_gateway_workload_runs():
    client = FakeClient([gateway_pod(), secret(ns="shop")])
    msg = problems(params(gateways=[gw()]), client)
    assert "gateways[0].spec.servers[0].tls.credentialName: Secret 'web-tls' does not exist in namespace " \
           "istio-system" in msg
    client = FakeClient([gateway_pod(), secret()])
    out, module = run(params(gateways=[gw()]), client)
    assert out["changed"] and module.warnings == []


def test_a_selector_matching_no_workload_is_a_warning():
    out, module = run(params(gateways=[gw(selector={"istio": "nowhere"})]), FakeClient())
    assert out["changed"]
    assert "selector istio=nowhere matches no workload" in module.warnings[0]


def test_objects_are_labelled_and_the_rate_limit_is_an_envoy_filter():
    client = FakeClient()
    out, dummy = run(params(rate_limits=[rl(status_code=429, tokens_per_fill=10)]), client)
    kinds = [(o["kind"], o["action"]) for o in out["objects"]]
    assert kinds == [("DestinationRule", "created"), ("VirtualService", "created"), ("EnvoyFilter", "created")]
    ef = client.store[("networking.istio.io/v1alpha3", "EnvoyFilter", "shop", "api-rate-limit")]
    assert ef["metadata"]["labels"] == {"meshops.istio/owner": "shop"}
    assert ef["spec"]["workloadSelector"] == {"labels": {"app": "api"}}
    patch = ef["spec"]["configPatches"][0]
    assert patch["match"]["context"] == "SIDECAR_INBOUND"
    # first in the chain, by the absolute operation: no relative one without a priority (istioctl analyze IST0151)
    assert patch["applyTo"] == "HTTP_FILTER" and patch["patch"]["operation"] == "INSERT_FIRST"
    hcm = "envoy.filters.network.http_connection_manager"
    assert patch["match"]["listener"] == {"filterChain": {"filter": {"name": hcm}}}
    assert "priority" not in ef["spec"]
    value = patch["patch"]["value"]["typed_config"]["value"]
    assert value["token_bucket"] == {"max_tokens": 100, "tokens_per_fill": 10, "fill_interval": "60s"}
    assert value["filter_enforced"]["default_value"]["numerator"] == 100
    assert value["status"] == {"code": 429}


def test_dry_runs_first_then_a_rerun_only_lists():
    client = FakeClient()
    run(params(), client)
    methods = [(m, kw.get("dry_run")) for m, kw in client.calls if m == "server_side_apply"]
    assert methods == [("server_side_apply", "All")] * 3 + [("server_side_apply", None)] * 3
    client.calls[:] = []
    out, dummy = run(params(), client)
    assert not out["changed"] and out["objects"] == []
    # every object is live as applied and its managed fields are the desired ones: no dry run, no write
    assert client.writes() == []
    # a changed object is dry-run (and only it), then written
    client.calls[:] = []
    changed = params()
    changed["virtual_services"][0]["spec"]["http"][0]["timeout"] = "9s"
    out, dummy = run(changed, client)
    assert out["objects"] == [{"kind": "VirtualService", "apiVersion": NET, "namespace": "shop", "name": "api",
                               "action": "updated"}]
    assert [(kw["name"], kw.get("dry_run")) for m, kw in client.writes()] == [("api", "All"), ("api", None)]


def test_dropping_one_rule_deletes_exactly_that_one_and_leaves_other_owners_alone():
    other = {"apiVersion": NET, "kind": "DestinationRule",
             "metadata": {"name": "theirs", "namespace": "shop", "labels": {"meshops.istio/owner": "else"}},
             "spec": {"host": "x"}}
    unlabelled = {"apiVersion": NET, "kind": "DestinationRule", "metadata": {"name": "mine-by-name", "namespace": "shop"},
                  "spec": {"host": "y"}}
    client = FakeClient([other, unlabelled])
    run(params(destination_rules=[dr(), dr(name="db", host="db", subsets=("v1",))]), client)
    out, dummy = run(params(), client)
    assert out["objects"] == [{"kind": "DestinationRule", "apiVersion": NET, "namespace": "shop", "name": "db",
                               "action": "deleted"}]
    names = sorted(k[3] for k in client.store if k[1] == "DestinationRule")
    assert names == ["api", "mine-by-name", "theirs"]


def test_prune_false_keeps_what_the_set_no_longer_declares():
    client = FakeClient()
    run(params(), client)
    out, dummy = run(params(rate_limits=[], prune=False), client)
    assert not out["changed"]
    assert ("networking.istio.io/v1alpha3", "EnvoyFilter", "shop", "api-rate-limit") in client.store


def test_check_mode_writes_nothing_and_diff_mode_shows_deletions():
    client = FakeClient()
    run(params(), client)
    before = copy.deepcopy(client.store)
    out, dummy = run(params(rate_limits=[], virtual_services=[with_spec(vs(), ["spec", "http", 1, "timeout"], "5s")]),
                     client, check_mode=True, diff=True)
    assert out["changed"]
    assert sorted((o["kind"], o["action"]) for o in out["objects"]) == [("EnvoyFilter", "deleted"),
                                                                        ("VirtualService", "updated")]
    assert client.store == before
    assert [d["after_header"] for d in out["diff"]][-1].startswith("EnvoyFilter shop/api-rate-limit (deleted)")


def test_argument_spec_refuses_unknown_item_keys_and_contexts():
    spec = mesh_traffic.argspec()
    errors = arg_errors(spec, dict(owner="o", destination_rules=[{"name": "a", "namespace": "b", "spec": {},
                                                                  "sepc": {}}]))
    assert any("sepc" in e for e in errors)
    errors = arg_errors(spec, dict(owner="o", rate_limits=[dict(rl(), context="OUTBOUND")]))
    assert any("SIDECAR_INBOUND" in e for e in errors)
