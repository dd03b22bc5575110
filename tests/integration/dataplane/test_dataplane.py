# -*- coding: utf-8 -*-
"""Mesh policy judged by real gRPC requests: mTLS with SPIFFE identities, AuthorizationPolicies written
by meshops.istio.mesh_policy, weighted and header routes, Istio's request metrics in Prometheus, and a
data plane that leaves nothing behind. Workloads: tests/integration/dataplane/conftest.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import time

import pytest

LAB_SH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))),
                      "lab", "lab.sh")

DESTINATION_RULE = """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: echo
spec:
  host: {host}
  trafficPolicy:
    tls: {{mode: {mode}}}
  subsets:
  - {{name: v1, labels: {{version: v1}}}}
  - {{name: v2, labels: {{version: v2}}}}
"""

VIRTUAL_SERVICE = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: echo
spec:
  hosts: [{host}]
  http:
  - name: testers
    match: [{{headers: {{x-canary: {{exact: "true"}}}}}}]
    route: [{{destination: {{host: {host}, subset: v2}}}}]
  - name: split
    route:
    - {{destination: {{host: {host}, subset: v1}}, weight: 90}}
    - {{destination: {{host: {host}, subset: v2}}, weight: 10}}
"""


def all_ok(report):
    return report["calls"] > 0 and report["ok"] == report["calls"]


def all_failed(report):
    return report["calls"] > 0 and report["ok"] == 0


def destination_rule(dataplane, mode):
    dataplane.apply(DESTINATION_RULE.format(host=dataplane.host, mode=mode))


@pytest.fixture(scope="module")
def mesh(dataplane, ansible):
    """STRICT mTLS for the namespace (mesh_policy) and an ISTIO_MUTUAL DestinationRule with subsets."""
    result = ansible.module("meshops.istio.mesh_policy", {"peer_authentications": [
        {"name": "default", "namespace": dataplane.ns, "mode": "STRICT"}]})
    assert not result.get("failed"), result.get("msg")
    assert result["changed"]
    destination_rule(dataplane, "ISTIO_MUTUAL")
    dataplane.until(all_ok, "calls to pass over mTLS")
    return dataplane


def test_strict_mtls_both_sides_see_each_others_identity(mesh):
    report = mesh.call(count=100)
    assert report["ok"] == 100, report
    assert report["security"] == {"mutual_tls": 100}
    # the client verified the server's certificate, the server the client's
    assert report["server_identity"] == {mesh.principal("echo"): 100}
    assert report["caller_seen_by_server"] == {mesh.principal("client"): 100}
    assert sum(report["by_version"].values()) == 100


def test_plaintext_towards_strict_fails(mesh):
    try:
        destination_rule(mesh, "DISABLE")
        report = mesh.until(all_failed, "calls with tls DISABLE to fail")
        assert set(report["codes"]) == {"Unavailable"}, report
        mesh.lab.kubectl("delete", "destinationrule", "echo", "-n", mesh.ns)
        report = mesh.until(all_failed, "calls without a DestinationRule to fail")
        assert set(report["codes"]) == {"Unavailable"}, report
    finally:
        destination_rule(mesh, "ISTIO_MUTUAL")
    mesh.until(all_ok, "calls to pass again with ISTIO_MUTUAL")


def authz(mesh, ansible, principal, state="present"):
    result = ansible.module("meshops.istio.mesh_policy", {"state": state, "authorization_policies": [{
        "name": "echo-callers", "namespace": mesh.ns, "selector": {"app": "echo"}, "action": "ALLOW",
        "rules": [{"from": [{"principals": [principal]}]}]}]})
    assert not result.get("failed"), result.get("msg")
    return result


def test_authorization_policy_from_mesh_policy(mesh, ansible):
    ns = mesh.ns
    try:
        authz(mesh, ansible, "cluster.local/ns/{0}/sa/someone-else".format(ns))
        report = mesh.until(all_failed, "calls from a principal the policy does not allow to be denied")
        assert set(report["codes"]) == {"PermissionDenied"}, report
        # the server counts what its xDS layer (RBAC) denies, as Envoy would
        mesh.lab.wait_for(lambda: mesh.prometheus(
            'istio_requests_total{{namespace="{0}", response_code="403", grpc_response_status="7", '
            'source_principal="{1}"}}'.format(ns, mesh.principal("client"))), timeout=30, what="denials in Prometheus")
        authz(mesh, ansible, "cluster.local/ns/{0}/sa/client".format(ns))
        report = mesh.until(all_ok, "calls from the allowed principal to pass")
        assert report["caller_seen_by_server"] == {mesh.principal("client"): report["calls"]}
    finally:
        authz(mesh, ansible, "-", state="absent")


def test_steady_load(mesh):
    def stats(*extra):
        return json.loads(mesh.lab.run(LAB_SH, "dataplane", "stats", mesh.ns, *extra).stdout)

    def two_clean_seconds():
        # counted afresh until a 2 s window has no error (an earlier test's policy may still be in its way)
        report = stats()
        if report["elapsed_s"] < 2:
            return None
        stats("--reset")
        return report if report["calls"] and report["ok"] == report["calls"] else None

    stats("--reset")
    report = mesh.lab.wait_for(two_clean_seconds, timeout=30, what="2 s of steady load without errors")
    assert report["caller_seen_by_server"] == {mesh.principal("loadgen"): report["calls"]}
    assert 10 <= report["calls"] / report["elapsed_s"] <= 30, report  # configured: 20 calls/s


def test_weighted_and_header_routes(mesh):
    mesh.apply(VIRTUAL_SERVICE.format(host=mesh.host))
    try:
        # the header route and the weights arrive in the same push
        mesh.until(lambda r: all_ok(r) and r["by_version"] == {"v2": r["calls"]},
                   "the header route to send every call to v2", headers={"x-canary": "true"})
        report = mesh.call(count=2000, concurrency=16, timeout="5s")
        assert report["ok"] == 2000, report
        share = report["by_version"].get("v1", 0) / 2000.0
        assert 0.87 <= share <= 0.93, report["by_version"]
        report = mesh.call(count=200, headers={"x-canary": "true"})
        assert report["by_version"] == {"v2": 200}, report
    finally:
        mesh.lab.kubectl("delete", "virtualservice", "echo", "-n", mesh.ns, check=False)


def requests_by_version(mesh, extra=""):
    query = ('sum by (destination_version) (istio_requests_total{{namespace="{ns}", reporter="destination", '
             'source_workload="client", source_workload_namespace="{ns}", source_principal="{src}", '
             'destination_principal="{dst}", destination_service="{host}", destination_service_name="echo", '
             'destination_service_namespace="{ns}", connection_security_policy="mutual_tls", '
             'response_code="200", grpc_response_status="0"{extra}}})').format(
        ns=mesh.ns, src=mesh.principal("client"), dst=mesh.principal("echo"), host=mesh.host, extra=extra)
    return {r["metric"]["destination_version"]: int(float(r["value"][1])) for r in mesh.prometheus(query)}


def settled(read, timeout=60):
    """A value Prometheus no longer moves (two reads 1.5 s apart agree): every earlier call is counted."""
    deadline = time.monotonic() + timeout
    last = read()
    while True:
        time.sleep(1.5)
        now = read()
        if now == last:
            return now
        if time.monotonic() > deadline:
            raise AssertionError("Prometheus kept moving for {0}s: {1}".format(timeout, now))
        last = now


def test_prometheus_counts_match_the_client(mesh):
    mesh.lab.wait_for(lambda: [j["value"][1] for j in mesh.prometheus(
        'up{{job="dataplane", namespace="{0}"}}'.format(mesh.ns))] == ["1", "1"], timeout=30,
        what="Prometheus to scrape both echo servers (job dataplane)")
    before = settled(lambda: requests_by_version(mesh))
    report = mesh.call(count=300, rate=300)
    assert report["ok"] == 300, report
    want = {v: before.get(v, 0) + n for v, n in report["by_version"].items()}
    mesh.lab.wait_for(lambda: requests_by_version(mesh) == want, timeout=30,
                      what="istio_requests_total to reach {0}".format(want))
    buckets = {r["metric"]["destination_version"]: int(float(r["value"][1])) for r in mesh.prometheus(
        'sum by (destination_version) (istio_request_duration_milliseconds_count{{namespace="{0}", '
        'source_workload="client", response_code="200"}})'.format(mesh.ns))}
    assert buckets == want
    series = mesh.prometheus('istio_requests_total{{namespace="{0}", destination_version="v1"}}'.format(mesh.ns))
    labels = series[0]["metric"]
    assert labels["destination_workload"] == "echo-v1"
    assert labels["destination_workload_namespace"] == mesh.ns
    assert labels["request_protocol"] == "grpc"


ALL_TO_V2 = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: echo
spec:
  hosts: [{host}]
  http:
  - route: [{{destination: {{host: {host}, subset: v2}}}}]
"""


def test_a_version_told_to_fail_really_fails(mesh):
    failed_503 = ('sum(istio_requests_total{{namespace="{0}", destination_version="v2", response_code="500", '
                  'grpc_response_status="13"}})').format(mesh.ns)
    mesh.apply(ALL_TO_V2.format(host=mesh.host))
    try:
        mesh.until(lambda r: all_ok(r) and r["by_version"] == {"v2": r["calls"]}, "every call to go to v2")
        before = mesh.prometheus(failed_503)
        mesh.lab.run(LAB_SH, "dataplane", "fault", mesh.ns, "echo-v2", "--fail-ratio", "0.3", "--delay-ms", "50")
        report = mesh.call(count=1000, concurrency=32)
        assert report["latency_ms"]["p50"] >= 50, report["latency_ms"]
        assert set(report["codes"]) == {"OK", "Internal"}, report
        assert 250 <= report["codes"]["Internal"] <= 350, report["codes"]
        assert "injected failure" in report["error_samples"]["Internal"]
        mesh.lab.wait_for(lambda: mesh.prometheus(failed_503) != before, timeout=30,
                          what="v2's 500s in Prometheus")
    finally:
        mesh.lab.run(LAB_SH, "dataplane", "fault", mesh.ns, "echo-v2", "--fail-ratio", "0")
        mesh.lab.kubectl("delete", "virtualservice", "echo", "-n", mesh.ns, check=False)
    assert all_ok(mesh.call(count=20))


def addresses_on_lo():
    return subprocess.run(["ip", "-o", "-4", "addr", "show", "dev", "lo"], capture_output=True, text=True,
                          check=True).stdout


def pid_alive(pid):
    try:
        with open("/proc/{0}/stat".format(pid)) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_down_leaves_no_process_address_or_namespace(lab, dataplane_factory):
    plane = dataplane_factory({"services": [{"name": "echo", "versions": [{"name": "v1"}]}],
                               "clients": [{"name": "client"}]}, prefix="dpdown")
    state = plane.state()
    pids = [w[k] for w in state["workloads"] for k in ("agent_pid", "app_pid") if w.get(k)]
    ips = [w["ip"] for w in state["workloads"]]
    assert len(pids) == 3 and all(pid_alive(p) for p in pids)
    assert all(" {0}/32 ".format(ip) in addresses_on_lo() for ip in ips)
    status = lab.run(LAB_SH, "dataplane", "status", plane.ns).stdout
    for pod in ("echo-v1-0", "client-0"):
        assert "dataplane/{0}/{1} running".format(plane.ns, pod) in status, status
    targets = os.path.join(lab.env["LAB_DIR"], "dataplane", "targets", plane.ns + ".json")
    assert os.path.isfile(targets)

    lab.run(LAB_SH, "dataplane", "down", plane.ns, timeout=300)
    assert not [p for p in pids if pid_alive(p)]
    assert not [ip for ip in ips if " {0}/32 ".format(ip) in addresses_on_lo()]
    assert lab.kubectl("get", "namespace", plane.ns, check=False).returncode != 0
    assert not os.path.exists(targets)
    assert not os.path.exists(os.path.join(lab.env["LAB_DIR"], "dataplane", plane.ns))


def test_invalid_spec_is_refused_before_anything_is_created(lab, tmp_path):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"services": [{"name": "echo", "versions": [{"name": "v1", "fail_ratio": 3}]}],
                                "clients": [{"name": "client", "load": {"service": "echo", "rat": 5}}]}))
    proc = lab.run(LAB_SH, "dataplane", "up", "dp-invalid", "--spec", str(spec), check=False)
    assert proc.returncode == 1
    assert "services[0].versions[0].fail_ratio" in proc.stderr
    assert "clients[0].load.rat: unknown key" in proc.stderr
    assert lab.kubectl("get", "namespace", "dp-invalid", check=False).returncode != 0


def test_without_the_right_to_add_addresses_it_stops_with_advice(lab):
    assert shutil.which("setpriv"), "setpriv (util-linux) is needed to drop CAP_NET_ADMIN"
    proc = lab.run("setpriv", "--bounding-set=-net_admin", LAB_SH, "dataplane", "up", "dp-nocap", check=False)
    assert proc.returncode == 1, proc.stderr
    assert "without CAP_NET_ADMIN" in proc.stderr and "ip addr add {0} dev lo".format(lab.env.get("LAB_POD_CIDR", "10.244.0.0/16")) in proc.stderr
    assert lab.kubectl("get", "namespace", "dp-nocap", check=False).returncode != 0
