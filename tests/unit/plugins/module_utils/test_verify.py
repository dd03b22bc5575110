# -*- coding: utf-8 -*-
"""The mtls_verify runner against the fake API server: the matrix, each finding once with the object that
decided it, lists per kind (API calls independent of pods and namespaces), no writes, evidence, analyze, the
root certificate, fail_on, bad input."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.meshops.istio.plugins.module_utils import verify
from ansible_collections.meshops.istio.plugins.module_utils.errors import InputError, MeshError
from ansible_collections.meshops.istio.plugins.module_utils.kube import Kube
from ansible_collections.meshops.istio.tests.unit import fakes
from ansible_collections.meshops.istio.tests.unit.plugins.module_utils import verify_cluster as vc

DEFAULTS = dict(namespaces=None, namespace_selector=None, expect="STRICT", fail_on="never", analyze=False,
                analyze_suppress=[], istioctl_path=None, evidence_window="10m", ca_root_cert=None, root_namespace=None,
                istio_namespace="istio-system", prometheus_url=None, prometheus_headers={},
                prometheus_bearer_token=None, prometheus_ca_path=None, prometheus_validate_certs=True,
                prometheus_timeout=10, kubeconfig=None, context=None, host=None)


class Module(fakes.FakeModule):
    def __init__(self, check_mode=False, istioctl=None, analyze_output="[]", rc=0):
        super(Module, self).__init__(check_mode=check_mode)
        self.istioctl, self.analyze_output, self.rc = istioctl, analyze_output, rc
        self.commands = []

    def get_bin_path(self, name, required=False):
        return self.istioctl

    def run_command(self, argv):
        self.commands.append(argv)
        return self.rc, self.analyze_output, ""


def run(objects, module=None, client=None, **params):
    module = module or Module()
    module.params = dict(DEFAULTS, **params)
    client = client or fakes.FakeClient(objects)
    kube = Kube(module, client=client, sleep=lambda s: None)
    out = verify.run(module, kube)
    out["api_calls"] = dict(kube.calls)  # as run_module adds them
    return out, client, module


def codes(out, namespace=None):
    return sorted(f["code"] for f in out["findings"] if namespace is None or f["namespace"] == namespace)


def test_a_clean_strict_namespace_passes_with_its_matrix():
    out, client, dummy = run(vc.base() + vc.clean_namespace("shop", replicas=2), fail_on="error")
    assert out["passed"] and out["findings"] == [] and not out["changed"]
    assert [c["status"] for c in out["checks"]] == ["ok"] * len(out["checks"])
    row, = out["matrix"]
    assert (row["namespace"], row["workload"], row["port"], row["mode"], row["policy"], row["scope"]) == (
        "shop", "Deployment/svc0", 8080, "STRICT", "PeerAuthentication shop/default", "namespace")
    assert row["services"] == ["svc0.shop.svc.cluster.local:80"] and (row["pods"], row["with_sidecar"]) == (2, 2)
    client_outcome, = row["clients"]
    assert (client_outcome["tls"], client_outcome["sends"], client_outcome["status"]) == ("auto", "mTLS", "OK")
    line, = out["tls_check"]
    assert line == {"host_port": "svc0.shop.svc.cluster.local:80", "status": "OK", "server": "STRICT",
                    "client": "auto (mTLS)", "authn_policy": "PeerAuthentication shop/default",
                    "destination_rule": "-", "clients": "clients in scope"}
    ns, = out["namespaces"]
    assert (ns["name"], ns["injected"], ns["revision"], ns["pods"], ns["with_sidecar"], ns["mode"]) == (
        "shop", True, "default", 2, 2, "STRICT")
    assert not client.writes()


def test_the_four_situations_are_each_reported_once_naming_the_deciding_object():
    out, dummy, dummy = run(vc.the_four_situations())
    by_code = {}
    for f in out["findings"]:
        by_code.setdefault(f["code"], []).append(f)
    assert sorted(by_code) == ["dr_disables_tls", "server_accepts_plaintext", "sidecar_opted_out"]
    perm, legacy = sorted(by_code["server_accepts_plaintext"], key=lambda f: f["namespace"])
    assert perm["objects"] == ["PeerAuthentication perm/default"] and "PERMISSIVE" in perm["message"]
    assert legacy["objects"] == ["PeerAuthentication strict/legacy"] and "port 9000" in legacy["message"]
    assert "strict/Deployment/legacy:9000" in legacy["message"]
    dr, = by_code["dr_disables_tls"]
    assert dr["objects"] == ["DestinationRule strict/api-plaintext"] and dr["severity"] == "error"
    assert "api.strict.svc.cluster.local:80" in dr["message"] and "STRICT" in dr["message"]
    opted, = by_code["sidecar_opted_out"]
    assert opted["objects"] == ["Deployment strict/batch"] and "sidecar.istio.io/inject=false" in opted["message"]
    assert codes(out, "clean") == []
    assert out["summary"] == {"error": 4, "warning": 0, "info": 0}
    api, = [r for r in out["matrix"] if r["workload"] == "Deployment/api"]
    assert [(c["destination_rule"], c["sends"], c["status"]) for c in api["clients"]] == [
        ("DestinationRule strict/api-plaintext", "plaintext", "CONFLICT")]
    batch, = [r for r in out["matrix"] if r["workload"] == "Deployment/batch"]
    assert batch["effective"] == "NO_SIDECAR" and batch["with_sidecar"] == 0
    statuses = dict((c["name"], c["status"]) for c in out["checks"])
    assert statuses["server_mtls"] == statuses["client_tls"] == statuses["sidecars"] == "fail"
    assert statuses["root_cert"] == statuses["ready"] == "ok"


def test_fail_on_error_fails_with_the_whole_result():
    with pytest.raises(MeshError) as err:
        run(vc.the_four_situations(), fail_on="error")
    assert "4 finding(s) at or above fail_on=error" in err.value.msg
    assert err.value.result["passed"] is False and len(err.value.result["findings"]) == 4


def scaled(namespaces, replicas):
    objs = vc.base()
    for i in range(namespaces):
        objs += vc.clean_namespace("ns{0}".format(i), workloads=2, replicas=replicas)
    return objs


@pytest.mark.parametrize("selector", [None, "istio-injection=enabled"])
def test_api_calls_do_not_grow_with_pods_or_namespaces(selector):
    small, dummy, dummy = run(scaled(2, 1), namespace_selector=selector)
    large, dummy, dummy = run(scaled(30, 12), namespace_selector=selector)
    assert len(large["matrix"]) == 60 and large["namespaces"][0]["pods"] == 24
    assert small["api_calls"] == large["api_calls"]
    assert set(large["api_calls"]) == {"discovery", "list", "get"}


def count_calls(objects, **params):
    dummy, client, dummy = run(objects, **params)
    return len([m for m, kw in client.calls if m == "get"])


def test_requests_are_the_same_for_2_or_30_namespaces_and_1_or_12_pods():
    assert count_calls(scaled(2, 1)) == count_calls(scaled(30, 12)) == 10
    # one namespace by name: lists in it (and the root namespace for policies and the root certificate)
    assert count_calls(scaled(2, 1), namespaces=["ns0"]) == count_calls(scaled(30, 12), namespaces=["ns0"]) == 13


def test_never_writes_even_with_findings_and_in_check_mode():
    out, client, dummy = run(vc.the_four_situations(), module=Module(check_mode=True))
    assert not client.writes() and not out["changed"] and len(out["findings"]) == 4


def test_namespace_not_injected_and_revision_without_injector():
    objs = vc.base() + [vc.namespace("plain", injected=False), vc.root_cert("plain"),
                        vc.namespace("canary", injected=False, labels={"istio.io/rev": "1-31"}), vc.root_cert("canary")]
    objs += vc.deployment("plain", "web", sidecar=False)
    out, dummy, dummy = run(objs, namespaces=["plain", "canary"])
    assert codes(out) == ["namespace_not_injected", "no_injector"]
    assert "1-31" in [f for f in out["findings"] if f["code"] == "no_injector"][0]["message"]


def test_missing_sidecar_other_revision_and_not_ready():
    objs = vc.base() + [vc.namespace("shop"), vc.root_cert("shop"), vc.peer_authentication("shop")]
    objs += vc.deployment("shop", "old", sidecar=False) + vc.deployment("shop", "rev", revision="1-29")
    objs += vc.deployment("shop", "slow", ready=False)
    out, dummy, dummy = run(objs)
    assert codes(out) == ["sidecar_missing", "sidecar_not_ready", "sidecar_other_revision"]
    missing = [f for f in out["findings"] if f["code"] == "sidecar_missing"][0]
    assert "their calls" not in missing["message"] and "STRICT servers in scope" in missing["message"]


def test_default_permissive_is_reported_per_namespace_and_any_expects_nothing():
    objs = vc.base() + [vc.namespace("shop"), vc.root_cert("shop")] + vc.deployment("shop", "a") + \
        vc.deployment("shop", "b")
    out, dummy, dummy = run(objs)
    finding, = out["findings"]
    assert finding["objects"] == ["Namespace shop"] and "Istio's default is PERMISSIVE" in finding["message"]
    assert "2 port(s)" in finding["message"]
    assert run(objs, expect="ANY")[0]["findings"] == []
    assert run(objs, expect="PERMISSIVE")[0]["findings"] == []


def test_mesh_wide_strict_from_the_mesh_configs_root_namespace():
    objs = vc.base(mesh="rootNamespace: mesh-root\nenableAutoMtls: false\n") + [
        vc.namespace("mesh-root", injected=False), vc.peer_authentication("mesh-root"),
        vc.namespace("shop"), vc.root_cert("shop")] + vc.deployment("shop", "a")
    out, dummy, dummy = run(objs)
    row, = out["matrix"]
    assert (row["mode"], row["policy"], row["scope"]) == ("STRICT", "PeerAuthentication mesh-root/default", "mesh")
    assert out["scope"]["root_namespace"] == "mesh-root" and out["scope"]["auto_mtls"] is False
    # without auto mTLS and without a DestinationRule the clients send plaintext: it will break
    assert codes(out) == [] and row["clients"][0]["status"] == "CONFLICT"


def test_istio_mutual_towards_a_disabled_port_and_shadowed_policies():
    objs = vc.base() + [vc.namespace("shop"), vc.root_cert("shop"), vc.peer_authentication("shop", mode="DISABLE"),
                        vc.peer_authentication("shop", "zz-younger", mode="STRICT"),
                        vc.destination_rule("shop", "a", "a", "ISTIO_MUTUAL")] + vc.deployment("shop", "a")
    objs[-5]["metadata"]["creationTimestamp"] = "2026-06-01T00:00:00Z"
    out, dummy, dummy = run(objs)
    assert codes(out) == ["dr_mtls_to_plaintext", "peer_authentication_shadowed", "server_accepts_plaintext"]


def test_root_certificate_missing_and_mismatched():
    objs = vc.base() + vc.clean_namespace("a") + [vc.namespace("b"), vc.peer_authentication("b")]
    objs += vc.deployment("b", "x") + [vc.namespace("c"), vc.peer_authentication("c"), vc.root_cert("c", vc.OTHER_PEM)]
    out, dummy, dummy = run(objs)
    assert codes(out) == ["root_cert_mismatch", "root_cert_missing"]
    assert out["root_cert"]["missing"] == ["b"] and out["root_cert"]["mismatched"] == ["c"]
    out, dummy, dummy = run(objs, ca_root_cert=vc.OTHER_PEM, namespaces=["a", "c"])
    assert out["root_cert"]["mismatched"] == ["a"] and out["root_cert"]["source"] == "given in ca_root_cert"


def prometheus(monkeypatch, opener):
    """Make the runner's Prometheus client use ``opener`` (open_url's signature), without retrying."""
    from ansible_collections.meshops.istio.plugins.module_utils.prometheus import Prometheus

    class Fake(Prometheus):
        @classmethod
        def from_params(cls, params, **kwargs):
            return Prometheus.from_params.__func__(cls, params, opener=opener, sleep=lambda s: None, retry_budget=0)
    monkeypatch.setattr(verify, "Prometheus", Fake)


class Response:
    def __init__(self, doc):
        self.doc = doc

    def read(self):
        return json.dumps(self.doc).encode()


def test_evidence_from_prometheus(monkeypatch):
    samples = [
        ({"source_workload": "web", "source_workload_namespace": "perm", "destination_workload": "api",
          "destination_workload_namespace": "strict", "connection_security_policy": "mutual_tls"}, "90"),
        ({"source_workload": "unknown", "source_workload_namespace": "unknown", "destination_workload": "web",
          "destination_workload_namespace": "perm", "connection_security_policy": "none"}, "12.4"),
        ({"source_workload": "x", "source_workload_namespace": "y", "destination_workload": "gone",
          "destination_workload_namespace": "strict", "connection_security_policy": "none"}, "3")]
    seen = []

    def opener(url, **kwargs):
        seen.append(url)
        return Response({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": m, "value": [0, v]} for m, v in samples]}})
    prometheus(monkeypatch, opener)
    out, dummy, dummy = run(vc.the_four_situations(), prometheus_url="http://prom:9090", evidence_window="5m")
    assert len(seen) == 1 and "5m" in seen[0]
    api, = [r for r in out["matrix"] if r["workload"] == "Deployment/api"]
    assert api["evidence"]["mtls_share"] == 1.0 and api["evidence"]["requests"] == 90
    plaintext, = [f for f in out["findings"] if f["code"] == "plaintext_observed"]
    assert "12 of 12 requests in plaintext" in plaintext["message"] and "unknown/unknown" in plaintext["message"]
    assert [c["status"] for c in out["checks"] if c["name"] == "evidence"] == ["fail"]


def test_prometheus_down_is_a_note_not_a_finding(monkeypatch):
    def opener(url, **kwargs):
        raise ConnectionRefusedError("refused")
    prometheus(monkeypatch, opener)
    module = Module()
    out, dummy, dummy = run(vc.base() + vc.clean_namespace("shop"), module=module, prometheus_url="http://prom:1",
                            fail_on="error")
    assert out["passed"] and out["findings"] == [] and "cannot be reached" in out["evidence"]["error"]
    check, = [c for c in out["checks"] if c["name"] == "evidence"]
    assert check["status"] == "warn" and module.warnings


ANALYZE = json.dumps([
    {"code": "IST0101", "level": "Error", "message": "Referenced gateway not found: \"nope\"",
     "origin": "VirtualService shop/web", "documentationUrl": "https://istio.io/docs/ist0101"},
    {"code": "IST0102", "level": "Info", "message": "The namespace is not enabled for Istio injection.",
     "origin": "Namespace default"},
    {"code": "IST0118", "level": "Warning", "message": "Port name x", "origin": "Service shop/svc0"}])


def test_istioctl_analyze_is_folded_in_for_the_scope_only():
    module = Module(istioctl="/bin/istioctl", analyze_output=ANALYZE, rc=79)
    out, dummy, dummy = run(vc.base() + vc.clean_namespace("shop"), module=module, analyze=True,
                            kubeconfig="/k/config", context="lab")
    assert module.commands == [["/bin/istioctl", "analyze", "-o", "json", "--kubeconfig", "/k/config",
                                "--context", "lab", "--namespace", "shop"]]
    assert codes(out) == ["IST0101", "IST0118"] and out["analyze"] == {"ran": True, "messages": 2, "suppressed": []}
    assert [f["severity"] for f in out["findings"]] == ["error", "warning"]


def test_istioctl_missing_or_failing_is_a_note():
    out, dummy, module = run(vc.base() + vc.clean_namespace("shop"), analyze=True)
    assert out["findings"] == [] and [c["status"] for c in out["checks"] if c["name"] == "analyze"] == ["warn"]
    module = Module(istioctl="/bin/istioctl", analyze_output="Error: boom", rc=1)
    out, dummy, dummy = run(vc.base() + vc.clean_namespace("a") + vc.clean_namespace("b"), module=module, analyze=True)
    assert "--all-namespaces" in module.commands[0] and "boom" in out["analyze"]["error"]
    with pytest.raises(InputError, match="istioctl not found at /nope"):
        run(vc.base(), analyze=True, istioctl_path="/nope")


def test_canary_state_on_a_virtual_service_is_returned():
    state = {"version": 1, "phase": "progressing", "stable": "v1", "canary": "v2", "step": 1,
             "steps": [{"weight": 10}, {"weight": 50}],
             "history": [{"step": 0, "weight": 10, "at": "t0", "result": "pass", "success_rate": 0.999}]}
    vs = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
          "metadata": {"name": "web", "namespace": "shop", "annotations": {"meshops.istio/canary": json.dumps(state)}},
          "spec": {"hosts": ["web"]}}
    out, dummy, dummy = run(vc.base() + vc.clean_namespace("shop") + [vs])
    canary, = out["canaries"]
    assert (canary["name"], canary["phase"], canary["steps"]) == ("web", "progressing", [10, 50])
    assert canary["timeline"][0]["success_rate"] == 0.999


@pytest.mark.parametrize("params, path", [
    ({"evidence_window": "10 minutes"}, "evidence_window"), ({"namespaces": ["Bad_Name"]}, "namespaces[0]"),
    ({"ca_root_cert": "not a pem"}, "ca_root_cert"), ({"root_namespace": "-x"}, "root_namespace"),
    ({"prometheus_url": "prom:9090"}, "prometheus_url"), ({"prometheus_timeout": 0}, "prometheus_timeout"),
    ({"prometheus_headers": {"X-Scope": ["a"]}}, "prometheus_headers.X-Scope")])
def test_bad_input_is_refused_before_any_request(params, path):
    client = fakes.FakeClient(vc.base())
    with pytest.raises(InputError, match=r"- {0}:".format(path.replace("[", r"\[").replace("]", r"\]"))):
        run(None, client=client, **params)
    assert client.calls == []


def test_unknown_namespace_by_name():
    with pytest.raises(InputError, match=r"not found: nope; create them first \(nothing was written\)"):
        run(vc.base(), namespaces=["nope"])  # mtls_verify has no create_namespaces to suggest


def test_client_groups_by_destination_rule_and_export_to():
    """Clients of a namespace with its own rule for the host form a group; the others share the service
    namespace's rule when it is exported to them, and fall back to auto mTLS where it is not."""
    objs = vc.base() + vc.clean_namespace("svc") + [vc.namespace(n) for n in ("a", "b", "c")]
    objs += [vc.root_cert(n) for n in ("a", "b", "c")] + [vc.peer_authentication(n) for n in ("a", "b", "c")]
    objs.append(vc.destination_rule("a", "own", "svc0.svc.svc.cluster.local", "ISTIO_MUTUAL"))
    objs.append(vc.destination_rule("b", "other-host", "nothing.svc.svc.cluster.local", "DISABLE"))
    exported = vc.destination_rule("svc", "svc0", "svc0", "ISTIO_MUTUAL")
    objs.append(exported)
    out, dummy, dummy = run(objs)
    row, = [r for r in out["matrix"] if r["namespace"] == "svc"]
    assert [(c["clients"], c["client_namespaces"], c["destination_rule"]) for c in row["clients"]] == [
        ("clients in a", 1, "DestinationRule a/own"), ("clients in b, c, svc", 3, "DestinationRule svc/svc0")]
    exported["spec"]["exportTo"] = [".", "b"]
    out, dummy, dummy = run(objs)
    row, = [r for r in out["matrix"] if r["namespace"] == "svc"]
    assert [(c["clients"], c["client_namespaces"], c["destination_rule"], c["tls"]) for c in row["clients"]] == [
        ("clients in a", 1, "DestinationRule a/own", "ISTIO_MUTUAL"),
        ("clients in b, svc", 2, "DestinationRule svc/svc0", "ISTIO_MUTUAL"), ("clients in c", 1, None, "auto")]
    assert out["findings"] == []


def test_analyze_messages_accepted_on_purpose_are_left_out_and_listed():
    module = Module(istioctl="/bin/istioctl", analyze_output=ANALYZE)
    out, dummy, dummy = run(vc.base() + vc.clean_namespace("shop"), module=module, analyze=True,
                            analyze_suppress=["IST0118", "IST0101=VirtualService shop/w*"])
    assert out["findings"] == [] and out["analyze"]["suppressed"] == [
        "IST0101 VirtualService shop/web", "IST0118 Service shop/svc0"]
    from ansible_collections.meshops.istio.plugins.module_utils import report
    assert "IST0101 VirtualService shop/web" in report.markdown(out)
    out, dummy, dummy = run(vc.base() + vc.clean_namespace("shop"), module=Module(
        istioctl="/bin/istioctl", analyze_output=ANALYZE), analyze=True, analyze_suppress=["IST0101=Pod shop/*"])
    assert [f["code"] for f in out["findings"]] == ["IST0101", "IST0118"]
    with pytest.raises(InputError, match=r"analyze_suppress\[0\]"):
        run(vc.base(), analyze_suppress=["EnvoyFilter shop/x"])
