# -*- coding: utf-8 -*-
"""The filters roles check their variables with before their first write (the modules' own rules), and keep a
later step's message true for the role."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.meshops.istio.plugins.filter import inputs as f


@pytest.mark.parametrize("rule, value, expected", [
    ("timeout", -1, "v: must be a positive whole number of seconds (1 or more), not -1"),
    ("timeout", -5, "v: must be a positive whole number of seconds (1 or more), not -5"),
    ("timeout", 0, "v: must be a positive whole number of seconds (1 or more), not 0"),
    ("timeout", "-1", "v: must be a positive whole number of seconds (1 or more), not '-1'"),
    ("timeout", True, "v: must be a positive whole number of seconds (1 or more), not True"),
    ("timeout", 1.5, "v: must be a positive whole number of seconds (1 or more), not 1.5"),
    ("count", -1, "v: must be a whole number from 0 to any, not -1"),
    ("positive", 0, "v: must be a whole number from 1 to any, not 0"),
    ("http_status", 99, "v: must be a HTTP status from 100 to 599, not 99"),
    ("percentage", 101, "v: must be a percentage from 0.0 to 100.0, not 101"),
    ("percentage", "x", "v: must be a percentage from 0.0 to 100.0, not 'x'"),
    ("budget", -1, "v: must be a number of seconds >= 0, or null for the collection's retry budget, not -1"),
    ("revision", "1.30", "v: revision '1.30' is not valid"),
    ("release", "Shop", "v: 'Shop' is not a valid Helm release name"),
    ("release", "a" * 54, "v: '" + "a" * 54 + "' is not a valid Helm release name"),
    ("namespace", "Shop", "v: 'Shop' is not a valid namespace name"),
    ("onboard_namespace", "kube-system", "v: kube-system is a system namespace and is never onboarded"),
    ("onboard_namespaces", ["shop", "Shop"], "v[1]: 'Shop' is not a valid namespace name"),
    ("onboard_namespaces", "shop", "v: must be a list of namespace names, not 'shop'"),
    ("name", "bad_name", "v: 'bad_name' is not a valid name"),
    ("hosts", ["ok.example.com", "bad host"], "v[1]: 'bad host' is not a DNS name"),
    ("selector", {"app": "a b"}, "v.app: 'a b' is not a valid label value"),
])
def test_each_rule_names_the_variable_and_what_is_wrong(rule, value, expected):
    found = f.input_problems({"v": [value, rule]})
    assert len(found) == 1 and found[0].startswith(expected), found


@pytest.mark.parametrize("rule, value", [
    ("timeout", 300), ("timeout", "300"), ("count", 0), ("positive", 1), ("http_status", 200),
    ("percentage", 1.0), ("percentage", "100"), ("budget", None), ("budget", 0), ("revision", ""),
    ("revision", "canary"), ("release", "microservices"), ("namespace", "shop"), ("onboard_namespace", "shop"),
    ("onboard_namespaces", []), ("name", "shop-gateway-tls"), ("hosts", ["app.example.com", "*.example.com"]),
    ("selector", {"istio": "ingressgateway"}),
])
def test_good_values_pass(rule, value):
    assert f.input_problems({"v": [value, rule]}) == []


def test_problems_come_in_the_order_of_the_variables():
    found = f.input_problems({"app_deploy_namespace": ["Shop", "onboard_namespace"],
                              "app_deploy_wait_timeout": [-1, "timeout"]})
    assert [p.split(":")[0] for p in found] == ["app_deploy_namespace", "app_deploy_wait_timeout"]


def test_a_traffic_declaration_is_checked_as_mesh_traffic_checks_it_and_named_by_the_role_variable():
    declaration = {
        "owner": "mesh_gateway",
        "gateways": [{"name": "gw", "namespace": "shop", "spec": {"selector": {"istio": "ingressgateway"}, "servers": [
            {"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "hosts": ["app.example.com"],
             "tls": {"mode": "SIMPLE", "credentialName": "tls"}}]}}],
        "virtual_services": [{"name": "gw", "namespace": "shop", "spec": {
            "hosts": ["app.example.com"], "gateways": ["gw"],
            "http": [{"route": [{"destination": {"host": "web"}}], "timeout": "-1s"}]}}],
        "_paths": {"virtual_services[0].spec.http": "mesh_gateway_http", "owner": "mesh_gateway_owner"},
    }
    assert f.input_problems({"mesh_gateway": [declaration, "traffic"]}) == [
        "mesh_gateway_http[0].timeout: '-1s' is not a duration (a number with a unit h, m, s or ms, for example "
        "1.5s or 300ms)"]
    declaration["owner"] = "bad owner"
    declaration["gateways"][0]["spec"]["servers"][0]["tls"]["mode"] = "STRICT"
    found = f.input_problems({"mesh_gateway": [declaration, "traffic"]})
    assert found[0].startswith("mesh_gateway_owner: 'bad owner' is not a valid label value")
    assert found[1].startswith("mesh_gateway: gateways[0].spec.servers[0].tls.mode: 'STRICT' is not one of")


def test_a_rule_the_filter_does_not_know_is_the_roles_error():
    with pytest.raises(AnsibleFilterError):
        f.input_problems({"v": [1, "nope"]})
    with pytest.raises(AnsibleFilterError):
        f.input_problems({"v": 1})


def test_written_before_keeps_a_later_steps_message_true_for_the_role():
    msg = "1 invalid value(s); nothing was written:\n- gateways[0]: ..."
    assert f.written_before(msg, []) == msg
    out = f.written_before(msg, ["Secret istio-system/shop-gateway-tls"])
    assert "nothing was written" not in out
    assert out.startswith("1 invalid value(s); nothing more was written by this step:")
    assert out.endswith("(Written by this role before that step, and left in place: Secret "
                        "istio-system/shop-gateway-tls.)")
    assert "Nothing more was written by this step." in f.written_before("Refused. Nothing was written.", ["x"])
