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
