# -*- coding: utf-8 -*-
"""The lab is real: API server, RBAC, scheduling onto kwok nodes, istiod's webhooks, helm,
Prometheus and podman, each checked through the tool a user would use."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import os
import shutil
import subprocess
import urllib.parse
import urllib.request
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def test_server_version_is_1_34(lab):
    version = lab.kubectl_json("version")
    if not lab.real_cluster:
        assert version["serverVersion"]["gitVersion"].startswith("v1.34.")
        assert version["clientVersion"]["gitVersion"].startswith("v1.34.")


def test_fake_nodes_are_ready(lab):
    if lab.real_cluster:
        pytest.skip("kwok nodes exist only in the lab")
    nodes = lab.kubectl_json("get", "nodes", "-l", "type=kwok")["items"]
    assert len(nodes) >= 3
    for node in nodes:
        ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "True", node["metadata"]["name"]


DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web, version: v1}
    spec:
      containers:
      - name: web
        image: example.invalid/web:1
        ports: [{containerPort: 8080, name: http}]
"""


def pods_ready(lab, ns, count):
    def check():
        pods = lab.kubectl_json("get", "pods", "-n", ns)["items"]
        ok = [p for p in pods if p["status"].get("phase") == "Running"
              and p["status"].get("containerStatuses")
              and all(c.get("ready") for c in p["status"]["containerStatuses"])]
        return pods if len(pods) == count and len(ok) == count else None
    return lab.wait_for(check, timeout=90, what="{0} ready pods in {1}".format(count, ns))


def test_injection_by_the_real_istiod_webhook(lab, namespace):
    ns = namespace("inj", labels={"istio-injection": "enabled"})
    lab.apply(DEPLOYMENT, "-n", ns)
    pods = pods_ready(lab, ns, 2)
    for pod in pods:
        names = [c["name"] for c in pod["spec"]["containers"]] + \
            [c["name"] for c in pod["spec"].get("initContainers", [])]
        assert "istio-proxy" in names, names
        assert pod["metadata"]["annotations"].get("sidecar.istio.io/status"), "no injection status"
        statuses = {c["name"]: c["ready"] for c in pod["status"]["containerStatuses"]}
        assert all(statuses.values()), statuses


def test_no_injection_without_the_label(lab, namespace):
    ns = namespace("plain")
    lab.apply(DEPLOYMENT, "-n", ns)
    for pod in pods_ready(lab, ns, 2):
        assert [c["name"] for c in pod["spec"]["containers"]] == ["web"]


def virtual_service(weights, timeout="5s"):
    routes = "\n".join(
        "    - destination: {{host: reviews, subset: v{0}}}\n      weight: {1}".format(i + 1, w)
        for i, w in enumerate(weights))
    return """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - timeout: {0}
    route:
{1}
""".format(timeout, routes)


def test_istio_validation_rejects_invalid_route_weights(lab, namespace):
    """istiod's validating webhook judges VirtualServices. Istio of this generation normalises weights
    that do not add up to 100 (accepted, so meshops' own modules check sums themselves); a route
    whose weights total 0 it rejects with its own message."""
    ns = namespace("val")
    proc = lab.apply(virtual_service([0, 0]), "-n", ns, check=False)
    assert proc.returncode != 0
    assert "admission webhook" in proc.stderr and "validation.istio.io" in proc.stderr, proc.stderr
    assert "total destination weight = 0" in proc.stderr, proc.stderr
    assert "created" in lab.apply(virtual_service([60, 30]), "-n", ns).stdout
    assert "configured" in lab.apply(virtual_service([70, 30]), "-n", ns).stdout


def test_crd_schema_rejects_a_field_of_the_wrong_type(lab, namespace):
    ns = namespace("schema")
    bad = virtual_service([100]).replace("weight: 100", 'weight: "a hundred"')
    proc = lab.apply(bad, "-n", ns, check=False)
    assert proc.returncode != 0
    assert "spec.http[0].route[0].weight" in proc.stderr and "integer" in proc.stderr, proc.stderr


def test_rbac_is_enforced_for_a_namespaced_service_account(lab, namespace, tmp_path):
    own, other = namespace("rbac-own"), namespace("rbac-other")
    lab.kubectl("create", "serviceaccount", "robot", "-n", own)
    lab.kubectl("create", "role", "reader", "--verb=get,list", "--resource=configmaps", "-n", own)
    lab.kubectl("create", "rolebinding", "robot-reader", "--role=reader",
                "--serviceaccount={0}:robot".format(own), "-n", own)
    token = lab.kubectl("create", "token", "robot", "-n", own).stdout.strip()
    admin = lab.kubectl_json("config", "view", "--raw", "--minify")
    cluster = admin["clusters"][0]["cluster"]
    kubeconfig = tmp_path / "robot.kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": "lab", "cluster": cluster}],
        "users": [{"name": "robot", "user": {"token": token}}],
        "contexts": [{"name": "robot", "context": {"cluster": "lab", "user": "robot"}}],
        "current-context": "robot"}))
    allowed = lab.kubectl("--kubeconfig", str(kubeconfig), "get", "configmaps", "-n", own)
    assert allowed.returncode == 0
    refused = lab.kubectl("--kubeconfig", str(kubeconfig), "get", "configmaps", "-n", other, check=False)
    assert refused.returncode != 0
    assert "forbidden" in refused.stderr.lower()
    assert "system:serviceaccount:{0}:robot".format(own) in refused.stderr


def test_helm_installs_a_local_chart(lab, namespace):
    ns = namespace("helm")
    lab.run("helm", "install", "check", os.path.join(HERE, "fixtures", "chart"), "-n", ns,
            "--set", "message=from-test", "--wait", "--timeout", "60s")
    cm = lab.kubectl_json("get", "configmap", "check-config", "-n", ns)
    assert cm["data"]["message"] == "from-test"
    if not lab.real_cluster:
        assert cm["data"]["kubeVersion"].startswith("v1.34.")
    releases = json.loads(lab.run("helm", "list", "-n", ns, "-o", "json").stdout)
    assert [r["status"] for r in releases] == ["deployed"]


def test_prometheus_answers_an_instant_query(lab):
    if not lab.prometheus_url:
        pytest.skip("no lab Prometheus")
    url = lab.prometheus_url + "/api/v1/query?" + urllib.parse.urlencode({"query": "vector(42)"})
    with urllib.request.urlopen(url, timeout=10) as resp:
        body = json.loads(resp.read())
    assert body["status"] == "success"
    assert body["data"]["result"][0]["value"][1] == "42"


def test_podman_containers_reach_each_other_by_name(lab):
    if shutil.which("podman") is None:
        pytest.fail("podman is not installed; lab/podman.sh installs it")
    image = lab.run(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(HERE))), "lab", "podman.sh"),
                    "base-image", timeout=600).stdout.strip().splitlines()[-1]
    net = "labnet-" + uuid.uuid4().hex[:6]
    server = "srv-" + uuid.uuid4().hex[:6]
    lab.run("podman", "network", "create", net)
    try:
        lab.run("podman", "run", "-d", "--rm", "--name", server, "--network", net, image,
                "sh", "-c", "mkdir -p /www && echo pong-from-server > /www/index.html && httpd -f -p 8080 -h /www")
        fetched = lab.run("podman", "run", "--rm", "--network", net, image, "sh", "-c",
                          "for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://{0}:8080/ && exit 0; "
                          "sleep 0.5; done; exit 1".format(server), timeout=60)
        assert "pong-from-server" in fetched.stdout
    finally:
        subprocess.run(["podman", "rm", "-f", "-t", "0", server], capture_output=True, check=False)
        subprocess.run(["podman", "network", "rm", "-f", net], capture_output=True, check=False)


def test_status_reports_every_component_and_podman(lab):
    if lab.real_cluster:
        pytest.skip("lab/lab.sh status describes the local lab only")
    root = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
    out = lab.run(os.path.join(root, "lab", "lab.sh"), "status").stdout
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    for component in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "istiod",
                      "prometheus"):
        assert "healthy" in lines[component], out
    assert lines["podman"].split()[1] == "installed", out


def test_demo_jwt_key_set_is_a_usable_rsa_jwks(lab):
    """The lab inventory's RequestAuthentication reads this key set (no JWKS URL is fetched)."""
    if lab.real_cluster:
        pytest.skip("the demo issuer belongs to the local lab")
    with open(os.path.join(lab.env["LAB_DEMO_JWT_DIR"], "jwks.json")) as handle:
        jwks = json.load(handle)
    (key,) = jwks["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["e"] == "AQAB"
    assert len(key["n"]) >= 342  # a 2048-bit modulus, base64url without padding
    # The modulus is the signing key's own.
    modulus = lab.run("openssl", "rsa", "-in", os.path.join(lab.env["LAB_DEMO_JWT_DIR"], "signing.key"),
                      "-noout", "-modulus").stdout.strip().split("=", 1)[1]
    raw = base64.urlsafe_b64decode(key["n"] + "=" * (-len(key["n"]) % 4))
    assert raw.hex().upper() == modulus.upper()
