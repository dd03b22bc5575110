# -*- coding: utf-8 -*-
"""meshops.istio.mtls_verify against the lab (kwok pods injected by the real istiod webhook, the real API server,
the real istioctl analyze): a mesh with one namespace PERMISSIVE, one workload port set to DISABLE by a
workload-selector PeerAuthentication, one DestinationRule with tls DISABLE towards a STRICT service and one
opted-out pod: each is reported once, naming the deciding object, and a clean namespace beside them reports
nothing. Read only (no write, also in check mode); analyze and root-certificate findings folded in."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import uuid

import pytest

MODULE = "meshops.istio.mtls_verify"


def deployment(name, port=8080, opt_out=False, service=True):
    labels = {"app": name}
    template = dict(labels, **{"sidecar.istio.io/inject": "false"}) if opt_out else labels
    docs = [{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
             "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                      "template": {"metadata": {"labels": template}, "spec": {"containers": [
                          {"name": name, "image": "example.invalid/{0}:1".format(name),
                           "ports": [{"name": "http", "containerPort": port}]}]}}}}]
    if service:
        docs.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
                     "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
    return docs


def peer_authentication(name, mode, selector=None, ports=None):
    spec = {"mtls": {"mode": mode}}
    if selector:
        spec["selector"] = {"matchLabels": selector}
    if ports:
        spec["portLevelMtls"] = dict((str(p), {"mode": m}) for p, m in ports.items())
    return {"apiVersion": "security.istio.io/v1", "kind": "PeerAuthentication", "metadata": {"name": name},
            "spec": spec}


def apply(lab, ns, docs):
    lab.apply(json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}), "-n", ns)


def pods_settled(lab, ns, count):
    def settled():
        pods = lab.kubectl_json("get", "pods", "-n", ns)["items"]
        return len(pods) == count and all(p["status"].get("phase") == "Running" for p in pods)
    lab.wait_for(settled, timeout=60, what="{0} pods Running in {1}".format(count, ns))


@pytest.fixture(scope="module")
def mesh(lab):
    """Three injected namespaces: perm (PERMISSIVE), strict (STRICT; legacy:9000 DISABLE by a workload policy; a
    DestinationRule DISABLE towards api; batch opted out) and clean (STRICT, nothing wrong)."""
    names = {}
    for role in ("perm", "strict", "clean"):
        names[role] = "verify-{0}-{1}".format(role, uuid.uuid4().hex[:6])
        lab.kubectl("create", "namespace", names[role])
        lab.kubectl("label", "namespace", names[role], "istio-injection=enabled")
    apply(lab, names["perm"], [peer_authentication("default", "PERMISSIVE")] + deployment("web"))
    apply(lab, names["strict"], [peer_authentication("default", "STRICT"),
                                 peer_authentication("legacy", "STRICT", {"app": "legacy"}, {9000: "DISABLE"}),
                                 {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule",
                                  "metadata": {"name": "api-plaintext"},
                                  "spec": {"host": "api", "trafficPolicy": {"tls": {"mode": "DISABLE"}}}}]
          + deployment("api") + deployment("legacy", port=9000) + deployment("batch", opt_out=True, service=False))
    apply(lab, names["clean"], [peer_authentication("default", "STRICT")] + deployment("shop"))
    for role, count in (("perm", 1), ("strict", 3), ("clean", 1)):
        pods_settled(lab, names[role], count)
    yield names
    for ns in names.values():
        lab.kubectl("delete", "namespace", ns, "--wait=false", check=False)


def by_code(result):
    out = {}
    for finding in result["findings"]:
        out.setdefault(finding["code"], []).append(finding)
    return out


def test_each_problem_is_reported_once_with_the_deciding_object(mesh, ansible):
    perm, strict, clean = mesh["perm"], mesh["strict"], mesh["clean"]
    result = ansible.module(MODULE, {"namespaces": [perm, strict, clean], "fail_on": "never"})
    assert not result.get("failed"), result.get("msg")
    found = by_code(result)
    assert sorted(found) == ["dr_disables_tls", "server_accepts_plaintext", "sidecar_opted_out"], \
        json.dumps(result["findings"], indent=1)
    assert sorted(f["objects"][0] for f in found["server_accepts_plaintext"]) == sorted([
        "PeerAuthentication {0}/default".format(perm), "PeerAuthentication {0}/legacy".format(strict)])
    legacy, = [f for f in found["server_accepts_plaintext"] if f["namespace"] == strict]
    assert "DISABLE on port 9000" in legacy["message"]
    dr, = found["dr_disables_tls"]
    assert dr["objects"] == ["DestinationRule {0}/api-plaintext".format(strict)] and dr["severity"] == "error"
    assert "api.{0}.svc.cluster.local:80".format(strict) in dr["message"]
    opted, = found["sidecar_opted_out"]
    assert opted["objects"] == ["Deployment {0}/batch".format(strict)]
    assert [f for f in result["findings"] if f["namespace"] == clean] == []
    # the matrix: the real webhook injected the pods (2/2), the clean port is STRICT with auto mTLS
    shop, = [r for r in result["matrix"] if r["namespace"] == clean]
    assert (shop["workload"], shop["port"], shop["effective"], shop["with_sidecar"]) == (
        "Deployment/shop", 8080, "STRICT", 1)
    assert [(c["tls"], c["sends"], c["status"]) for c in shop["clients"]] == [("auto", "mTLS", "OK")]
    batch, = [r for r in result["matrix"] if r["workload"] == "Deployment/batch"]
    assert batch["effective"] == "NO_SIDECAR"
    assert result["analyze"]["ran"] is True and result["root_cert"]["missing"] == []
    assert result["passed"] is True and result["changed"] is False
    assert set(result["api_calls"]) <= {"discovery", "list", "get"}, result["api_calls"]


def test_fails_on_errors_and_check_mode_reads_the_same(mesh, ansible):
    result = ansible.module(MODULE, {"namespaces": [mesh["perm"], mesh["strict"]]}, check=True)
    assert result.get("failed") is True and "4 finding(s) at or above fail_on=error" in result["msg"]
    assert len(result["findings"]) == 4 and result["passed"] is False  # a failure still returns everything
    assert set(result["api_calls"]) <= {"discovery", "list", "get"}
    clean = ansible.module(MODULE, {"namespaces": [mesh["clean"]], "fail_on": "warning"})
    assert not clean.get("failed"), clean.get("msg")
    assert [c["status"] for c in clean["checks"]] == ["ok"] * len(clean["checks"])


def test_analyze_and_a_foreign_root_certificate_are_folded_in(lab, mesh, ansible):
    clean = mesh["clean"]
    lab.apply(json.dumps({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
                          "metadata": {"name": "shop", "namespace": clean},
                          "spec": {"hosts": ["shop"], "gateways": ["no-such-gateway"],
                                   "http": [{"route": [{"destination": {"host": "shop"}}]}]}}))
    other = base64.b64encode(b"not the lab's root").decode()
    try:
        result = ansible.module(MODULE, {"namespaces": [clean], "fail_on": "never", "ca_root_cert":
                                         "-----BEGIN CERTIFICATE-----\n{0}\n-----END CERTIFICATE-----".format(other)})
    finally:
        lab.kubectl("delete", "virtualservice", "shop", "-n", clean)
    found = by_code(result)
    assert "IST0101" in found, json.dumps(result["findings"], indent=1)  # ReferencedResourceNotFound: the gateway
    assert "no-such-gateway" in found["IST0101"][0]["message"] and found["IST0101"][0]["check"] == "analyze"
    mismatch, = found["root_cert_mismatch"]
    assert mismatch["objects"] == ["ConfigMap {0}/istio-ca-root-cert".format(clean)]
