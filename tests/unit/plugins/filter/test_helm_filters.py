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
    assert set(FilterModule().filters()) == {"helm_release_differences"}
