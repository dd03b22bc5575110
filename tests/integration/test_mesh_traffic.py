# -*- coding: utf-8 -*-
"""meshops.istio.mesh_traffic against the lab: the seeds' DestinationRules, VirtualServices (timeouts, retries,
fault injection), local rate limit EnvoyFilter, TLS Gateway and its routing VirtualService are accepted by
istiod's validating webhook; a rerun writes nothing; dropping one DestinationRule deletes exactly that one;
invalid inputs fail naming the field, with the cluster's objects unchanged (a dump before and after)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

MODULE = "meshops.istio.mesh_traffic"
KINDS = ("destinationrules.networking.istio.io", "virtualservices.networking.istio.io",
         "gateways.networking.istio.io", "serviceentries.networking.istio.io", "sidecars.networking.istio.io",
         "envoyfilters.networking.istio.io")
OWNER_LABEL = "meshops.istio/owner"


def dump(lab, ns):
    """{Kind/name: resourceVersion} of every traffic object in the namespace (one kubectl get of all kinds)."""
    items = lab.kubectl_json("get", ",".join(KINDS), "-n", ns)["items"]
    return dict(("{0}/{1}".format(i["kind"], i["metadata"]["name"]), i["metadata"]["resourceVersion"]) for i in items)


def circuit_breaker(ns, name="api-service", subsets=("v1", "v2")):
    return {"name": name, "namespace": ns, "spec": {
        "host": name,
        "trafficPolicy": {"connectionPool": {"tcp": {"maxConnections": 100},
                                             "http": {"h2UpgradePolicy": "UPGRADE", "http1MaxPendingRequests": 100,
                                                      "http2MaxRequests": 1000}},
                          "outlierDetection": {"consecutive5xxErrors": 5, "interval": "30s",
                                               "baseEjectionTime": "30s", "maxEjectionPercent": 50}},
        "subsets": [{"name": s, "labels": {"version": s}} for s in subsets]}}


def traffic(ns, gateway_label):
    """Seed 001's traffic management (canary, timeouts and retries, faults, circuit breaking, rate limit) and
    seed 003's TLS gateway with host/path routing, in one namespace."""
    return {
        "owner": ns,
        "destination_rules": [circuit_breaker(ns), circuit_breaker(ns, "orders", ("v1",))],
        "virtual_services": [
            {"name": "api-service", "namespace": ns, "spec": {"hosts": ["api-service"], "http": [
                {"match": [{"headers": {"x-canary": {"exact": "true"}}}],
                 "route": [{"destination": {"host": "api-service", "subset": "v2"}}]},
                {"route": [{"destination": {"host": "api-service", "subset": "v1"}, "weight": 90},
                           {"destination": {"host": "api-service", "subset": "v2"}, "weight": 10}],
                 "timeout": "10s",
                 "retries": {"attempts": 3, "perTryTimeout": "3s",
                             "retryOn": "gateway-error,connect-failure,refused-stream"}}]}},
            {"name": "orders", "namespace": ns, "spec": {"hosts": ["orders"], "http": [
                {"fault": {"delay": {"percentage": {"value": 10}, "fixedDelay": "5s"},
                           "abort": {"percentage": {"value": 5}, "httpStatus": 503}},
                 "route": [{"destination": {"host": "orders", "subset": "v1"}}]}]}},
            {"name": "app-external", "namespace": ns, "spec": {
                "hosts": ["app.example.com"], "gateways": ["app-gateway"], "http": [
                    {"match": [{"uri": {"prefix": "/api"}}],
                     "route": [{"destination": {"host": "api-service", "port": {"number": 8080}}}]},
                    {"route": [{"destination": {"host": "frontend", "port": {"number": 80}}}]}]}},
        ],
        "gateways": [{"name": "app-gateway", "namespace": ns, "spec": {
            "selector": gateway_label,
            "servers": [
                {"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "hosts": ["app.example.com"],
                 "tls": {"mode": "SIMPLE", "credentialName": "app-tls"}},
                {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["app.example.com"],
                 "tls": {"httpsRedirect": True}}]}}],
        "rate_limits": [{"name": "api-rate-limit", "namespace": ns, "selector": {"app": "api-service"},
                         "max_tokens": 100, "tokens_per_fill": 100, "fill_interval": "60s"}],
    }


def gateway_workload(lab, ns):
    """A pod labelled meshops-test-gateway=<ns> in ns, as a gateway workload's; returns its labels."""
    lab.apply("""
apiVersion: v1
kind: Pod
metadata: {{name: gateway, labels: {{meshops-test-gateway: {ns}}}}}
spec:
  containers: [{{name: istio-proxy, image: gateway}}]
""".format(ns=ns), "-n", ns)
    return {"meshops-test-gateway": ns}


@pytest.fixture
def shop(lab, namespace):
    """A namespace with a gateway workload's pod (its own label) and the TLS Secret beside it."""
    ns = namespace("mtr")
    label = gateway_workload(lab, ns)
    lab.kubectl("create", "secret", "generic", "app-tls", "-n", ns, "--from-literal=tls.crt=x",
                "--from-literal=tls.key=y")
    return ns, label


def test_the_seeds_traffic_is_accepted_by_istiod_a_rerun_writes_nothing_and_a_dropped_rule_goes(lab, ansible, shop):
    ns, label = shop
    args = traffic(ns, label)
    check = ansible.module(MODULE, args, check=True)
    assert not check.get("failed"), check.get("msg")
    assert check["changed"] and dump(lab, ns) == {}

    first = ansible.module(MODULE, args, diff=True)
    assert not first.get("failed"), first.get("msg")
    assert first["changed"]
    want = {"DestinationRule/api-service", "DestinationRule/orders", "VirtualService/api-service",
            "VirtualService/orders", "VirtualService/app-external", "Gateway/app-gateway", "EnvoyFilter/api-rate-limit"}
    assert set(dump(lab, ns)) == want
    assert len(first["diff"]) == 7
    for kind in KINDS:
        for item in lab.kubectl_json("get", kind, "-n", ns)["items"]:
            assert item["metadata"]["labels"][OWNER_LABEL] == ns
    ef = lab.kubectl_json("get", "envoyfilters.networking.istio.io", "api-rate-limit", "-n", ns)
    bucket = ef["spec"]["configPatches"][0]["patch"]["value"]["typed_config"]["value"]["token_bucket"]
    assert bucket == {"max_tokens": 100, "tokens_per_fill": 100, "fill_interval": "60s"}

    before = dump(lab, ns)
    again = ansible.module(MODULE, args)
    assert not again.get("failed"), again.get("msg")
    assert not again["changed"] and again["objects"] == []
    assert "apply" not in again["api_calls"] and "delete" not in again["api_calls"]
    assert dump(lab, ns) == before

    args["destination_rules"] = args["destination_rules"][:1]
    args["virtual_services"] = [vs for vs in args["virtual_services"] if vs["name"] != "orders"]
    dropped = ansible.module(MODULE, args)
    assert not dropped.get("failed"), dropped.get("msg")
    assert sorted((o["kind"], o["name"], o["action"]) for o in dropped["objects"]) == [
        ("DestinationRule", "orders", "deleted"), ("VirtualService", "orders", "deleted")]
    after = dump(lab, ns)
    assert set(after) == want - {"DestinationRule/orders", "VirtualService/orders"}
    assert all(after[k] == before[k] for k in after)


def test_an_object_only_istiod_refuses_writes_nothing(lab, ansible, shop):
    ns, label = shop
    args = traffic(ns, label)
    # a route and a redirect in one HTTP route: the CRD schema takes it, istiod's webhook does not
    args["virtual_services"][1]["spec"]["http"][0]["redirect"] = {"uri": "/elsewhere"}
    out = ansible.module(MODULE, args)
    assert out.get("failed")
    assert "would be refused by the API server; nothing was written" in out["msg"]
    assert "orders" in out["msg"]
    assert dump(lab, ns) == {}


def _set(args, field, index, path, value):
    node = args[field][index]
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


HTTP1 = ["spec", "http", 1]
INVALID = [
    ("virtual_services", 0, HTTP1 + ["timeout"], "5x", "virtual_services[0].spec.http[1].timeout"),
    ("virtual_services", 0, HTTP1 + ["timeout"], "-1s", "virtual_services[0].spec.http[1].timeout"),
    ("virtual_services", 0, HTTP1 + ["timeout"], "5", "virtual_services[0].spec.http[1].timeout"),
    ("virtual_services", 0, HTTP1 + ["route", 1, "weight"], 0,
     "virtual_services[0].spec.http[1].route: the weights of its 2 destinations sum to 90, not 100"),
    ("virtual_services", 0, HTTP1 + ["route", 1, "weight"], 20,
     "virtual_services[0].spec.http[1].route: the weights of its 2 destinations sum to 110, not 100"),
    ("virtual_services", 0, HTTP1 + ["route", 0, "weight"], -10, "virtual_services[0].spec.http[1].route[0].weight"),
    ("virtual_services", 0, HTTP1 + ["route", 1, "destination", "subset"], "v3",
     "virtual_services[0].spec.http[1].route[1].destination.subset: subset 'v3'"),
    ("virtual_services", 0, HTTP1 + ["retries", "retryOn"], "5xx,on-tuesdays",
     "virtual_services[0].spec.http[1].retries.retryOn: 'on-tuesdays' is not a retry policy"),
    ("virtual_services", 0, HTTP1 + ["retries", "perTryTimeout"], "3 s",
     "virtual_services[0].spec.http[1].retries.perTryTimeout"),
    ("virtual_services", 1, ["spec", "http", 0, "fault", "abort", "percentage", "value"], 150,
     "virtual_services[1].spec.http[0].fault.abort.percentage.value"),
    ("virtual_services", 1, ["spec", "http", 0, "fault", "abort", "httpStatus"], 99,
     "virtual_services[1].spec.http[0].fault.abort.httpStatus"),
    ("virtual_services", 1, ["spec", "hosts"], [], "virtual_services[1].spec.hosts: must be a non-empty list"),
    ("destination_rules", 0, ["spec", "trafficPolicy", "connectionPool", "tcp", "maxConnections"], -1,
     "destination_rules[0].spec.trafficPolicy.connectionPool.tcp.maxConnections"),
    ("destination_rules", 0, ["spec", "trafficPolicy", "outlierDetection", "consecutive5xxErrors"], -5,
     "destination_rules[0].spec.trafficPolicy.outlierDetection.consecutive5xxErrors"),
    ("destination_rules", 0, ["spec", "trafficPolicy", "outlierDetection", "baseEjectionTime"], "30",
     "destination_rules[0].spec.trafficPolicy.outlierDetection.baseEjectionTime"),
    ("destination_rules", 0, ["spec", "trafficPolicy", "outlierDetecton"], {},
     "destination_rules[0].spec.trafficPolicy.outlierDetecton: unknown key"),
    ("gateways", 0, ["spec", "servers", 0, "tls", "credentialName"], "no-such-secret",
     "gateways[0].spec.servers[0].tls.credentialName: Secret 'no-such-secret' does not exist in namespace"),
    ("gateways", 0, ["spec", "servers", 0, "tls", "mode"], "STRICT", "gateways[0].spec.servers[0].tls.mode"),
    ("gateways", 0, ["spec", "servers", 0, "hosts"], [], "gateways[0].spec.servers[0].hosts"),
    ("rate_limits", 0, ["fill_interval"], "1 minute", "rate_limits[0].fill_interval"),
    ("rate_limits", 0, ["max_tokens"], 0, "rate_limits[0].max_tokens"),
]


def test_invalid_inputs_fail_naming_the_field_and_write_nothing(lab, ansible, shop):
    ns, label = shop
    good = traffic(ns, label)
    good["destination_rules"] = good["destination_rules"][:1]
    good["virtual_services"] = good["virtual_services"][:1]
    assert not ansible.module(MODULE, good).get("failed")
    before = dump(lab, ns)
    assert len(before) == 4
    good["virtual_services"] = traffic(ns, label)["virtual_services"][:2]
    good["destination_rules"] = traffic(ns, label)["destination_rules"]
    failures = []
    for field, index, path, value, expected in INVALID:
        args = copy.deepcopy(good)
        _set(args, field, index, path, value)
        out = ansible.module(MODULE, args)
        if not out.get("failed") or expected not in out.get("msg", ""):
            failures.append("{0}: {1}".format(expected, out.get("msg")))
        elif out.get("changed") or dump(lab, ns) != before:
            failures.append("{0}: something was written".format(expected))
    assert failures == []
    assert len(INVALID) >= 15


def test_a_gateway_selecting_no_workload_is_written_with_a_warning(lab, ansible, shop):
    ns, dummy = shop
    args = {"owner": ns, "gateways": [{"name": "nowhere", "namespace": ns, "spec": {
        "selector": {"meshops-test-gateway": "nowhere"},
        "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]}}]}
    out = ansible.module(MODULE, args)
    assert not out.get("failed"), out.get("msg")
    assert out["changed"]
    assert any("matches no workload" in w for w in out.get("warnings", []))
