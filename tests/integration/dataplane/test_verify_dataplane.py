# -*- coding: utf-8 -*-
"""What meshops.istio.mtls_verify computes agrees with real connections on the lab's data plane (proxyless gRPC
workloads under istiod's real config):

- where it says a server port is STRICT, a plaintext connection (an HTTP/2 client preface, as a client without a
  sidecar sends it) gets no HTTP/2 answer; where it says DISABLE, the same probe gets one (the probe can pass);
- where it says a client sends mTLS, the server saw the client's SPIFFE identity on every call;
- where it reports a DestinationRule disabling TLS towards a STRICT server, the client's calls really fail;
- its evidence (Prometheus, from the workloads' own request metrics) says mutual TLS where the calls were, and
  plaintext observed where they were not.

The proxyless data plane's limits (lab/README.md) are accounted for here, not in the module: clients get TLS
only from an explicit DestinationRule ISTIO_MUTUAL (no auto mTLS), so the mTLS service has one; PERMISSIVE acts as
STRICT for these pods, so no port here is PERMISSIVE (the loop would expect a refusal for one).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import socket

import pytest

LAB_SH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                      "lab", "lab.sh")
MODULE = "meshops.istio.mtls_verify"
SPEC = {"services": [{"name": "echo", "versions": [{"name": "v1"}]}, {"name": "plain", "versions": [{"name": "v1"}]}],
        "clients": [{"name": "client"}]}
# An HTTP/2 connection preface and an empty SETTINGS frame: what a plaintext gRPC client sends first.
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"


def plaintext_answered(ip, port, timeout=3.0):
    """True when the server answers a plaintext HTTP/2 preface with an HTTP/2 frame (it took plaintext); a server
    that wants TLS fails the handshake and closes (or sends a TLS alert)."""
    with socket.create_connection((ip, port), timeout=timeout) as sock:
        sock.sendall(PREFACE)
        data = b""
        try:
            while len(data) < 9:
                chunk = sock.recv(9 - len(data))
                if not chunk:
                    break
                data += chunk
        except (socket.timeout, ConnectionResetError):
            pass
    return len(data) == 9 and data[3] == 0x04  # frame type SETTINGS


def manifest(ns, echo_tls):
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
         "metadata": {"name": "default", "namespace": ns}, "spec": {"mtls": {"mode": "STRICT"}}},
        {"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication",
         "metadata": {"name": "plain", "namespace": ns},
         "spec": {"selector": {"matchLabels": {"app": "plain"}}, "mtls": {"mode": "STRICT"},
                  "portLevelMtls": {"7070": {"mode": "DISABLE"}}}},
        {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": {"name": "echo", "namespace": ns},
         "spec": {"host": "echo.{0}.svc.cluster.local".format(ns), "trafficPolicy": {"tls": {"mode": echo_tls}}}}]})


def call(plane, service, count=20):
    target = "xds:///{0}.{1}.svc.cluster.local:7070".format(service, plane.ns)
    proc = plane.lab.run(LAB_SH, "dataplane", "call", plane.ns, "--count", str(count), "--timeout", "2s",
                         "--target", target, timeout=120)
    return json.loads(proc.stdout)


def until(plane, service, predicate, what):
    last = {}

    def probe():
        last["report"] = call(plane, service)
        return last["report"] if predicate(last["report"]) else None
    try:
        return plane.lab.wait_for(probe, timeout=60, what=what)
    except AssertionError as err:
        raise AssertionError("{0}; last report: {1}".format(err, json.dumps(last.get("report"))[:1500]))


def all_ok(report):
    return report["calls"] > 0 and report["ok"] == report["calls"]


def all_failed(report):
    return report["calls"] > 0 and report["ok"] == 0


@pytest.fixture(scope="module")
def plane(dataplane_factory):
    plane = dataplane_factory(SPEC, prefix="dpv")
    # the pods are written in their injected form; the namespace is labelled as an onboarded one would be
    plane.lab.kubectl("label", "namespace", plane.ns, "istio-injection=enabled")
    plane.apply(manifest(plane.ns, "ISTIO_MUTUAL"))
    until(plane, "echo", all_ok, "mTLS calls to echo to pass")
    until(plane, "plain", all_ok, "plaintext calls to plain (port DISABLE) to pass")
    return plane


def verify(plane, ansible, **params):
    result = ansible.module(MODULE, dict({"namespaces": [plane.ns], "fail_on": "never", "analyze": False}, **params))
    assert not result.get("failed"), result.get("msg")
    return result


def ips(plane):
    return dict((w["pod"], w["ip"]) for w in plane.state()["workloads"])


def test_strict_refuses_plaintext_disable_takes_it_and_mtls_carries_the_identity(plane, ansible):
    result = verify(plane, ansible)
    rows = [r for r in result["matrix"] if r["port"] == 7070]
    assert sorted((r["workload"], r["effective"]) for r in rows) == [
        ("Pod/echo-v1-0", "STRICT"), ("Pod/plain-v1-0", "DISABLE")]
    addresses = ips(plane)
    for row in rows:
        answered = plaintext_answered(addresses[row["workload"].split("/")[1]], 7070)
        # STRICT (and PERMISSIVE, which the proxyless data plane enforces as STRICT) refuses plaintext
        assert answered is (row["effective"] == "DISABLE"), row
        for entry in row["clients"]:
            report = call(plane, row["workload"].split("/")[1].split("-")[0], count=30)
            assert entry["status"] == "OK" and report["ok"] == 30, (entry, report)
            if entry["sends"] == "mTLS":
                assert entry["destination_rule"] == "DestinationRule {0}/echo".format(plane.ns)
                assert report["caller_seen_by_server"] == {plane.principal("client"): 30}
                assert report["security"] == {"mutual_tls": 30}
                assert report["server_identity"] == {plane.principal("echo"): 30}
            else:
                assert report["security"] == {"none": 30} and report["caller_seen_by_server"] == {"unknown": 30}
    plain, = [f for f in result["findings"] if f["code"] == "server_accepts_plaintext"]
    assert plain["objects"] == ["PeerAuthentication {0}/plain".format(plane.ns)]
    assert [f["code"] for f in result["findings"]] == ["server_accepts_plaintext"]


def test_a_destination_rule_disabling_tls_towards_strict_really_fails(plane, ansible):
    plane.apply(manifest(plane.ns, "DISABLE"))
    try:
        result = verify(plane, ansible)
        finding, = [f for f in result["findings"] if f["code"] == "dr_disables_tls"]
        assert finding["objects"] == ["DestinationRule {0}/echo".format(plane.ns)] and finding["severity"] == "error"
        echo, = [r for r in result["matrix"] if r["workload"] == "Pod/echo-v1-0"]
        assert [(c["tls"], c["sends"], c["status"]) for c in echo["clients"]] == [("DISABLE", "plaintext", "CONFLICT")]
        report = until(plane, "echo", all_failed, "calls with tls DISABLE towards STRICT to fail")
        assert set(report["codes"]) == {"Unavailable"}, report
    finally:
        plane.apply(manifest(plane.ns, "ISTIO_MUTUAL"))
    until(plane, "echo", all_ok, "mTLS calls to echo to pass again")


def requests(plane, security):
    return sum(float(r["value"][1]) for r in plane.prometheus(
        'istio_requests_total{{destination_workload_namespace="{0}", connection_security_policy="{1}"}}'.format(
            plane.ns, security)))


def test_evidence_from_the_workloads_metrics(plane, ansible):
    # both series exist (the fixture's calls) and Prometheus scrapes every second: a second batch is an increase
    plane.lab.wait_for(lambda: requests(plane, "mutual_tls") and requests(plane, "none"), timeout=30,
                       what="both series in Prometheus")
    before = (requests(plane, "mutual_tls"), requests(plane, "none"))
    assert all_ok(call(plane, "echo", count=100)) and all_ok(call(plane, "plain", count=50))
    plane.lab.wait_for(lambda: requests(plane, "mutual_tls") >= before[0] + 100 and
                       requests(plane, "none") >= before[1] + 50, timeout=30, what="the calls in Prometheus")
    result = verify(plane, ansible, prometheus_url=plane.lab.prometheus_url, evidence_window="2m")
    rows = dict((r["workload"], r) for r in result["matrix"] if r["port"] == 7070)
    echo, plain = rows["Pod/echo-v1-0"]["evidence"], rows["Pod/plain-v1-0"]["evidence"]
    assert echo["mtls_share"] == 1.0 and echo["requests"] >= 100 and echo["plaintext"] == 0, echo
    assert plain["mtls_share"] == 0.0 and plain["plaintext"] >= 50, plain
    assert [s["source"] for s in echo["sources"]] == ["{0}/client".format(plane.ns)]
    observed, = [f for f in result["findings"] if f["code"] == "plaintext_observed"]
    assert observed["objects"] == ["Pod {0}/plain-v1-0".format(plane.ns)]
    assert [c["status"] for c in result["checks"] if c["name"] == "evidence"] == ["fail"]
