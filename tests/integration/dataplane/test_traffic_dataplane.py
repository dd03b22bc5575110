# -*- coding: utf-8 -*-
"""Traffic management written by meshops.istio.mesh_traffic, judged by real gRPC calls on the lab's proxyless data
plane: a 50% fault abort fails about half of 1,000 calls, weights split as declared, a retry policy turns a
version's injected failures into successes, and a timeout cuts a slow version. Workloads: conftest.py here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

LAB_SH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                      "lab", "lab.sh")
MODULE = "meshops.istio.mesh_traffic"


def all_ok(report):
    return report["calls"] > 0 and report["ok"] == report["calls"]


def destination_rule(plane):
    """Subsets v1 and v2; ISTIO_MUTUAL, as proxyless clients need it towards a STRICT (or tlsMode istio) server."""
    return {"name": "echo", "namespace": plane.ns, "spec": {
        "host": plane.host, "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}},
        "subsets": [{"name": "v1", "labels": {"version": "v1"}}, {"name": "v2", "labels": {"version": "v2"}}]}}


def route(plane, subset, weight=None):
    out = {"destination": {"host": plane.host, "subset": subset}}
    if weight is not None:
        out["weight"] = weight
    return out


def apply(ansible, plane, http):
    """mesh_traffic with the namespace's DestinationRule and VirtualService echo (one HTTP route)."""
    out = ansible.module(MODULE, {
        "owner": plane.ns, "destination_rules": [destination_rule(plane)],
        "virtual_services": [{"name": "echo", "namespace": plane.ns, "spec": {"hosts": [plane.host],
                                                                              "http": [http]}}]})
    assert not out.get("failed"), out.get("msg")
    return out


def fault(plane, workload, ratio=0, delay_ms=0):
    plane.lab.run(LAB_SH, "dataplane", "fault", plane.ns, workload, "--fail-ratio", str(ratio),
                  "--delay-ms", str(delay_ms))


@pytest.fixture(scope="module")
def plane(dataplane, ansible):
    """The data plane with mesh_traffic's DestinationRule (ISTIO_MUTUAL) and all calls to v1."""
    apply(ansible, dataplane, {"route": [route(dataplane, "v1")]})
    dataplane.until(lambda r: all_ok(r) and r["by_version"] == {"v1": r["calls"]}, "every call to pass, to v1")
    return dataplane


def test_weights_split_as_declared(plane, ansible):
    apply(ansible, plane, {"route": [route(plane, "v1", 70), route(plane, "v2", 30)]})
    plane.until(lambda r: all_ok(r) and r["by_version"].get("v2"), "calls to reach v2", count=50)
    report = plane.call(count=1000, concurrency=16, timeout="5s")
    assert report["ok"] == 1000, report
    share = report["by_version"]["v2"] / 1000.0
    assert 0.25 <= share <= 0.35, report["by_version"]


def test_a_fault_abort_of_half_fails_about_half_of_1000_calls(plane, ansible):
    apply(ansible, plane, {"fault": {"abort": {"percentage": {"value": 50}, "httpStatus": 503}},
                           "route": [route(plane, "v1")]})
    plane.until(lambda r: r["ok"] < r["calls"], "the fault to arrive", count=50)
    report = plane.call(count=1000, concurrency=16, timeout="5s")
    failed = report["calls"] - report["ok"]
    assert report["calls"] == 1000, report
    assert 400 <= failed <= 600, report["codes"]
    assert "fault injection" in " ".join(report["error_samples"].values()), report["error_samples"]
    apply(ansible, plane, {"route": [route(plane, "v1")]})
    plane.until(all_ok, "the fault to be gone")


def test_a_retry_policy_turns_injected_failures_into_successes(plane, ansible):
    fault(plane, "echo-v2", ratio=0.5)
    try:
        # no retry on INTERNAL (Istio's default policy retries other codes): about half fail
        apply(ansible, plane, {"route": [route(plane, "v2")], "retries": {"attempts": 0}})
        plane.until(lambda r: r["by_version"].get("v2") and not r["by_version"].get("v1"), "calls to go to v2",
                    count=50)
        without = plane.call(count=1000, concurrency=16, timeout="5s")
        assert 400 <= without["codes"].get("Internal", 0) <= 600, without["codes"]

        apply(ansible, plane, {"route": [route(plane, "v2")],
                               "retries": {"attempts": 4, "retryOn": "internal,unavailable"}})
        # five tries at 50% each: about 3% still fail
        plane.until(lambda r: r["ok"] >= 95, "the retry policy to arrive", count=100)
        report = plane.call(count=1000, concurrency=16, timeout="5s")
        assert report["ok"] >= 900, report["codes"]
        assert report["by_version"] == {"v2": report["ok"]}
    finally:
        fault(plane, "echo-v2", ratio=0)


def test_a_timeout_cuts_a_slow_version(plane, ansible):
    fault(plane, "echo-v2", delay_ms=800)
    try:
        apply(ansible, plane, {"route": [route(plane, "v1", 50), route(plane, "v2", 50)], "timeout": "200ms",
                               "retries": {"attempts": 0}})
        plane.until(lambda r: r["codes"].get("DeadlineExceeded"), "the timeout to cut v2", count=50)
        report = plane.call(count=400, concurrency=32, timeout="5s")
        assert set(report["by_version"]) == {"v1"}, report["by_version"]
        assert 140 <= report["codes"]["DeadlineExceeded"] <= 260, report["codes"]
        assert report["ok"] + report["codes"]["DeadlineExceeded"] == 400, report["codes"]
    finally:
        fault(plane, "echo-v2", delay_ms=0)
