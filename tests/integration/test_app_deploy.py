# -*- coding: utf-8 -*-
"""The app_deploy role against the lab: the demo shop's chart installed with Helm into a namespace
labelled for injection, every pod Ready with the istio-proxy sidecar of the lab's istiod; a rerun
changes nothing and makes no Helm revision; a changed value upgrades once; a wrong chart path or a
value of the wrong type is a clear error before anything is written; the values are never logged."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import uuid

import pytest

from harness import APP_DEPLOY_PLAY, ROOT

CHART = os.path.join(ROOT, "examples", "shop", "helm", "microservices")


# kubernetes.core 6.6's helm and helm_info report this on every call that finds the release, whatever
# the caller reads (the role reads status.release_values). Any other deprecation is the role's to fix.
KUBERNETES_CORE_DEPRECATIONS = {
    "The 'status.values' return value is deprecated and will be removed in version 8.0.0. "
    "Use 'status.release_values' instead.",
}


@pytest.fixture
def playbook(tmp_path):
    path = tmp_path / "deploy.yml"
    path.write_text(APP_DEPLOY_PLAY)
    return str(path)


@pytest.fixture
def password():
    return "pw-{0}".format(uuid.uuid4().hex)


def deploy_vars(lab, namespace, password, **extra):
    values = {
        "kubeconfig": lab.kubeconfig,
        "app_deploy_namespace": namespace,
        "app_deploy_release_name": "microservices",
        "app_deploy_chart_ref": CHART,
        "app_deploy_image_tag": "v1.0.0",
        "app_deploy_wait_timeout": 120,
        # The lab has no storage provisioner: Postgres on an emptyDir.
        "app_deploy_values": {"postgres": {"persistence": {"enabled": False}, "auth": {"password": password}}},
    }
    values.update(extra)
    return values


def release(lab, namespace):
    """{name: release} of `helm list` in the namespace."""
    out = lab.run("helm", "list", "-n", namespace, "-a", "-o", "json").stdout
    return {r["name"]: r for r in json.loads(out or "[]")}


def deprecations(ansible, out):
    """The messages of the deprecation warnings of a playbook run."""
    return {d.get("msg") for dummy, res in ansible.results(out) for d in res.get("deprecations") or []}


def pods(lab, namespace):
    return lab.kubectl_json("get", "pods", "-n", namespace, "-l", "app.kubernetes.io/instance=microservices")["items"]


def container_names(pod):
    spec = pod["spec"]
    return [c["name"] for c in spec["containers"] + spec.get("initContainers", [])]


def ready(pod):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions", []))


def test_deploy_injects_every_pod_and_a_rerun_makes_no_revision(lab, ansible, namespace, playbook, password):
    ns = namespace("app")
    rc, stats, out = ansible.playbook(playbook, deploy_vars(lab, ns, password))
    assert rc == 0, ansible.failure(out)
    assert deprecations(ansible, out) <= KUBERNETES_CORE_DEPRECATIONS
    assert stats["localhost"]["changed"] >= 2  # namespace label, helm install
    assert password not in json.dumps(out), "the Postgres password was logged"

    labels = lab.kubectl_json("get", "namespace", ns)["metadata"]["labels"]
    assert labels.get("istio-injection") == "enabled" and "istio.io/rev" not in labels
    found = pods(lab, ns)
    assert sorted(p["metadata"]["labels"]["app"] for p in found) == \
        ["api-gateway", "frontend", "orders", "payments", "postgres", "users"]
    for pod in found:
        assert "istio-proxy" in container_names(pod), pod["metadata"]["name"]
        assert pod["metadata"]["annotations"].get("sidecar.istio.io/status"), "not injected by istiod"
        assert ready(pod), pod["metadata"]["name"]
    rel = release(lab, ns)["microservices"]
    assert (rel["revision"], rel["status"], rel["chart"]) == ("1", "deployed", "microservices-0.2.0")

    # Unchanged chart and values: nothing changes, no Helm revision.
    rc, stats, out = ansible.playbook(playbook, deploy_vars(lab, ns, password))
    assert rc == 0, ansible.failure(out)
    assert deprecations(ansible, out) <= KUBERNETES_CORE_DEPRECATIONS
    assert stats["localhost"]["changed"] == 0
    by_name = dict(ansible.results(out))
    assert [r for n, r in by_name.items() if n.startswith("Run helm upgrade")][0].get("skipped")
    assert release(lab, ns)["microservices"]["revision"] == "1"

    # A new image tag: one upgrade, then stable again.
    rc, stats, out = ansible.playbook(playbook, deploy_vars(lab, ns, password, app_deploy_image_tag="v1.0.1"))
    assert rc == 0, ansible.failure(out)
    assert deprecations(ansible, out) <= KUBERNETES_CORE_DEPRECATIONS
    assert stats["localhost"]["changed"] == 1
    assert release(lab, ns)["microservices"]["revision"] == "2"
    images = {c["image"] for p in pods(lab, ns) if p["metadata"]["labels"]["app"] == "users"
              for c in p["spec"]["containers"] if c["name"] == "users"}
    assert images == {"localhost/meshops-shop-users:v1.0.1"}
    rc, stats, out = ansible.playbook(playbook, deploy_vars(lab, ns, password, app_deploy_image_tag="v1.0.1"))
    assert rc == 0, ansible.failure(out)
    assert deprecations(ansible, out) <= KUBERNETES_CORE_DEPRECATIONS
    assert stats["localhost"]["changed"] == 0
    assert release(lab, ns)["microservices"]["revision"] == "2"
    assert password not in json.dumps(out)


def test_check_mode_writes_nothing(lab, ansible, playbook, password):
    ns = "app-check-{0}".format(uuid.uuid4().hex[:6])
    rc, stats, out = ansible.playbook(playbook, deploy_vars(lab, ns, password), check=True)
    assert rc == 0, ansible.failure(out)
    assert stats["localhost"]["changed"] >= 2  # would create the namespace and install
    assert lab.kubectl("get", "namespace", ns, check=False).returncode != 0
    assert password not in json.dumps(out)


def test_a_wrong_chart_path_is_a_clear_error(lab, ansible, playbook, password):
    ns = "app-nochart-{0}".format(uuid.uuid4().hex[:6])
    wrong = deploy_vars(lab, ns, password, app_deploy_chart_ref="/nonexistent/charts/shop")
    rc, stats, out = ansible.playbook(playbook, wrong)
    assert rc != 0
    assert ansible.failure(out) == "app_deploy_chart_ref /nonexistent/charts/shop: no such chart directory or archive"
    assert lab.kubectl("get", "namespace", ns, check=False).returncode != 0


def test_a_value_of_the_wrong_type_is_a_clear_error(lab, ansible, playbook, password):
    ns = "app-badvalue-{0}".format(uuid.uuid4().hex[:6])
    bad = {"replicaCount": "two", "postgres": {"auth": {"password": password}}}
    rc, stats, out = ansible.playbook(playbook, deploy_vars(lab, ns, password, app_deploy_values=bad))
    assert rc != 0
    msg = ansible.failure(out)
    assert msg.startswith("Helm cannot render chart {0} for release microservices with these values".format(CHART))
    assert "at '/replicaCount': got string, want integer" in msg
    assert password not in json.dumps(out)
    assert lab.kubectl("get", "namespace", ns, check=False).returncode != 0


@pytest.fixture
def idle_revision(lab):
    """A revision with an injector webhook configuration but no webhook (and no istiod): mesh_onboard accepts
    the label, nothing is injected. Its own name, so no other test's revision is touched; removed afterwards."""
    name = "idle-{0}".format(uuid.uuid4().hex[:6])
    lab.apply(json.dumps({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
                          "metadata": {"name": "meshops-test-injector-" + name, "labels": {"istio.io/rev": name}},
                          "webhooks": []}))
    yield name
    lab.kubectl("delete", "mutatingwebhookconfiguration", "meshops-test-injector-" + name, "--ignore-not-found")


def test_a_revision_label_replaces_istio_injection(lab, ansible, namespace, playbook, password, idle_revision):
    # No istiod of that revision runs in the lab: nothing is injected, so the sidecar check is off.
    ns = namespace("app-rev", labels={"istio-injection": "enabled"})
    rc, stats, out = ansible.playbook(playbook, deploy_vars(
        lab, ns, password, app_deploy_istio_revision=idle_revision, app_deploy_verify_sidecar=False))
    assert rc == 0, ansible.failure(out)
    labels = lab.kubectl_json("get", "namespace", ns)["metadata"]["labels"]
    assert labels.get("istio.io/rev") == idle_revision and "istio-injection" not in labels
    assert all("istio-proxy" not in container_names(p) for p in pods(lab, ns))


def test_pods_without_the_sidecar_fail_the_check(lab, ansible, namespace, playbook, password):
    # Injected namespace, but the pods opt out: the role must say which pods lack istio-proxy.
    ns = namespace("app-nosc")
    no_inject = {"podAnnotations": {"sidecar.istio.io/inject": "false"}}
    values = {"postgres": {"persistence": {"enabled": False}, "auth": {"password": password}},
              "frontend": no_inject}
    rc, stats, out = ansible.playbook(playbook, deploy_vars(lab, ns, password, app_deploy_values=values))
    assert rc != 0
    msg = ansible.failure(out)
    assert "without the istio-proxy sidecar: frontend-v1-" in msg, msg
    assert "users-v1-" not in msg
