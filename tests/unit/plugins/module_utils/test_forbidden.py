# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.meshops.istio.plugins.module_utils import forbidden


def status_body(message, code=403):
    return json.dumps({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
                       "reason": "Forbidden", "code": code}).encode()


NAMESPACED = ('authorizationpolicies.security.istio.io "allow-web" is forbidden: User '
              '"system:serviceaccount:ops:meshops" cannot patch resource "authorizationpolicies" '
              'in API group "security.istio.io" in the namespace "shop"')
CLUSTER = ('namespaces is forbidden: User "system:serviceaccount:ops:meshops" cannot list resource '
           '"namespaces" in API group "" at the cluster scope')


def test_namespaced_refusal_names_verb_resource_namespace_and_rule():
    msg = forbidden.message(status_body(NAMESPACED), 403, verb="apply")
    assert 'may not patch authorizationpolicies.security.istio.io in namespace "shop"' in msg
    assert 'user "system:serviceaccount:ops:meshops"' in msg
    assert 'Role in namespace "shop"' in msg
    assert "{apiGroups: [security.istio.io], resources: [authorizationpolicies], verbs: [patch]}" in msg
    assert "docs/rbac.md" in msg


def test_cluster_scope_refusal_asks_for_a_cluster_role_and_core_group():
    msg = forbidden.message(status_body(CLUSTER), 403)
    assert "may not list namespaces at the cluster scope" in msg
    assert "ClusterRole bound to" in msg
    assert '{apiGroups: [""], resources: [namespaces], verbs: [list]}' in msg


def test_the_server_words_win_over_the_attempt():
    # server-side apply is authorized as patch, whatever the layer called it
    msg = forbidden.message(status_body(NAMESPACED), 403, verb="create", resource="x", namespace="other")
    assert "may not patch authorizationpolicies" in msg and '"shop"' in msg


def test_the_attempt_fills_in_when_the_body_says_nothing():
    msg = forbidden.message(b"", 403, verb="apply", resource="peerauthentications",
                            group="security.istio.io", namespace="shop")
    assert 'the credentials in use may not patch peerauthentications.security.istio.io in namespace "shop"' in msg
    assert "verbs: [patch]" in msg


@pytest.mark.parametrize("body", [NAMESPACED, {"message": NAMESPACED}, status_body(NAMESPACED).decode()])
def test_body_as_text_or_dict(body):
    assert "may not patch authorizationpolicies" in forbidden.message(body, 403)


def test_non_json_body():
    msg = forbidden.message(b"<html>forbidden</html>", 403, verb="delete", resource="serviceentries",
                            group="networking.istio.io", namespace="shop")
    assert "may not delete serviceentries.networking.istio.io" in msg


@pytest.mark.parametrize("status", [401, 404, 409, 500, 0, None])
def test_only_403_is_explained(status):
    assert forbidden.message(status_body(NAMESPACED, code=status or 0), status) is None


def test_the_kube_layer_appends_the_rule_to_a_403():
    from ansible_collections.meshops.istio.plugins.module_utils.calls import translate
    from ansible_collections.meshops.istio.tests.unit.fakes import api_error
    err = translate(api_error(403, "Forbidden", NAMESPACED), "apply", "AuthorizationPolicy shop/allow-web")
    assert err.status == 403
    assert err.msg.startswith("Could not apply AuthorizationPolicy shop/allow-web: HTTP 403 Forbidden: ")
    assert "{apiGroups: [security.istio.io], resources: [authorizationpolicies], verbs: [patch]}" in err.msg
    assert "RBAC" not in translate(api_error(409, "Conflict", "conflict"), "apply", "x").msg
