# -*- coding: utf-8 -*-
"""The small pure parts of mtls_verify: istioctl analyze's output, certificates, the evidence query and fold."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

import pytest

from ansible_collections.meshops.istio.plugins.module_utils import analyze, certs, evidence


@pytest.mark.parametrize("origin, namespace", [
    ("Pod shop/web-5d9f8-abcde", "shop"), ("Namespace shop", "shop"), ("VirtualService shop/web", "shop"),
    ("MutatingWebhookConfiguration istio-sidecar-injector", None), ("Service shop/web (port 80)", "shop"),
    ("", None), (None, None)])
def test_the_namespace_of_an_analyzer_origin(origin, namespace):
    assert analyze.origin_namespace(origin) == namespace


def test_parse_keeps_the_scope_and_maps_levels():
    out = analyze.parse('some warning on stdout\n[{"code": "IST0102", "level": "Info", "message": "m", '
                        '"origin": "Namespace a"}, {"code": "IST0101", "level": "Error", "origin": "Pod b/x"}]',
                        ["a"])
    assert [(m["code"], m["severity"], m["namespace"]) for m in out] == [("IST0102", "info", "a")]
    assert analyze.parse("", ["a"]) == []
    with pytest.raises(ValueError):
        analyze.parse('{"not": "a list"}', ["a"])


def test_analyze_command_for_one_and_several_namespaces():
    assert analyze.command("istioctl", ["a"]) == ["istioctl", "analyze", "-o", "json", "--namespace", "a"]
    assert analyze.command("istioctl", ["a", "b"], "/k", "ctx")[-5:] == [
        "--kubeconfig", "/k", "--context", "ctx", "--all-namespaces"]


def pem(data):
    return "-----BEGIN CERTIFICATE-----\n{0}\n-----END CERTIFICATE-----\n".format(base64.b64encode(data).decode())


def test_certificates_compare_as_der_whatever_the_armour():
    one = pem(b"root one")
    wrapped = one.replace("\n-----END", "  \n\n-----END")
    assert certs.certificates(one + pem(b"root two")) == [b"root one", b"root two"]
    assert certs.certificates("-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----") == []
    maps = {"a": {"data": {"root-cert.pem": wrapped}}, "b": {"data": {"root-cert.pem": pem(b"other")}},
            "c": {"data": {}}}
    assert certs.compare([b"root one"], maps, ["a", "b", "c", "d"]) == (["c", "d"], ["b"])
    assert certs.fingerprint(b"x").count(":") == 31


def test_evidence_query_filters_the_scope_unless_it_is_large():
    query = evidence.query(["b", "a"], "10m")
    assert 'destination_workload_namespace=~"a|b"' in query and "[10m]" in query
    assert "=~" not in evidence.query(["n{0}".format(i) for i in range(101)], "1h")


def test_fold_sums_pairs_and_ignores_nan_and_other_namespaces():
    samples = [
        ({"destination_workload_namespace": "a", "destination_workload": "web", "source_workload": "x",
          "source_workload_namespace": "a", "connection_security_policy": "mutual_tls"}, 30.0),
        ({"destination_workload_namespace": "a", "destination_workload": "web", "source_workload": "x",
          "source_workload_namespace": "a", "connection_security_policy": "none"}, 10.0),
        ({"destination_workload_namespace": "a", "destination_workload": "web"}, float("nan")),
        ({"destination_workload_namespace": "z", "destination_workload": "web"}, 5.0)]
    folded = evidence.fold(samples, {"a"})
    entry = folded[("a", "web")]
    assert (entry["requests"], entry["mtls"], entry["plaintext"]) == (40.0, 30.0, 10.0)
    assert evidence.share(entry) == 0.75 and list(folded) == [("a", "web")]
    assert evidence.pairs(folded)[0]["source"] == "a/x"


def test_evidence_is_attached_to_the_workload_istio_names():
    rows = [{"namespace": "a", "workload": "Deployment/web", "evidence": None},
            {"namespace": "a", "workload": "Pod/echo-v1-0", "evidence": None}]
    folded = evidence.fold([
        ({"destination_workload_namespace": "a", "destination_workload": w, "connection_security_policy": "mutual_tls"},
         4.0) for w in ("web", "echo-v1", "gone")], None)
    assert evidence.attach(rows, folded) == ["a/gone"]
    assert rows[0]["evidence"]["requests"] == 4 and rows[1]["evidence"]["mtls_share"] == 1.0
