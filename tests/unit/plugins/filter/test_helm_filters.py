# -*- coding: utf-8 -*-
"""helm_release_differences: what differs between a Helm release and the wanted chart and values."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.meshops.istio.plugins.filter.helm import FilterModule, helm_release_differences


CHART = {"name": "shop", "version": "1.2.0", "appVersion": "1.0.0"}


@pytest.mark.parametrize("current, values, expect", [
    (None, {}, ["not installed"]),
    ({"status": "deployed", "chart": "shop-1.2.0", "app_version": "1.0.0", "values": {"a": 1}}, {"a": 1}, []),
    ({"status": "failed", "chart": "shop-1.1.0", "app_version": "0.9", "values": {}}, {"a": 1},
     ["status failed", "chart shop-1.1.0 -> shop-1.2.0", "app version 0.9 -> 1.0.0", "values"]),
    ({"status": "deployed", "chart": "shop-1.2.0", "app_version": "1.0.0", "values": None}, {}, []),
    ({"status": "deployed", "chart": "shop-1.2.0", "app_version": "1.0.0", "values": {"old": 1},
      "release_values": {"a": 1}}, {"a": 1}, []),
])
def test_helm_release_differences(current, values, expect):
    assert helm_release_differences(current, CHART, values) == expect


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {
        "helm_release_differences", "helm_connection", "helm_rollback_target", "helm_rollback_needed"}


HISTORY = [{"revision": 1, "status": "superseded", "chart": "microservices-0.1.0"},
           {"revision": 3, "status": "deployed", "chart": "microservices-0.2.0"},
           {"revision": 2, "status": "superseded", "chart": "microservices-0.2.0"}]


def test_rollback_to_the_previous_revision_by_default():
    from ansible_collections.meshops.istio.plugins.filter.helm import helm_rollback_target
    assert helm_rollback_target(HISTORY, 0) == {"current": 3, "target": 2, "current_chart": "microservices-0.2.0",
                                                "target_chart": "microservices-0.2.0"}
    assert helm_rollback_target(HISTORY, "1")["target"] == 1


@pytest.mark.parametrize("history, revision, message", [
    ([], 0, "no such Helm release"),
    ([{"revision": 1, "chart": "c-1"}], 0, "revision 1 is the only one in the history"),
    (HISTORY, 7, "no revision 7 in the history (revisions: 1, 2, 3)"),
    (HISTORY, -1, "must be 0 (the previous one) or a revision number"),
    (HISTORY, "two", "must be a whole number"),
])
def test_nothing_to_roll_back_to_is_refused_clearly(history, revision, message):
    from ansible.errors import AnsibleFilterError
    from ansible_collections.meshops.istio.plugins.filter.helm import helm_rollback_target
    with pytest.raises(AnsibleFilterError) as err:
        helm_rollback_target(history, revision, release="shop/microservices")
    assert str(err.value).startswith("shop/microservices: ") and message in str(err.value)


def test_a_rollback_that_would_change_nothing_is_not_needed():
    from ansible_collections.meshops.istio.plugins.filter.helm import helm_rollback_needed
    plan = {"current": 3, "target": 1, "current_chart": "c-1", "target_chart": "c-1"}
    assert helm_rollback_needed(plan, {"a": 1}, {"a": 1}) is False
    assert helm_rollback_needed(plan, {"a": 1}, {"a": 2}) is True
    assert helm_rollback_needed(dict(plan, target_chart="c-0"), {}, None) is True
    assert helm_rollback_needed(dict(plan, target=3), {"a": 1}, {"a": 2}) is False


def test_helm_connection_arguments():
    from ansible_collections.meshops.istio.plugins.filter.helm import helm_connection
    assert helm_connection("/k", "ctx") == ["--kubeconfig", "/k", "--kube-context", "ctx"]
    assert helm_connection("", None) == []
