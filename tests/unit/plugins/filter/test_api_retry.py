# -*- coding: utf-8 -*-
"""The filters that give roles calling kubernetes.core the collection's retry judgement and budget."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.meshops.istio.plugins.filter import api_retry as f

# What kubernetes.core.k8s returned while the lab's API server was down or restarting.
REFUSED = {"failed": True, "msg": "Value of unknown type: <class 'urllib3.exceptions.NewConnectionError'>, "
           "<urllib3.connection.HTTPSConnection object at 0x7f>: Failed to establish a new connection: "
           "[Errno 111] Connection refused"}


@pytest.mark.parametrize("result", [
    REFUSED,
    {"failed": True, "msg": "Failed to create object: b'...'", "status": 503, "reason": "Service Unavailable"},
    {"failed": True, "msg": "Failed to patch object", "status": 500},
    {"failed": True, "msg": "Failed to get client due to HTTPSConnectionPool(host='127.0.0.1', port=16443): "
                            "Max retries exceeded with url: /version"},
    {"failed": True, "error": "(429)", "msg": "Too Many Requests"},
])
def test_transient_failures(result):
    assert f.api_transient(result) is True


@pytest.mark.parametrize("result", [
    {"changed": True},
    {"failed": False, "msg": "Connection refused"},  # succeeded: nothing to retry
    {"failed": True, "msg": "Failed to create object: forbidden", "status": 403},
    {"failed": True, "msg": "Failed to create object: Invalid", "status": 422},
    {"failed": True, "msg": "Error loading resource_definition: No such file"},
    {"failed": True, "msg": "Resource creation timed out"},
    None,
])
def test_other_results_are_not_retried(result):
    assert f.api_transient(result) is False


def test_retries_fill_the_budget(monkeypatch):
    monkeypatch.delenv("MESHOPS_RETRY_BUDGET", raising=False)
    assert f.api_retries(3) == 10
    assert f.api_retries(4, 30) == 8
    assert f.api_retries(3, 0) == 0
    monkeypatch.setenv("MESHOPS_RETRY_BUDGET", "60")
    assert f.api_retries(3) == 20


@pytest.mark.parametrize("delay,budget", [(0, 30), (-1, 30), ("x", 30), (3, "soon")])
def test_bad_values_fail_naming_the_filter(delay, budget):
    with pytest.raises(AnsibleFilterError) as info:
        f.api_retries(delay, budget)
    assert "api_retries" in str(info.value)


# What kubernetes.core.k8s returned for a namespace named Shop (the istio role before issue 11).
RAW = {"failed": True, "error": 422, "status": 422, "reason": "Unprocessable Entity",
       "msg": "Failed to create object: b'{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
              "\"Failure\",\"message\":\"Namespace \\\\\"Shop\\\\\" is invalid: metadata.name: Invalid value: "
              "\\\\\"Shop\\\\\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters\","
              "\"reason\":\"Invalid\",\"details\":{\"name\":\"Shop\",\"kind\":\"Namespace\"},\"code\":422}\\n'"}
FORBIDDEN = {"failed": True, "msg": "Failed to retrieve requested object: b'{\"kind\":\"Status\",\"apiVersion\":"
                                    "\"v1\",\"status\":\"Failure\",\"message\":\"configmaps \\\\\"istio\\\\\" is "
                                    "forbidden: User \\\\\"system:serviceaccount:ops:meshops\\\\\" cannot get resource "
                                    "\\\\\"configmaps\\\\\" in API group \\\\\"\\\\\" in the namespace \\\\\"istio-system"
                                    "\\\\\"\",\"reason\":\"Forbidden\",\"details\":{\"name\":\"istio\",\"kind\":"
                                    "\"configmaps\"},\"code\":403}\\n'"}


def test_api_failure_gives_the_servers_message_naming_the_object_never_the_raw_body():
    msg = f.api_failure(RAW)
    assert msg.startswith('Could not create Namespace Shop: HTTP 422 Invalid: Namespace "Shop" is invalid: '
                          'metadata.name: Invalid value: "Shop": a lowercase RFC 1123 label'), msg
    assert "b'" not in msg and '"kind":"Status"' not in msg
    assert f.api_failure(RAW, "Secret istio-system/tls").startswith("Could not create Secret istio-system/tls: HTTP 422")


def test_api_failure_of_a_403_names_the_rule_to_add():
    msg = f.api_failure(FORBIDDEN, "ConfigMap istio-system/istio")
    assert msg.startswith("Could not read ConfigMap istio-system/istio: HTTP 403 Forbidden: configmaps \"istio\" is "
                          "forbidden"), msg
    assert "{apiGroups: [\"\"], resources: [configmaps], verbs: [get]}" in msg
    assert 'Role in namespace "istio-system"' in msg


def test_api_failure_of_a_loop_names_each_failed_item():
    loop = {"failed": True, "msg": "One or more items failed",
            "results": [{"item": "prometheus", "failed": False}, dict(RAW, item="grafana")]}
    assert f.api_failure(loop).startswith("grafana: Could not create Namespace Shop: HTTP 422")


@pytest.mark.parametrize("result", [
    {"failed": True, "msg": "Failed to load resource definition: [Errno 2] No such file"},
    {"failed": True, "msg": "Failed to create object: b'not json'"},
    "text",
])
def test_api_failure_leaves_other_messages_as_they_are(result):
    assert f.api_failure(result) == (result["msg"] if isinstance(result, dict) else result)


def test_a_module_crash_without_a_message_counts_as_transient():
    # What `until` sees of kubernetes.core.k8s raising on a refused connection under ansible-core 2.21: the
    # exception's presence, no message yet.
    crashed = {"changed": False, "failed": True, "exception": "(traceback unavailable)", "attempts": 1}
    assert f.api_transient(crashed) is True
    assert f.api_transient(dict(crashed, msg="Failed to load resource definition: no such file")) is False
