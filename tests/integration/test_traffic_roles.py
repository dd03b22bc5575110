# -*- coding: utf-8 -*-
"""The mesh_traffic and mesh_gateway roles on the lab. mesh_traffic: the seed's circuit breakers, retries and
timeouts, fault and rate limit written for a shop namespace, a rerun changes nothing. mesh_gateway: the generated
certificate chains to the generated CA and covers the hosts (checked with ``cryptography``), the Secret is in the
gateway workload's namespace, the Gateway and its routes are stored, a rerun changes nothing, and the private key
appears nowhere in the full ``-vvv`` output."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import json
import os
import subprocess
import sys

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from test_mesh_traffic import gateway_workload

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(os.path.dirname(sys.executable), "")

PLAY = """
- hosts: localhost
  gather_facts: false
  roles:
    - role: meshops.istio.{role}
"""


def play(tmp_path, role):
    path = tmp_path / "{0}.yml".format(role)
    path.write_text(PLAY.format(role=role))
    return str(path)


def rename_namespace(value, ns):
    """The role's defaults with namespace microservices moved to ``ns`` (the lab's shop is the demo's)."""
    return json.loads(json.dumps(value).replace('"microservices"', json.dumps(ns)))


def test_mesh_traffic_role_writes_the_seeds_traffic_and_a_rerun_changes_nothing(lab, ansible, namespace, tmp_path):
    ns = namespace("rtr")
    with open(os.path.join(ROOT, "roles", "mesh_traffic", "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    variables = dict((k, rename_namespace(v, ns)) for k, v in defaults.items() if isinstance(v, list))
    variables["mesh_traffic_owner"] = ns
    path = play(tmp_path, "mesh_traffic")
    rc, stats, out = ansible.playbook(path, extra_vars=variables)
    assert rc == 0, ansible.failure(out)
    assert stats["localhost"]["changed"] == 1
    drs = lab.kubectl_json("get", "destinationrules.networking.istio.io", "-n", ns)["items"]
    assert sorted(d["metadata"]["name"] for d in drs) == ["api-gateway", "orders", "payments", "users"]
    assert drs[0]["spec"]["trafficPolicy"]["outlierDetection"]["consecutive5xxErrors"] == 5
    vs = lab.kubectl_json("get", "virtualservices.networking.istio.io", "orders", "-n", ns)
    assert vs["spec"]["http"][1]["retries"]["attempts"] == 3 and vs["spec"]["http"][1]["timeout"] == "10s"
    assert vs["spec"]["http"][0]["fault"]["abort"]["httpStatus"] == 503
    lab.kubectl("get", "envoyfilters.networking.istio.io", "api-gateway-rate-limit", "-n", ns)
    rc, stats, out = ansible.playbook(path, extra_vars=variables)
    assert rc == 0 and stats["localhost"]["changed"] == 0


def secret_data(lab, ns, name):
    data = lab.kubectl_json("get", "secret", name, "-n", ns)["data"]
    return dict((k, base64.b64decode(v)) for k, v in data.items())


def test_mesh_gateway_role_generates_a_covering_certificate_and_never_prints_the_key(lab, ansible, namespace,
                                                                                     tmp_path):
    ns = namespace("rgw")
    gateway_workload(lab, ns)
    hosts = ["app.{0}.example.com".format(ns), "shop.{0}.example.com".format(ns)]
    variables = {"mesh_gateway_owner": ns, "mesh_gateway_namespace": ns, "mesh_gateway_workload_namespace": ns,
                 "mesh_gateway_selector": {"meshops-test-gateway": ns}, "mesh_gateway_hosts": hosts,
                 "mesh_gateway_pki_dir": str(tmp_path / "pki")}
    path = play(tmp_path, "mesh_gateway")
    argv = [BIN + "ansible-playbook", path, "-i", "localhost,", "-c", "local",
            "-vvv", "-e", json.dumps(variables)]
    env = dict(ansible.env, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default")
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]

    stored = secret_data(lab, ns, "shop-gateway-tls")
    key_pem = stored["tls.key"].decode()
    body = "".join(line for line in key_pem.splitlines() if not line.startswith("-----"))
    assert len(body) > 100
    output = proc.stdout + proc.stderr
    assert body not in output
    assert base64.b64encode(stored["tls.key"]).decode()[:60] not in output  # the Secret's data as sent
    # an EC key's PEM holds its public key too (which x509_certificate_info may print): the private parts are the
    # lines that are not public, and the private number in any notation
    key = serialization.load_pem_private_key(stored["tls.key"], password=None)
    public = "".join(key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo).decode().split())
    secret_lines = [line for line in key_pem.splitlines()[1:-1] if line not in public]
    assert secret_lines
    for line in secret_lines:
        assert line not in output
    number = key.private_numbers().private_value
    for text in (str(number), "{0:x}".format(number), "{0:X}".format(number)):
        assert text not in output

    cert = x509.load_pem_x509_certificate(stored["tls.crt"])
    with open(str(tmp_path / "pki" / "ca.crt"), "rb") as handle:
        ca = x509.load_pem_x509_certificate(handle.read())
    assert cert.issuer == ca.subject
    ca.public_key().verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    assert sorted(sans) == sorted(hosts)

    gateway = lab.kubectl_json("get", "gateways.networking.istio.io", "shop-gateway", "-n", ns)
    servers = gateway["spec"]["servers"]
    assert servers[0]["tls"] == {"mode": "SIMPLE", "credentialName": "shop-gateway-tls"}
    assert servers[1]["tls"] == {"httpsRedirect": True}
    vs = lab.kubectl_json("get", "virtualservices.networking.istio.io", "shop-gateway", "-n", ns)
    assert vs["spec"]["gateways"] == ["shop-gateway"] and vs["spec"]["hosts"] == hosts

    rc, stats, out = ansible.playbook(path, extra_vars=variables)
    assert rc == 0, ansible.failure(out)
    assert stats["localhost"]["changed"] == 0


def test_mesh_gateway_role_refuses_a_certificate_that_does_not_cover_the_hosts(lab, ansible, namespace, tmp_path):
    ns = namespace("rgx")
    first = {"mesh_gateway_owner": ns, "mesh_gateway_namespace": ns, "mesh_gateway_workload_namespace": ns,
             "mesh_gateway_selector": {"meshops-test-gateway": ns}, "mesh_gateway_hosts": ["a.example.com"],
             "mesh_gateway_pki_dir": str(tmp_path / "pki")}
    path = play(tmp_path, "mesh_gateway")
    cert, key = self_signed(tmp_path, "a.example.com")
    other = dict(first, mesh_gateway_hosts=["b.example.com"], mesh_gateway_cert_file=cert, mesh_gateway_key_file=key)
    rc, stats, out = ansible.playbook(path, extra_vars=other)
    assert rc != 0
    assert "does not cover b.example.com" in ansible.failure(out)
    assert stats["localhost"]["changed"] == 0
    assert lab.kubectl_json("get", "gateways.networking.istio.io", "-n", ns)["items"] == []
    assert lab.kubectl_json("get", "secrets", "-n", ns, "-l", "meshops.istio/owner=" + ns)["items"] == []


def self_signed(tmp_path, host):
    """A self-signed certificate for ``host`` and its key, as PEM files; returns their paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "given.crt", tmp_path / "given.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_mesh_gateway_role_says_its_secret_was_written_when_the_gateway_is_refused_after_it(
        lab, ansible, namespace, tmp_path):
    """The Secret is the role's first write; a refusal of the Gateway after it (here: the selected gateway workload
    runs in another namespace than the Secret) must not say that nothing was written."""
    runs, elsewhere = namespace("rgr"), namespace("rgs")
    gateway_workload(lab, runs)
    variables = {"mesh_gateway_owner": runs, "mesh_gateway_namespace": runs, "mesh_gateway_workload_namespace": elsewhere,
                 "mesh_gateway_selector": {"meshops-test-gateway": runs}, "mesh_gateway_hosts": ["a.example.com"],
                 "mesh_gateway_pki_dir": str(tmp_path / "pki")}
    rc, stats, out = ansible.playbook(play(tmp_path, "mesh_gateway"), extra_vars=variables)
    assert rc != 0
    msg = ansible.failure(out)
    assert "Secret 'shop-gateway-tls' does not exist in namespace {0}".format(runs) in msg, msg
    assert "nothing was written" not in msg and "nothing more was written by this step" in msg
    assert msg.endswith("(Written by this role before that step, and left in place: Secret {0}/shop-gateway-tls.)".format(
        elsewhere)), msg
    assert lab.kubectl_json("get", "secrets", "-n", elsewhere, "-l", "meshops.istio/owner=" + runs)["items"]
    assert lab.kubectl_json("get", "gateways.networking.istio.io", "-n", runs)["items"] == []


def analyzed(ansible, ns, suppress):
    """mtls_verify's istioctl analyze of ``ns``: ({code: [origin]} of the findings, {code: [origin]} suppressed)."""
    result = ansible.module("meshops.istio.mtls_verify", {"namespaces": [ns], "analyze_suppress": suppress,
                                                          "fail_on": "never"})
    assert not result.get("failed"), result.get("msg")
    assert result["analyze"]["ran"] is True, result["analyze"]
    found, gone = {}, {}
    for finding in result["findings"]:
        if finding["check"] == "analyze":
            found.setdefault(finding["code"], []).append(" ".join(finding["objects"]))
    for line in result["analyze"]["suppressed"]:
        code, origin = line.split(" ", 1)
        gone.setdefault(code, []).append(origin)
    return found, gone


def test_steps_5_and_6_as_the_lab_inventory_has_them_leave_istioctl_analyze_only_the_envoy_filter_notice(
        lab, ansible, namespace, tmp_path):
    """Step 5 (the mesh_traffic role's defaults: subset v1 routes, the local rate limit) and step 6 (the mesh_gateway
    role with the lab inventory's routes) in one namespace: istioctl analyze (through mtls_verify, with the lab
    inventory's analyze_suppress) finds no IST0151 (the rate limit's filter is inserted with INSERT_FIRST) and no
    IST0140 (the gateway routes the API to subset v1 too); IST0133, the one accepted, is suppressed. The control: an
    EnvoyFilter with the old relative INSERT_BEFORE and the gateway route without its subset raise both."""
    ns = namespace("ran")
    label = gateway_workload(lab, ns)
    with open(os.path.join(ROOT, "inventories", "lab", "group_vars", "all.yml")) as handle:
        inventory = yaml.safe_load(handle)
    with open(os.path.join(ROOT, "roles", "mesh_traffic", "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    step5 = dict((k, rename_namespace(v, ns)) for k, v in defaults.items() if isinstance(v, list))
    step5["mesh_traffic_owner"] = ns
    rc, dummy, out = ansible.playbook(play(tmp_path, "mesh_traffic"), extra_vars=step5)
    assert rc == 0, ansible.failure(out)
    step6 = {"mesh_gateway_owner": ns + "-gw", "mesh_gateway_namespace": ns, "mesh_gateway_workload_namespace": ns,
             "mesh_gateway_selector": label, "mesh_gateway_pki_dir": str(tmp_path / "pki"),
             "mesh_gateway_http": inventory["mesh_gateway_http"]}
    rc, dummy, out = ansible.playbook(play(tmp_path, "mesh_gateway"), extra_vars=step6)
    assert rc == 0, ansible.failure(out)
    suppress = [s.replace(" microservices/", " {0}/".format(ns)) for s in inventory["mesh_verify_analyze_suppress"]]
    assert [s.split("=")[0] for s in suppress] == ["IST0133"]

    found, gone = analyzed(ansible, ns, suppress)
    assert "IST0151" not in found and "IST0140" not in found, found
    assert gone == {"IST0133": ["EnvoyFilter {0}/api-gateway-rate-limit".format(ns)]}, gone

    # the control: what step 5 and 6 wrote before, beside them
    ef = lab.kubectl_json("get", "envoyfilters.networking.istio.io", "api-gateway-rate-limit", "-n", ns)
    ef["spec"]["configPatches"][0]["patch"]["operation"] = "INSERT_BEFORE"
    lab.apply(json.dumps({"apiVersion": ef["apiVersion"], "kind": "EnvoyFilter",
                          "metadata": {"name": "relative", "namespace": ns}, "spec": ef["spec"]}))
    vs = lab.kubectl_json("get", "virtualservices.networking.istio.io", "shop-gateway", "-n", ns)
    del vs["spec"]["http"][0]["route"][0]["destination"]["subset"]
    lab.apply(json.dumps({"apiVersion": vs["apiVersion"], "kind": "VirtualService",
                          "metadata": {"name": "no-subset", "namespace": ns}, "spec": vs["spec"]}))
    found, gone = analyzed(ansible, ns, [])
    assert "EnvoyFilter {0}/relative".format(ns) in " ".join(found.get("IST0151", [])), found
    assert "EnvoyFilter {0}/api-gateway-rate-limit".format(ns) not in " ".join(found.get("IST0151", [])), found
    assert any("VirtualService {0}/no-subset".format(ns) in o for o in found.get("IST0140", [])), found
    assert not any("shop-gateway" in o for o in found.get("IST0140", [])), found
