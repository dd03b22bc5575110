# -*- coding: utf-8 -*-
"""The collection's Prometheus client against the lab's real Prometheus: samples of a real query, a query
Prometheus refuses (its own words), and an address where nothing listens (reported within the budget)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import sys
import time

import pytest

from harness import collections_path
from labs import free_ports


@pytest.fixture(scope="module")
def prometheus_client(lab):
    if not lab.prometheus_url:
        pytest.skip("no LAB_PROMETHEUS_URL (a real cluster)")
    sys.path.insert(0, collections_path())
    from ansible_collections.meshops.istio.plugins.module_utils import prometheus  # pylint: disable=import-error
    return prometheus  # its PrometheusError is errors.PrometheusError


def test_a_real_query_returns_samples(lab, prometheus_client):
    prom = prometheus_client.Prometheus(lab.prometheus_url)
    up = lab.wait_for(lambda: prom.value('sum(up{job="prometheus"})'), timeout=60, what="Prometheus to scrape itself")
    assert up == 1.0
    samples = prom.query("up")
    assert {labels.get("job") for labels, dummy in samples} >= {"prometheus", "istiod"}
    assert prom.value('up{job="no-such-job"}') is None


def test_a_refused_query_carries_prometheus_own_error(lab, prometheus_client):
    prom = prometheus_client.Prometheus(lab.prometheus_url)
    with pytest.raises(prometheus_client.PrometheusError) as info:
        prom.query("sum((")
    assert info.value.reachable and "HTTP 400" in info.value.msg and "parse error" in info.value.msg


def test_nothing_listening_is_reported_within_the_budget(prometheus_client):
    port = free_ports(1)[0]
    prom = prometheus_client.Prometheus("http://127.0.0.1:{0}".format(port), retry_budget=1.0)
    t0 = time.monotonic()
    with pytest.raises(prometheus_client.PrometheusError) as info:
        prom.value("up")
    assert not info.value.reachable and "cannot be reached after" in info.value.msg
    assert time.monotonic() - t0 < 10
