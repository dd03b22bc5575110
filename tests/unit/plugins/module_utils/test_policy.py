# -*- coding: utf-8 -*-
"""The mesh_policy runner: validation (every invalid input named by its field path, before any API call),
the objects built, and the apply flow over the fake API server (dry runs first, no write when unchanged,
the STRICT gate, state absent, check mode)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.meshops.istio.plugins.module_utils import policy, retry
from ansible_collections.meshops.istio.plugins.module_utils.errors import ApiError, InputError
from ansible_collections.meshops.istio.plugins.module_utils.kube import Kube
from ansible_collections.meshops.istio.plugins.modules import mesh_policy
from ansible_collections.meshops.istio.tests.unit.fakes import FakeClient, FakeModule, api_error, arg_errors


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setattr(retry, "ATTEMPTS", 2)


def params(**kw):
    out = dict(state="present", peer_authentications=[], authorization_policies=[], request_authentications=[],
               service_entries=[], root_namespace="istio-system", strict_gate=True, force=False,
               validate_only=False)
    out.update(kw)
    return out


def allow(ns="shop", **kw):
    item = dict(name="readers", namespace=ns, selector={"app": "catalog"}, action="ALLOW", provider=None,
                rules=[{"from": [{"principals": ["cluster.local/ns/shop/sa/web"]}],
                        "to": [{"methods": ["GET"], "paths": ["/api/*"]}]}])
    item.update(kw)
    return item


def jwt(ns="shop", **kw):
    item = dict(name="api-jwt", namespace=ns, selector={"app": "api"}, require_jwt=True,
                jwt_rules=[{"issuer": "https://issuer.example.com", "jwks_uri": "https://issuer.example.com/jwks",
                            "audiences": ["shop"], "forward_original_token": True}])
    item.update(kw)
    return item


def entry(ns="shop", **kw):
    item = dict(name="payments", namespace=ns, hosts=["api.payments.example.com"],
                ports=[{"number": 443, "protocol": "TLS"}], location="MESH_EXTERNAL", resolution="DNS", export_to=None)
    item.update(kw)
    return item


def peer(ns="shop", mode="STRICT", **kw):
    item = dict(name="default", namespace=ns, mode=mode, selector=None, port_level_mtls=None)
    item.update(kw)
    return item


def problems(**kw):
    with pytest.raises(InputError) as info:
        policy.validate_params(params(**kw))
    return info.value.msg


# -- validation ------------------------------------------------------------------------------

def test_valid_options_pass():
    policy.validate_params(params(peer_authentications=[peer(), peer("istio-system", "PERMISSIVE")],
                           authorization_policies=[allow(), dict(allow(), name="deny-all", rules=None, selector=None)],
                           request_authentications=[jwt()], service_entries=[entry()]))


@pytest.mark.parametrize("principal", ["cluster.local/ns/shop/sa/web", "cluster.local/ns/shop/sa/*",
                                       "cluster.local/ns/shop/*", "*/ns/shop/sa/web", "*", "example.org/ns/a/sa/b"])
def test_principal_forms_istio_allows(principal):
    rules = [{"from": [{"principals": [principal]}]}]
    policy.validate_params(params(authorization_policies=[allow(rules=rules)]))


@pytest.mark.parametrize("principal", ["web", "cluster.local/ns/shop/web", "cluster.local/ns/*/sa/web",
                                       "cluster.local/ns/Shop/sa/web", "spiffe://cluster.local/ns/a/sa/b"])
def test_bad_principal_is_named_by_its_path(principal):
    rules = [{"from": [{"principals": ["cluster.local/ns/shop/sa/a", "*", principal]}]}]
    msg = problems(authorization_policies=[allow(name="first"), allow(name="second", rules=rules)])
    assert "authorization_policies[1].rules[0].from[0].principals[2]: {0!r}".format(principal) in msg
    assert "cluster.local/ns/<namespace>/sa/*" in msg and "nothing was written" in msg


def test_lower_case_method_is_refused_with_a_hint():
    msg = problems(authorization_policies=[allow(rules=[{"to": [{"methods": ["GET", "post"]}]}])])
    assert "authorization_policies[0].rules[0].to[0].methods[1]: 'post' is not an HTTP method" in msg
    assert "upper case: POST" in msg


def test_unknown_method_lists_the_allowed_set():
    msg = problems(authorization_policies=[allow(rules=[{"to": [{"methods": ["FETCH"]}]}])])
    assert "GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH" in msg


@pytest.mark.parametrize("field, item, allowed", [
    ("peer_authentications", peer(mode="strict"), "value of mode must be one of: UNSET, DISABLE, PERMISSIVE, STRICT, "
                                                  "got: strict found in peer_authentications"),
    ("peer_authentications", peer(mode="MUTUAL"), "value of mode must be one of: UNSET, DISABLE, PERMISSIVE, STRICT"),
    ("authorization_policies", allow(action="allow"), "value of action must be one of: ALLOW, DENY, AUDIT, CUSTOM"),
    ("service_entries", entry(location="OUTSIDE"), "value of location must be one of: MESH_EXTERNAL, MESH_INTERNAL"),
    ("service_entries", entry(resolution="dns"), "value of resolution must be one of: NONE, STATIC, DNS, "
                                                 "DNS_ROUND_ROBIN"),
])
def test_choices_are_the_argument_specs(field, item, allowed):
    errors = arg_errors(mesh_policy.argspec(), params(**{field: [item]}))
    assert any(allowed in e for e in errors), errors


def test_port_level_modes_and_ports_are_checked_and_need_a_selector():
    msg = problems(peer_authentications=[peer(port_level_mtls={"8080": "OFF", "0": "STRICT"})])
    assert "peer_authentications[0].port_level_mtls: needs a selector" in msg
    assert "peer_authentications[0].port_level_mtls.8080: 'OFF' is not one of" in msg
    assert "peer_authentications[0].port_level_mtls.0: '0' is not a port number" in msg


@pytest.mark.parametrize("rule", [{}, {"from": None, "to": [], "when": None}])
def test_empty_allow_rule_is_refused(rule):
    msg = problems(authorization_policies=[allow(rules=[rule])])
    assert "authorization_policies[0].rules[0]: an ALLOW rule needs from, to or when" in msg


def test_empty_source_and_operation_are_refused():
    msg = problems(authorization_policies=[allow(rules=[{"from": [{}], "to": [{"methods": []}]}])])
    assert "rules[0].from[0]: a source needs at least one of principals" in msg
    assert "rules[0].to[0]: an operation needs at least one of methods" in msg


def test_actions_and_their_needs():
    msg = problems(authorization_policies=[allow(), allow(name="d", action="DENY", rules=None),
                                           allow(name="c", action="CUSTOM"),
                                           allow(name="p", provider="ext-authz")])
    assert "authorization_policies[1].rules: a DENY policy without rules matches nothing" in msg
    assert "authorization_policies[2].provider: a CUSTOM policy needs provider" in msg
    assert "authorization_policies[3].provider: is only for action CUSTOM" in msg


def test_paths_ports_conditions():
    rules = [{"to": [{"paths": ["api"], "ports": ["http"]}], "when": [{"key": "request.headers[x]"}, {}]}]
    msg = problems(authorization_policies=[allow(rules=rules)])
    assert "rules[0].to[0].paths[0]: 'api' is not a path" in msg
    assert "rules[0].to[0].ports[0]: 'http' is not a port number" in msg
    assert "rules[0].when[0]: a condition needs values or not_values" in msg
    assert "rules[0].when[1].key: a condition needs a key" in msg


def test_every_problem_is_reported_at_once():
    msg = problems(peer_authentications=[peer(mode=None)],
                   authorization_policies=[allow(namespace="Shop", rules=[{}])])
    assert msg.startswith("3 invalid value(s)")
    assert "authorization_policies[0].namespace: 'Shop' is not a valid namespace name" in msg


def test_request_authentication_checks():
    rules = [{"issuer": "", "jwks_uri": "ftp://x", "jwks": '{"keys": []}'}, {"issuer": "i", "jwks": "not json"}]
    msg = problems(request_authentications=[jwt(jwt_rules=rules), jwt(name="b", jwt_rules=[])])
    assert "request_authentications[0].jwt_rules[0].issuer: must be the issuer" in msg
    assert "request_authentications[0].jwt_rules[0]: jwks_uri and jwks are mutually exclusive" in msg
    assert "request_authentications[0].jwt_rules[0].jwks_uri: 'ftp://x' is not an http(s) URL" in msg
    assert "request_authentications[0].jwt_rules[1].jwks: must be a JSON Web Key Set" in msg
    assert "request_authentications[1].jwt_rules: must be a non-empty list" in msg


def test_service_entry_checks():
    msg = problems(service_entries=[entry(hosts=["*.example.com", "bad host"], ports=[{"number": 0, "protocol": "tls"}])])
    assert "service_entries[0].hosts[1]: 'bad host' is not a DNS name" in msg
    assert "service_entries[0].resolution: DNS cannot resolve wildcard hosts" in msg
    assert "service_entries[0].ports[0].number: 0 is not a port number" in msg
    assert "service_entries[0].ports[0].protocol: 'tls' is not one of HTTP" in msg


def test_duplicates_and_nothing_given():
    assert "is also given as authorization_policies[0]" in problems(authorization_policies=[allow(), allow()])
    assert "give at least one of peer_authentications" in problems()


def test_absent_checks_names_only():
    policy.validate_params(params(state="absent", peer_authentications=[peer(mode="bogus")]))
    assert "'Bad' is not a valid name" in problems(state="absent", service_entries=[entry(name="Bad")])


# -- objects -------------------------------------------------------------------------------

def test_objects_built():
    objs = policy.build(params(
        peer_authentications=[peer(selector={"app": "db"}, port_level_mtls={"5432": "PERMISSIVE"})],
        authorization_policies=[allow(action="DENY", rules=[
            {"from": [{"not_namespaces": ["shop"]}], "when": [{"key": "source.ip", "not_values": ["10.0.0.1"]}]}]),
            allow(name="deny-all", selector=None, rules=None)],
        request_authentications=[jwt()], service_entries=[entry()]))
    pa, deny, deny_all, ra, require, se = objs
    assert pa["spec"] == {"selector": {"matchLabels": {"app": "db"}}, "mtls": {"mode": "STRICT"},
                          "portLevelMtls": {"5432": {"mode": "PERMISSIVE"}}}
    assert deny["spec"] == {"selector": {"matchLabels": {"app": "catalog"}}, "action": "DENY", "rules": [
        {"from": [{"source": {"notNamespaces": ["shop"]}}],
         "when": [{"key": "source.ip", "notValues": ["10.0.0.1"]}]}]}
    assert deny_all["spec"] == {"action": "ALLOW", "rules": []} and deny_all["apiVersion"] == "security.istio.io/v1"
    assert ra["spec"]["jwtRules"] == [{"issuer": "https://issuer.example.com",
                                       "jwksUri": "https://issuer.example.com/jwks", "audiences": ["shop"],
                                       "forwardOriginalToken": True}]
    assert require["metadata"] == {"name": "api-jwt-require-jwt", "namespace": "shop"}
    assert require["spec"] == {"selector": {"matchLabels": {"app": "api"}}, "action": "ALLOW", "rules": [
        {"from": [{"source": {"requestPrincipals": ["https://issuer.example.com/*"]}}]}]}
    assert se["apiVersion"] == "networking.istio.io/v1"
    assert se["spec"] == {"hosts": ["api.payments.example.com"], "location": "MESH_EXTERNAL", "resolution": "DNS",
                          "ports": [{"number": 443, "protocol": "TLS", "name": "tls-443"}]}


def test_allow_rule_with_methods_and_principals():
    obj = policy.build(params(authorization_policies=[allow()]))[0]
    assert obj["spec"]["rules"] == [{"from": [{"source": {"principals": ["cluster.local/ns/shop/sa/web"]}}],
                                     "to": [{"operation": {"methods": ["GET"], "paths": ["/api/*"]}}]}]
    assert obj["spec"]["action"] == "ALLOW", "written although it is Istio's default, so a flip can be put back"


# -- apply flow -----------------------------------------------------------------------------

def ns_obj(name, **labels):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": dict(labels)}}


def pod_obj(ns, name, sidecar, labels=None):
    containers = [{"name": "app", "image": "x"}] + ([{"name": "istio-proxy", "image": "p"}] if sidecar else [])
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": dict(labels or {})},
            "spec": {"containers": containers},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}


def run(p, objects=(), check_mode=False, diff=False, client=None):
    client = client or FakeClient(objects)
    module = FakeModule(check_mode=check_mode, diff=diff)
    module.params = p
    kube = Kube(module, client=client, sleep=lambda s: None)
    return policy.run(module, kube), client


def plain_writes(client):
    return [(m, kw.get("name")) for m, kw in client.writes() if kw.get("dry_run") != "All"]


ALL = dict(authorization_policies=[allow(), allow(name="deny-all", selector=None, rules=None)],
           request_authentications=[jwt()], service_entries=[entry()])


def test_apply_creates_every_object_after_dry_runs_then_rerun_writes_nothing():
    result, client = run(params(**ALL), [ns_obj("shop")])
    assert result["changed"] is True
    assert [(o["kind"], o["name"], o["action"]) for o in result["objects"]] == [
        ("AuthorizationPolicy", "readers", "created"), ("AuthorizationPolicy", "deny-all", "created"),
        ("RequestAuthentication", "api-jwt", "created"), ("AuthorizationPolicy", "api-jwt-require-jwt", "created"),
        ("ServiceEntry", "payments", "created")]
    applies = [kw for m, kw in client.calls if m == "server_side_apply"]
    assert [kw.get("dry_run") for kw in applies] == ["All"] * 5 + [None] * 5, "every dry run before any write"

    client.calls.clear()
    again, client = run(params(**ALL), client=client)
    assert again["changed"] is False and again["objects"] == []
    assert client.writes() == [], "a rerun that changes nothing sends no dry run either"
    assert [m for m, kw in client.calls] == ["discovery"] * 3 + ["get"] * 3  # one read per kind and namespace
    assert len(again["resources"]) == 5


def test_an_action_flipped_by_hand_is_put_back_and_a_rerun_without_drift_sends_nothing():
    """kubectl edit (another field manager) makes an ALLOW policy DENY, AUDIT or CUSTOM: the rerun takes the field
    back (its apply forces the conflict) and reports the policy updated; the run after sends no request at all."""
    dummy, client = run(params(**ALL), [ns_obj("shop")])
    flips = {"readers": "DENY", "deny-all": "AUDIT", "api-jwt-require-jwt": "DENY"}
    for name, action in flips.items():
        client.edit(("security.istio.io/v1", "AuthorizationPolicy", "shop", name), {("spec", "action"): action})
    # deny-all made a DENY of every request: ALLOW put back beside that rule would allow all, so the rule goes too
    client.edit(("security.istio.io/v1", "AuthorizationPolicy", "shop", "deny-all"), {("spec", "rules"): [{}]})
    client.calls.clear()
    result, client = run(params(**ALL), client=client, diff=True)
    assert result["changed"] is True
    assert sorted((o["name"], o["action"]) for o in result["objects"]) == sorted(
        (name, "updated") for name in flips)
    assert sorted(d["before"]["spec"]["action"] for d in result["diff"]) == ["AUDIT", "DENY", "DENY"]
    assert all(d["after"]["spec"]["action"] == "ALLOW" for d in result["diff"])
    forced = [kw for m, kw in client.calls if m == "server_side_apply"]
    assert forced and all(kw.get("force_conflicts") for kw in forced)
    for name in flips:
        stored = client.store[("security.istio.io/v1", "AuthorizationPolicy", "shop", name)]
        assert stored["spec"]["action"] == "ALLOW", name
    assert client.store[("security.istio.io/v1", "AuthorizationPolicy", "shop", "deny-all")]["spec"] == {
        "action": "ALLOW", "rules": []}
    client.calls.clear()
    again, client = run(params(**ALL), client=client)
    assert again["changed"] is False and client.writes() == []


def test_update_reports_updated_with_diff():
    dummy, client = run(params(**ALL), [ns_obj("shop")])
    changed = copy.deepcopy(ALL)
    changed["authorization_policies"][0]["rules"][0]["to"][0]["methods"] = ["GET", "HEAD"]
    result, client = run(params(**changed), client=client, diff=True)
    assert [(o["name"], o["action"]) for o in result["objects"]] == [("readers", "updated")]
    assert len(result["diff"]) == 1 and "readers (updated)" in result["diff"][0]["before_header"]


def test_invalid_input_makes_no_api_call():
    client = FakeClient([ns_obj("shop")])
    bad = params(**ALL)
    bad["authorization_policies"] = [allow(rules=[{"to": [{"methods": ["get"]}]}])]
    with pytest.raises(InputError):
        run(bad, client=client)
    assert client.calls == []


def test_a_refused_object_writes_nothing():
    client = FakeClient([ns_obj("shop")])
    original = client.server_side_apply
    seen = []

    def refuse_third(res, **kw):
        seen.append(kw.get("name"))
        if kw.get("name") == "api-jwt" and kw.get("dry_run") == "All":
            raise api_error(400, "Bad Request", "admission webhook validation.istio.io denied the request")
        return original(res, **kw)

    client.server_side_apply = refuse_third
    with pytest.raises(ApiError) as info:
        run(params(**ALL), client=client)
    assert "1 of 5 objects would be refused" in info.value.msg and "nothing was written" in info.value.msg
    assert [k for k in client.store if k[1] != "Namespace"] == []


def test_check_mode_writes_nothing_and_reports_changes():
    result, client = run(params(**ALL), [ns_obj("shop")], check_mode=True)
    assert result["changed"] is True and len(result["objects"]) == 5
    assert plain_writes(client) == []


def test_validate_only_contacts_nothing():
    result, client = run(params(validate_only=True, **ALL))
    assert client.calls == [] and result["changed"] is False
    assert [d["kind"] for d in result["definitions"]] == ["AuthorizationPolicy", "AuthorizationPolicy",
                                                          "RequestAuthentication", "AuthorizationPolicy",
                                                          "ServiceEntry"]


def test_absent_deletes_what_exists_including_the_require_jwt_policy():
    dummy, client = run(params(**ALL), [ns_obj("shop")])
    names = params(state="absent", **ALL)
    names["service_entries"] = [entry(hosts=None, ports=None)]
    result, client = run(names, client=client)
    assert result["changed"] is True
    assert sorted(o["name"] for o in result["objects"]) == [
        "api-jwt", "api-jwt-require-jwt", "deny-all", "payments", "readers"]
    assert [k for k in client.store if k[1] != "Namespace"] == []
    again, client = run(names, client=client)
    assert again["changed"] is False and again["objects"] == []


# -- the STRICT gate ---------------------------------------------------------------------------

MESH = [ns_obj("istio-system"), ns_obj("shop", **{"istio-injection": "enabled"}),
        ns_obj("legacy", **{"istio.io/rev": "canary"}), ns_obj("plain"),
        pod_obj("shop", "web-1", True), pod_obj("legacy", "old-1", False, {"app": "old"}),
        pod_obj("plain", "outside-1", False)]


def test_mesh_wide_strict_is_refused_while_injected_namespaces_have_pods_without_sidecar():
    p = params(peer_authentications=[peer("istio-system")])
    client = FakeClient(MESH)
    with pytest.raises(InputError) as info:
        run(p, client=client)
    msg = info.value.msg
    assert "STRICT mTLS refused" in msg and "PeerAuthentication istio-system/default" in msg
    assert "legacy/Pod/old-1 (old-1)" in msg
    assert "outside-1" not in msg, "namespaces not labelled for injection are out of scope"
    assert "force: true" in msg
    assert plain_writes(client) == []

    result, client = run(dict(p, force=True), client=client)
    assert [(o["namespace"], o["action"]) for o in result["objects"]] == [("istio-system", "created")]


def test_mesh_wide_permissive_is_not_gated_and_unchanged_strict_is_not_rechecked():
    result, client = run(params(peer_authentications=[peer("istio-system", "PERMISSIVE")]), MESH)
    assert result["changed"] is True
    dummy, client = run(params(peer_authentications=[peer("istio-system")], force=True), client=client)
    again, client = run(params(peer_authentications=[peer("istio-system")]), client=client)
    assert again["changed"] is False


def test_workload_strict_looks_only_at_the_pods_its_selector_matches():
    objs = MESH + [pod_obj("legacy", "new-1", True, {"app": "new"})]
    result, dummy = run(params(peer_authentications=[peer("legacy", "PERMISSIVE", name="new", selector={"app": "new"},
                                                          port_level_mtls={"8080": "STRICT"})]), objs)
    assert result["changed"] is True
    with pytest.raises(InputError) as info:
        run(params(peer_authentications=[peer("legacy", name="old", selector={"app": "old"})]), objs)
    assert "PeerAuthentication legacy/old: legacy/Pod/old-1" in info.value.msg


def test_strict_gate_off_skips_the_check():
    result, client = run(params(peer_authentications=[peer("legacy")], strict_gate=False), MESH)
    assert result["changed"] is True
    assert not [kw for m, kw in client.calls if m == "discovery" and kw.get("kind") == "Pod"], "no pod was read"


def applied_modes(client):
    """(name, mTLS mode) of every real PeerAuthentication write, in order."""
    real = client.server_side_apply
    seen = []

    def apply(res, body=None, **kwargs):
        if kwargs.get("dry_run") != "All" and res.kind == "PeerAuthentication":
            seen.append((body["metadata"]["name"], body["spec"]["mtls"]["mode"]))
        return real(res, body=body, **kwargs)

    client.server_side_apply = apply
    return seen


def test_mesh_wide_strict_is_staged_through_permissive_after_every_check():
    client = FakeClient(MESH)
    seen = applied_modes(client)
    result, dummy = run(params(peer_authentications=[peer("istio-system")], authorization_policies=[allow()],
                               force=True), client=client)
    assert seen == [("default", "PERMISSIVE"), ("default", "STRICT")]
    assert [(o["kind"], o["action"]) for o in result["objects"]] == [
        ("PeerAuthentication", "created"), ("AuthorizationPolicy", "created")]
    del seen[:]
    again, dummy = run(params(peer_authentications=[peer("istio-system")], force=True), client=client)
    assert again["changed"] is False and seen == []


def test_strict_over_permissive_and_namespace_strict_are_not_staged():
    client = FakeClient(MESH + [ns_obj("open")])
    seen = applied_modes(client)
    run(params(peer_authentications=[peer("istio-system", "PERMISSIVE")]), client=client)
    run(params(peer_authentications=[peer("istio-system"), peer("open")], force=True), client=client)
    assert seen == [("default", "PERMISSIVE"), ("default", "STRICT"), ("default", "STRICT")]


def test_a_refused_batch_writes_no_stage_either():
    client = FakeClient(MESH)
    seen = applied_modes(client)
    with pytest.raises(InputError):
        run(params(peer_authentications=[peer("istio-system")]), client=client)
    assert seen == [] and plain_writes(client) == []


# -- nested mappings and the JWKS URI (issue 11) ----------------------------------------------------

@pytest.mark.parametrize("field, item, expected", [
    ("authorization_policies", allow(rules=[{"form": [{"principals": ["cluster.local/ns/shop/sa/web"]}],
                                             "to": [{"methods": ["GET"]}]}]),
     "authorization_policies[0].rules[0].form: unknown key 'form': the allowed keys are from, to, when"),
    ("authorization_policies", allow(rules=[{"to": [{"method": ["GET"], "paths": ["/admin"]}]}]),
     "authorization_policies[0].rules[0].to[0].method: unknown key 'method': the allowed keys are methods, "
     "not_methods, paths"),
    ("authorization_policies", allow(rules=[{"from": [{"principal": ["x"], "namespaces": ["shop"]}]}]),
     "authorization_policies[0].rules[0].from[0].principal: unknown key 'principal': the allowed keys are principals"),
    ("authorization_policies", allow(rules=[{"when": [{"key": "request.headers[x]", "value": ["1"],
                                                       "values": ["1"]}]}]),
     "authorization_policies[0].rules[0].when[0].value: unknown key 'value': the allowed keys are key, values, "
     "not_values"),
    ("request_authentications", jwt(jwt_rules=[{"issuer": "https://i.example.com", "jwks_uri": "https://i.example.com/k",
                                                "audience": ["shop"]}]),
     "request_authentications[0].jwt_rules[0].audience: unknown key 'audience': the allowed keys are issuer, "
     "jwks_uri, jwks, audiences, forward_original_token"),
    ("request_authentications", jwt(jwt_rules=[{"issuer": "https://i.example.com", "jwksUri": "https://i.example.com/k"}]),
     "request_authentications[0].jwt_rules[0].jwksUri: unknown key 'jwksUri'"),
    ("service_entries", entry(ports=[{"number": 443, "protocol": "TLS", "targetPort": 8443}]),
     "service_entries[0].ports[0].targetPort: unknown key 'targetPort': the allowed keys are number, protocol, name"),
])
def test_unknown_keys_in_nested_mappings_are_refused(field, item, expected):
    assert expected in problems(**{field: [item]})


def test_a_rule_that_is_no_mapping_lists_the_allowed_keys():
    assert "rules[0]: must be a mapping with keys from from, to, when" in problems(
        authorization_policies=[allow(rules=["from"])])


def test_jwks_uri_must_be_https_unless_insecure_is_allowed():
    insecure = jwt(jwt_rules=[{"issuer": "https://i.example.com", "jwks_uri": "http://i.example.com/jwks"}])
    msg = problems(request_authentications=[insecure])
    assert "request_authentications[0].jwt_rules[0].jwks_uri: 'http://i.example.com/jwks' is not https" in msg
    assert "allow_insecure_jwks_uri: true" in msg
    policy.validate_params(params(request_authentications=[insecure], allow_insecure_jwks_uri=True))
    obj = policy.build(params(request_authentications=[insecure], allow_insecure_jwks_uri=True))[0]
    assert obj["spec"]["jwtRules"][0]["jwksUri"] == "http://i.example.com/jwks"
