# -*- coding: utf-8 -*-
"""meshops.istio.mesh_policy against the lab: every kind is accepted by istiod's validating webhook, a rerun
changes nothing, state absent removes them; each invalid input fails before any write; an object only istiod
refuses is caught by the dry run, so nothing is written either. The mesh-wide PeerAuthentication is created only
in PERMISSIVE and removed afterwards."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

MODULE = "meshops.istio.mesh_policy"
KINDS = ("peerauthentications.security.istio.io", "authorizationpolicies.security.istio.io",
         "requestauthentications.security.istio.io", "serviceentries.networking.istio.io")
JWKS = ('{"keys":[{"kty":"RSA","e":"AQAB","kid":"test","n":"xAE7eB6qugXyCAG3yhh7pkDkT65pHymX-P7KfIupjf59vsdo91bSP9C'
        '8H07pSAGQO1MV_xFj9VswgsCg4R6otmg5PV2He95lZdHtOcU5DXIg_pbhLdKXbi66GlVeK6ABZOUW3WYtnNHD-91gVuoeJT_DwtGGcp4ignk'
        'gXfkiEm4sw-4sfb4qdt5oLbyVpmW6x9cfa7vs2WTfURiCrBoUqgBo_-4WTiULmmHSGZHOjzwa8WtrtOQGsAFjIbno85jp6MnGGGZPYZbDAa'
        '_b3y5u-YpW7ypZrvD8BgtKVjgtQgZhLAGezMt0ua3DRrWnKqTZ0BJ_EyxOGuHJrLsn00fnMQ"}]}')


def objects(lab, ns):
    """{Kind/name: resourceVersion} of every security object in the namespace."""
    out = {}
    for kind in KINDS:
        for item in lab.kubectl_json("get", kind, "-n", ns)["items"]:
            out["{0}/{1}".format(item["kind"], item["metadata"]["name"])] = item["metadata"]["resourceVersion"]
    return out


def security(ns):
    return {
        "peer_authentications": [
            {"name": "default", "namespace": ns, "mode": "STRICT"},
            {"name": "db", "namespace": ns, "mode": "STRICT", "selector": {"app": "db"},
             "port_level_mtls": {"9100": "PERMISSIVE"}},
        ],
        "authorization_policies": [
            {"name": "deny-all", "namespace": ns},
            {"name": "catalog-readers", "namespace": ns, "selector": {"app": "catalog"},
             "rules": [{"from": [{"principals": ["cluster.local/ns/{0}/sa/web".format(ns),
                                                 "cluster.local/ns/{0}/sa/*".format(ns)]}],
                        "to": [{"methods": ["GET", "HEAD"], "paths": ["/api/*"], "ports": ["8080"]}]}]},
            {"name": "no-admin", "namespace": ns, "action": "DENY",
             "rules": [{"to": [{"paths": ["/admin*"]}]},
                       {"from": [{"not_namespaces": [ns]}], "when": [{"key": "request.headers[x-debug]",
                                                                      "values": ["1"]}]}]},
        ],
        "request_authentications": [
            {"name": "api-jwt", "namespace": ns, "selector": {"app": "api"},
             "jwt_rules": [{"issuer": "https://issuer.example.com", "jwks": JWKS, "audiences": ["shop"],
                            "forward_original_token": True},
                           {"issuer": "https://other.example.com",
                            "jwks_uri": "https://other.example.com/.well-known/jwks.json"}]},
        ],
        "service_entries": [
            {"name": "payments-api", "namespace": ns, "hosts": ["api.payments.example.com"],
             "ports": [{"number": 443, "protocol": "TLS"}], "export_to": ["."]},
            {"name": "wildcard", "namespace": ns, "hosts": ["*.cdn.example.com"], "resolution": "NONE",
             "ports": [{"number": 443, "protocol": "TLS", "name": "tls"}]},
        ],
    }


@pytest.fixture
def mesh_wide(lab):
    """Whether the test may manage istio-system's PeerAuthentication default; removes it afterwards."""
    found = lab.kubectl("get", "peerauthentications.security.istio.io", "default", "-n", "istio-system",
                        "--ignore-not-found", "-o", "name").stdout.strip()
    yield not found
    if not found:
        lab.kubectl("delete", "peerauthentications.security.istio.io", "default", "-n", "istio-system",
                    "--ignore-not-found")


def test_every_kind_is_accepted_by_istiod_and_a_rerun_changes_nothing(lab, ansible, namespace, mesh_wide):
    ns = namespace("msec")
    args = security(ns)
    if mesh_wide:
        args["peer_authentications"].insert(0, {"name": "default", "namespace": "istio-system", "mode": "PERMISSIVE"})

    check = ansible.module(MODULE, args, check=True, diff=True)
    assert not check.get("failed"), check.get("msg")
    assert check["changed"] is True and len(check["objects"]) == 9 + bool(mesh_wide)
    assert set(check["api_calls"]) <= {"discovery", "list", "get", "apply_dry_run"}
    assert objects(lab, ns) == {}

    result = ansible.module(MODULE, args)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    assert {o["action"] for o in result["objects"]} == {"created"}
    live = objects(lab, ns)
    assert sorted(live) == sorted([
        "PeerAuthentication/default", "PeerAuthentication/db", "AuthorizationPolicy/deny-all",
        "AuthorizationPolicy/catalog-readers", "AuthorizationPolicy/no-admin", "RequestAuthentication/api-jwt",
        "AuthorizationPolicy/api-jwt-require-jwt", "ServiceEntry/payments-api", "ServiceEntry/wildcard"])
    readers = lab.kubectl_json("get", KINDS[1], "catalog-readers", "-n", ns)
    assert readers["spec"]["rules"][0]["to"][0]["operation"]["methods"] == ["GET", "HEAD"]
    require = lab.kubectl_json("get", KINDS[1], "api-jwt-require-jwt", "-n", ns)
    assert require["spec"]["rules"][0]["from"][0]["source"]["requestPrincipals"] == [
        "https://issuer.example.com/*", "https://other.example.com/*"]
    if mesh_wide:
        peer = lab.kubectl_json("get", KINDS[0], "default", "-n", "istio-system")
        assert peer["spec"] == {"mtls": {"mode": "PERMISSIVE"}}

    again = ansible.module(MODULE, args)
    assert not again.get("failed"), again.get("msg")
    assert again["changed"] is False and again["objects"] == []
    assert "apply" not in again["api_calls"]
    assert objects(lab, ns) == live

    gone = ansible.module(MODULE, dict(args, state="absent"))
    assert not gone.get("failed"), gone.get("msg")
    assert gone["changed"] is True and objects(lab, ns) == {}
    assert ansible.module(MODULE, dict(args, state="absent"))["changed"] is False


def test_a_policy_changed_by_hand_is_restored_by_the_rerun(lab, ansible, namespace):
    """kubectl flips an ALLOW policy to DENY (it then denies only what its rules match and allows the rest), makes
    the deny-all a DENY of every request (rules [{}]; istiod refuses a DENY without rules) and a STRICT
    PeerAuthentication PERMISSIVE: the rerun puts all three back (the fields are the collection's: ALLOW and
    rules [] are written although they are Istio's defaults - ALLOW beside the [{}] left behind would allow all -
    and the apply forces the conflict kubectl's ownership makes) and says so; the run after sends no request that
    writes or dry-runs."""
    ns = namespace("msecdrift")
    args = security(ns)
    args = {"peer_authentications": args["peer_authentications"][:1],
            "authorization_policies": args["authorization_policies"]}
    first = ansible.module(MODULE, args)
    assert not first.get("failed"), first.get("msg")
    for name in ("deny-all", "catalog-readers"):
        assert lab.kubectl_json("get", KINDS[1], name, "-n", ns)["spec"]["action"] == "ALLOW"
    lab.kubectl("patch", KINDS[1], "catalog-readers", "-n", ns, "--type=merge", "-p", '{"spec":{"action":"DENY"}}')
    lab.kubectl("patch", KINDS[1], "deny-all", "-n", ns, "--type=merge", "-p",
                '{"spec":{"action":"DENY","rules":[{}]}}')
    lab.kubectl("patch", KINDS[0], "default", "-n", ns, "--type=merge", "-p", '{"spec":{"mtls":{"mode":"PERMISSIVE"}}}')
    drifted = objects(lab, ns)

    rerun = ansible.module(MODULE, args)
    assert not rerun.get("failed"), rerun.get("msg")
    assert rerun["changed"] is True
    assert sorted((o["kind"], o["name"], o["action"]) for o in rerun["objects"]) == [
        ("AuthorizationPolicy", "catalog-readers", "updated"), ("AuthorizationPolicy", "deny-all", "updated"),
        ("PeerAuthentication", "default", "updated")]
    assert lab.kubectl_json("get", KINDS[1], "deny-all", "-n", ns)["spec"] == {"action": "ALLOW", "rules": []}
    assert lab.kubectl_json("get", KINDS[1], "catalog-readers", "-n", ns)["spec"]["action"] == "ALLOW"
    assert lab.kubectl_json("get", KINDS[1], "no-admin", "-n", ns)["spec"]["action"] == "DENY"
    assert lab.kubectl_json("get", KINDS[0], "default", "-n", ns)["spec"]["mtls"]["mode"] == "STRICT"
    restored = objects(lab, ns)
    assert restored["AuthorizationPolicy/no-admin"] == drifted["AuthorizationPolicy/no-admin"], "untouched"

    again = ansible.module(MODULE, args)
    assert not again.get("failed"), again.get("msg")
    assert again["changed"] is False and again["objects"] == []
    assert set(again["api_calls"]) <= {"discovery", "list", "get"}, again["api_calls"]
    assert objects(lab, ns) == restored


def _invalid(ns, case):
    args = security(ns)
    if case == "principal":
        args["authorization_policies"][1]["rules"][0]["from"][0]["principals"].append("web")
        return args, "authorization_policies[1].rules[0].from[0].principals[2]"
    if case == "mode":  # choices are the argument spec's: Ansible refuses them before the module runs
        args["peer_authentications"][1]["mode"] = "MUTUAL"
        return args, "value of mode must be one of: UNSET, DISABLE, PERMISSIVE, STRICT, got: MUTUAL"
    if case == "method":
        args["authorization_policies"][1]["rules"][0]["to"][0]["methods"] = ["get"]
        return args, "authorization_policies[1].rules[0].to[0].methods[0]: 'get' is not an HTTP method"
    args["authorization_policies"][1]["rules"].append({})
    return args, "authorization_policies[1].rules[1]: an ALLOW rule needs from, to or when"


@pytest.mark.parametrize("case", ["principal", "mode", "method", "empty_rule"])
def test_invalid_input_fails_before_any_write(lab, ansible, namespace, case):
    ns = namespace("msecbad")
    args, expected = _invalid(ns, case)
    result = ansible.module(MODULE, args)
    assert result.get("failed") is True
    assert expected in result["msg"]
    if case == "mode":
        assert "api_calls" not in result, "the module never ran"
    else:
        assert "nothing was written" in result["msg"] and result["api_calls"] == {}
    assert objects(lab, ns) == {}


def test_an_object_only_istiod_refuses_is_caught_by_the_dry_run(lab, ansible, namespace):
    ns = namespace("msecwh")
    args = security(ns)
    args["authorization_policies"][2]["rules"][1]["when"][0]["key"] = "no.such.attribute"
    result = ansible.module(MODULE, args)
    assert result.get("failed") is True
    assert "would be refused" in result["msg"] and "nothing was written" in result["msg"]
    assert "no-admin" in result["msg"]
    assert "apply" not in result["api_calls"]
    assert objects(lab, ns) == {}


def test_strict_is_refused_while_a_pod_lacks_the_sidecar(lab, ansible, namespace):
    ns = namespace("msecs")
    lab.kubectl("run", "bare", "-n", ns, "--image=example.invalid/bare:1", "--restart=Never")
    lab.wait_for(lambda: lab.kubectl_json("get", "pod", "bare", "-n", ns)["status"].get("phase") == "Running",
                 timeout=60, what="pod bare running")
    args = {"peer_authentications": [{"name": "default", "namespace": ns, "mode": "STRICT"}]}
    refused = ansible.module(MODULE, args)
    assert refused.get("failed") is True
    assert "STRICT mTLS refused" in refused["msg"] and "{0}/Pod/bare".format(ns) in refused["msg"]
    assert objects(lab, ns) == {}
    forced = ansible.module(MODULE, dict(args, force=True))
    assert not forced.get("failed"), forced.get("msg")
    assert sorted(objects(lab, ns)) == ["PeerAuthentication/default"]
