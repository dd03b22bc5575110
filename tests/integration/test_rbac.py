# -*- coding: utf-8 -*-
"""Least privilege: the RBAC shipped in rbac/ (docs/rbac.md) is enough to run the writing modules and
roles, and nothing more is needed. A ServiceAccount bound only to it (a kubeconfig with its token from
``kubectl create token``) runs mesh_onboard, mesh_policy and the mesh_security role on a namespace; with
one rule removed, the 403 names the verb, the resource, the namespace and the rule to add.

The shipped ClusterRoles are applied under names of the test's own (suffixed) and removed afterwards.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import uuid

import pytest
import yaml

from harness import APP_DEPLOY_PLAY, ROOT, Ansible, Lab
from labs import lab_factory, spare_lab  # noqa: F401 pylint: disable=unused-import
from test_canary_shift import objects, release, shop, weights  # noqa: F401 pylint: disable=unused-import

RBAC = os.path.join(ROOT, "rbac")
SA = "meshops"


def shipped(*files):
    """The ClusterRoles of rbac/FILE... (each a List: ansible-test's yamllint allows one document a file), by name."""
    roles = {}
    for name in files:
        with open(os.path.join(RBAC, name)) as handle:
            doc = yaml.safe_load(handle)
        assert doc["kind"] == "List", name
        for item in doc["items"]:
            assert item["kind"] == "ClusterRole", name
            roles[item["metadata"]["name"]] = item
    return roles


class Identity:
    """A ServiceAccount, bindings of suffixed copies of the shipped ClusterRoles, and a kubeconfig with its token."""

    def __init__(self, lab, ansible, home, directory):
        self.lab = lab
        self.home = home
        self.suffix = uuid.uuid4().hex[:6]
        self.cluster_objects = []
        lab.kubectl("create", "serviceaccount", SA, "-n", home)
        token = lab.kubectl("create", "token", SA, "-n", home, "--duration", "2h").stdout.strip()
        with open(lab.kubeconfig) as handle:
            admin = yaml.safe_load(handle)
        self.kubeconfig = os.path.join(directory, "meshops-sa.kubeconfig")
        with open(self.kubeconfig, "w") as handle:
            yaml.safe_dump({
                "apiVersion": "v1", "kind": "Config", "current-context": "sa",
                "clusters": [{"name": "lab", "cluster": admin["clusters"][0]["cluster"]}],
                "users": [{"name": SA, "user": {"token": token}}],
                "contexts": [{"name": "sa", "context": {"cluster": "lab", "user": SA}}]}, handle)
        env = dict(lab.env, KUBECONFIG=self.kubeconfig, K8S_AUTH_KUBECONFIG=self.kubeconfig)
        self.as_sa = Lab(env)
        self.ansible = Ansible(self.as_sa, ansible.env["ANSIBLE_COLLECTIONS_PATH"])

    def grant(self, role, namespace=None, drop=None):
        """Apply a copy of the shipped ClusterRole ``role`` (without the rules ``drop(rule)`` selects) and bind
        it to the ServiceAccount: in ``namespace`` (RoleBinding) or cluster-wide (ClusterRoleBinding)."""
        src = shipped(*sorted(os.listdir(RBAC)))[role]
        name = "{0}-{1}".format(role, self.suffix)
        rules = [r for r in src["rules"] if not (drop and drop(r))]
        assert not drop or len(rules) < len(src["rules"]), "no rule dropped"
        cluster_role = dict(src, metadata={"name": name, "labels": src["metadata"].get("labels", {})}, rules=rules)
        self.lab.apply(json.dumps(cluster_role))
        self.cluster_objects.append(("clusterrole", name))
        subject = [{"kind": "ServiceAccount", "name": SA, "namespace": self.home}]
        ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name}
        if namespace:
            binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                       "metadata": {"name": name.replace(":", "-"), "namespace": namespace},
                       "subjects": subject, "roleRef": ref}
        else:
            binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                       "metadata": {"name": name.replace(":", "-")}, "subjects": subject, "roleRef": ref}
            self.cluster_objects.append(("clusterrolebinding", name.replace(":", "-")))
        self.lab.apply(json.dumps(binding))
        # Wait until the authorizer answers yes for the first rule (its informer sees the binding).
        self.as_sa.wait_for(lambda: self.as_sa.kubectl("auth", "can-i", *self._can_i(rules[0], namespace),
                                                       check=False).returncode == 0,
                            timeout=30, what="the binding of {0} to take effect".format(name))

    @staticmethod
    def _can_i(rule, namespace):
        group = rule["apiGroups"][0]
        resource = rule["resources"][0] + ("." + group if group else "")
        return [rule["verbs"][0], resource] + (["-n", namespace] if namespace else [])

    def cleanup(self):
        for kind, name in reversed(self.cluster_objects):
            self.lab.kubectl("delete", kind, name, "--ignore-not-found", check=False)


@pytest.fixture
def identity(lab, ansible, namespace, tmp_path):
    ident = Identity(lab, ansible, namespace("rbacsa"), str(tmp_path))
    yield ident
    ident.cleanup()


def deploy(lab, ns, name):
    lab.apply(json.dumps({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": name, "image": "example.invalid/{0}:1".format(name)}]}}}}))
    lab.kubectl("rollout", "status", "deployment/" + name, "-n", ns, "--timeout=120s", timeout=150)


def policies(ns):
    return {
        "peer_authentications": [{"name": "default", "namespace": ns, "mode": "STRICT"}],
        "authorization_policies": [
            {"name": "web-readers", "namespace": ns, "selector": {"app": "web"},
             "rules": [{"from": [{"principals": ["cluster.local/ns/{0}/sa/client".format(ns)]}],
                        "to": [{"methods": ["GET"], "paths": ["/api/*"]}]}]}],
        "request_authentications": [
            {"name": "web-jwt", "namespace": ns, "selector": {"app": "web"},
             "jwt_rules": [{"issuer": "https://issuer.example.com",
                            "jwks_uri": "https://issuer.example.com/.well-known/jwks.json"}]}],
        "service_entries": [
            {"name": "payments", "namespace": ns, "hosts": ["api.payments.example.com"],
             "ports": [{"number": 443, "protocol": "TLS"}], "export_to": ["."]}],
    }


SECURITY_PLAY = """\
- hosts: localhost
  gather_facts: false
  roles:
    - role: meshops.istio.mesh_security
      vars:
        mesh_security_mtls_mode: ""
        mesh_security_peer_authentications:
          - {{name: db, namespace: {ns}, mode: STRICT, selector: {{app: db}}}}
        mesh_security_deny_all_namespaces: [{ns}]
        mesh_security_authorization_policies:
          - name: web-from-gateway
            namespace: {ns}
            selector: {{app: web}}
            rules: [{{from: [{{namespaces: [{ns}]}}]}}]
        mesh_security_service_entries:
          - {{name: cdn, namespace: {ns}, hosts: [cdn.example.com], ports: [{{number: 443, protocol: TLS}}]}}
"""


def test_shipped_rbac_runs_the_writing_modules_and_mesh_security(lab, identity, namespace, tmp_path):
    ns = namespace("rbac")
    deploy(lab, ns, "web")
    identity.grant("meshops-istio:mesh-onboard", ns)
    identity.grant("meshops-istio:mesh-onboard-cluster")
    identity.grant("meshops-istio:mesh-policy", ns)
    sa = identity.as_sa
    # The token is really least privilege: no Secrets, nothing in another namespace.
    assert "forbidden" in sa.kubectl("get", "secrets", "-n", ns, check=False).stderr.lower()
    assert "forbidden" in sa.kubectl("get", "pods", "-n", identity.home, check=False).stderr.lower()

    onboard = identity.ansible.module("meshops.istio.mesh_onboard",
                                      {"namespaces": [ns], "mtls_mode": "PERMISSIVE", "wait_timeout": 120})
    assert not onboard.get("failed"), onboard.get("msg")
    assert onboard["changed"] is True and onboard["restarted"] == ["{0}/Deployment/web".format(ns)]
    assert onboard["missing_sidecar"] == []
    assert identity.ansible.module("meshops.istio.mesh_onboard", {"namespaces": [ns], "mtls_mode": "PERMISSIVE",
                                                                  "wait_timeout": 120})["changed"] is False

    args = policies(ns)
    result = identity.ansible.module("meshops.istio.mesh_policy", args)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True and len(result["objects"]) == 5  # + the require-JWT policy
    assert identity.ansible.module("meshops.istio.mesh_policy", args)["changed"] is False
    gone = identity.ansible.module("meshops.istio.mesh_policy", dict(args, state="absent"))
    assert not gone.get("failed"), gone.get("msg")
    assert gone["changed"] is True

    playbook = tmp_path / "security.yml"
    playbook.write_text(SECURITY_PLAY.format(ns=ns))
    rc, stats, out = identity.ansible.playbook(str(playbook))
    assert rc == 0, Ansible.failure(out)
    assert stats["localhost"]["changed"] >= 1
    rc, stats, out = identity.ansible.playbook(str(playbook))
    assert rc == 0 and stats["localhost"]["changed"] == 0, Ansible.failure(out) if rc else stats
    names = lab.kubectl("get", "authorizationpolicies.security.istio.io", "-n", ns, "-o", "name").stdout.split()
    assert sorted(n.rsplit("/", 1)[-1] for n in names) == ["deny-all", "web-from-gateway"]


def test_a_missing_rule_is_named_with_the_rule_to_add_and_nothing_is_written(lab, identity, namespace):
    ns = namespace("rbacno")
    identity.grant("meshops-istio:mesh-policy", ns, drop=lambda rule: "serviceentries" in rule["resources"])
    args = policies(ns)
    args["peer_authentications"] = []

    result = identity.ansible.module("meshops.istio.mesh_policy", args)
    assert result.get("failed") is True
    msg = result["msg"]
    print("rbac: " + msg)
    found = re.search(r'may not (\w+) serviceentries\.networking\.istio\.io in namespace "{0}"'.format(ns), msg)
    assert found, msg
    verb = found.group(1)
    assert "{{apiGroups: [networking.istio.io], resources: [serviceentries], verbs: [{0}]}}".format(verb) in msg
    assert 'Role in namespace "{0}"'.format(ns) in msg and "system:serviceaccount:{0}:{1}".format(
        identity.home, SA) in msg
    for kind in ("authorizationpolicies.security.istio.io", "requestauthentications.security.istio.io"):
        assert lab.kubectl("get", kind, "-n", ns, "-o", "name").stdout.strip() == "", "written despite the 403"


ADDON = """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: prometheus
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: prometheus
data:
  prometheus.yml: "global: {{scrape_interval: 15s}}"
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: {name}
rules:
  - apiGroups: [""]
    resources: [pods, services, endpoints]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {name}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {name}}}
subjects: [{{kind: ServiceAccount, name: prometheus, namespace: {ns}}}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: prometheus
spec:
  replicas: 1
  selector: {{matchLabels: {{app: prometheus}}}}
  template:
    metadata: {{labels: {{app: prometheus}}}}
    spec:
      serviceAccountName: prometheus
      containers: [{{name: prometheus, image: example.invalid/prometheus:1}}]
"""

ADDONS_PLAY = """\
- hosts: localhost
  gather_facts: false
  roles:
    - role: meshops.istio.addons
"""


def test_shipped_rbac_runs_the_addons_role(lab, identity, namespace, tmp_path):
    """An addon like Prometheus's: namespaced objects, a Deployment waited for, and a ClusterRole granting
    what the identity itself does not hold (escalate, bind)."""
    ns = namespace("rbacadd")
    name = "meshops-test-prometheus-{0}".format(identity.suffix)
    identity.cluster_objects += [("clusterrolebinding", name), ("clusterrole", name)]
    identity.grant("meshops-istio:addons", ns)
    identity.grant("meshops-istio:addons-cluster")
    (tmp_path / "prometheus.yaml").write_text(ADDON.format(name=name, ns=ns))
    playbook = tmp_path / "addons.yml"
    playbook.write_text(ADDONS_PLAY)
    extra = {"addons_components": ["prometheus"], "addons_source": str(tmp_path), "addons_namespace": ns,
             "addons_wait": True, "addons_wait_timeout": 120}

    rc, stats, out = identity.ansible.playbook(str(playbook), extra_vars=extra)
    assert rc == 0, Ansible.failure(out)
    assert stats["localhost"]["changed"] == 1
    assert lab.kubectl_json("get", "clusterrolebinding", name)["subjects"][0]["namespace"] == ns
    rc, stats, out = identity.ansible.playbook(str(playbook), extra_vars=extra)
    assert rc == 0 and stats["localhost"]["changed"] == 0, Ansible.failure(out) if rc else stats

    rc, stats, out = identity.ansible.playbook(str(playbook), extra_vars=dict(extra, addons_state="absent"))
    assert rc == 0, Ansible.failure(out)
    assert lab.kubectl("get", "clusterrole", name, "--ignore-not-found", "-o", "name").stdout.strip() == ""


def test_shipped_rbac_runs_istio_install_on_a_spare_lab(spare_lab, ansible, tmp_path):
    """istio_install writes CRDs, webhooks and cluster RBAC: proven on a lab of its own, not the shared one."""
    lab = spare_lab
    home = "rbac-istio-{0}".format(uuid.uuid4().hex[:6])
    lab.kubectl("create", "namespace", home)
    identity = Identity(lab, ansible, home, str(tmp_path))
    try:
        identity.grant("meshops-istio:istio-install")
        with open(lab.env["LAB_ISTIO_VALUES"]) as handle:
            values = yaml.safe_load(handle)
        args = {"profile": "default", "values": values, "revision": "rbac", "ingress_gateway": False,
                "wait_timeout": 120}
        result = identity.ansible.module("meshops.istio.istio_install", args)
        assert not result.get("failed"), result.get("msg")
        assert result["changed"] is True and result["readiness"]["istiod-rbac"] is True
        again = identity.ansible.module("meshops.istio.istio_install", args)
        assert not again.get("failed"), again.get("msg")
        assert again["changed"] is False
        removed = identity.ansible.module("meshops.istio.istio_install", {"state": "absent", "revision": "rbac"})
        assert not removed.get("failed"), removed.get("msg")
        assert removed["changed"] is True
    finally:
        identity.cleanup()
        lab.kubectl("delete", "namespace", home, "--wait=false", check=False)


def app_deploy_play(identity, ns, tmp_path):
    """The app_deploy playbook and its variables: the demo shop's chart into ``ns`` as ``identity``."""
    playbook = tmp_path / "app.yml"
    playbook.write_text(APP_DEPLOY_PLAY)
    extra = {"kubeconfig": identity.kubeconfig, "app_deploy_namespace": ns, "app_deploy_release_name": "shop",
             "app_deploy_chart_ref": os.path.join(ROOT, "examples", "shop", "helm", "microservices"),
             "app_deploy_wait_timeout": 120,
             "app_deploy_values": {"postgres": {"persistence": {"enabled": False}, "auth": {"password": "rbac-pw"}}}}
    return playbook, extra


def test_shipped_rbac_runs_the_app_deploy_role(lab, identity, namespace, tmp_path):
    """The demo shop's chart installed with Helm (release Secrets, Deployments, a StatefulSet, Services,
    the pods' check) into an existing namespace, by an identity bound there only."""
    ns = namespace("rbacapp")
    identity.grant("meshops-istio:app-deploy", ns)
    # The role labels the namespace through mesh_onboard: its rules too.
    identity.grant("meshops-istio:mesh-onboard", ns)
    identity.grant("meshops-istio:mesh-onboard-cluster")
    playbook, extra = app_deploy_play(identity, ns, tmp_path)
    rc, stats, out = identity.ansible.playbook(str(playbook), extra_vars=extra)
    assert rc == 0, Ansible.failure(out)
    assert stats["localhost"]["changed"] >= 2  # namespace label, helm install
    rc, stats, out = identity.ansible.playbook(str(playbook), extra_vars=extra)
    assert rc == 0 and stats["localhost"]["changed"] == 0, Ansible.failure(out) if rc else stats


ISTIO_ROLE_PLAY = """\
- hosts: localhost
  gather_facts: false
  roles:
    - role: meshops.istio.istio
"""


def test_shipped_rbac_runs_the_istio_role_on_a_spare_lab(spare_lab, ansible, tmp_path):
    """The istio role as a whole: the installation (istio-install), then its namespaces onboarded through
    mesh_onboard, one that exists and one the role creates (creating namespaces is within istio-install),
    labelled for the revision; a rerun changes nothing; the installation removed. A namespace the role creates
    cannot hold a RoleBinding before it exists, and the rerun onboards it like any other, so mesh-onboard is
    bound cluster-wide here (docs/rbac.md)."""
    lab = spare_lab
    suffix = uuid.uuid4().hex[:6]
    home, existing, fresh = ("rbac-role-" + suffix, "rbac-app-" + suffix, "rbac-new-" + suffix)
    for ns in (home, existing):
        lab.kubectl("create", "namespace", ns)
    identity = Identity(lab, ansible, home, str(tmp_path))
    try:
        identity.grant("meshops-istio:istio-install")
        identity.grant("meshops-istio:mesh-onboard-cluster")
        identity.grant("meshops-istio:mesh-onboard")
        with open(lab.env["LAB_ISTIO_VALUES"]) as handle:
            values = yaml.safe_load(handle)
        playbook = tmp_path / "istio.yml"
        playbook.write_text(ISTIO_ROLE_PLAY)
        extra = {"istio_values": values, "istio_revision": "rbacrole", "istio_ingress_gateway": False,
                 "istio_wait_timeout": 120, "istio_injection_namespaces": [existing, fresh]}
        rc, stats, out = identity.ansible.playbook(str(playbook), extra_vars=extra)
        assert rc == 0, Ansible.failure(out)
        assert stats["localhost"]["changed"] >= 2  # the installation, the namespaces
        for ns in (existing, fresh):
            assert lab.kubectl_json("get", "namespace", ns)["metadata"]["labels"].get("istio.io/rev") == "rbacrole"
        rc, stats, out = identity.ansible.playbook(str(playbook), extra_vars=extra)
        assert rc == 0 and stats["localhost"]["changed"] == 0, Ansible.failure(out) if rc else stats
        rc, stats, out = identity.ansible.playbook(str(playbook), extra_vars=dict(extra, istio_state="absent"))
        assert rc == 0, Ansible.failure(out)
        assert lab.kubectl("get", "deployment", "istiod-rbacrole", "-n", "istio-system", "--ignore-not-found",
                           "-o", "name").stdout.strip() == ""
    finally:
        identity.cleanup()
        for ns in (home, existing, fresh):
            lab.kubectl("delete", "namespace", ns, "--wait=false", "--ignore-not-found", check=False)


MESH_WIDE_PLAY = """\
- hosts: localhost
  gather_facts: false
  roles:
    - role: meshops.istio.mesh_security
      vars:
        mesh_security_mtls_mode: STRICT
"""


def test_shipped_rbac_runs_the_mesh_wide_peer_authentication_on_a_spare_lab(spare_lab, ansible, tmp_path):
    """Mesh-wide STRICT mTLS (staged through PERMISSIVE by mesh_policy, its sidecar gate reading every injected
    namespace): mesh-policy bound in the root namespace, mesh-policy-mesh-wide cluster-wide; then removed."""
    lab = spare_lab
    home = "rbac-mesh-" + uuid.uuid4().hex[:6]
    lab.kubectl("create", "namespace", home)
    identity = Identity(lab, ansible, home, str(tmp_path))
    playbook = tmp_path / "mesh-wide.yml"
    playbook.write_text(MESH_WIDE_PLAY)
    try:
        identity.grant("meshops-istio:mesh-policy", "istio-system")
        identity.grant("meshops-istio:mesh-policy-mesh-wide")
        rc, stats, out = identity.ansible.playbook(str(playbook))
        assert rc == 0, Ansible.failure(out)
        assert stats["localhost"]["changed"] == 1
        pa = lab.kubectl_json("get", "peerauthentications.security.istio.io", "default", "-n", "istio-system")
        assert pa["spec"]["mtls"]["mode"] == "STRICT"
        rc, stats, out = identity.ansible.playbook(str(playbook))
        assert rc == 0 and stats["localhost"]["changed"] == 0, Ansible.failure(out) if rc else stats
        rc, stats, out = identity.ansible.playbook(str(playbook), extra_vars={"mesh_security_state": "absent"})
        assert rc == 0, Ansible.failure(out)
        assert lab.kubectl("get", "peerauthentications.security.istio.io", "-n", "istio-system", "-o",
                           "name").stdout.strip() == ""
    finally:
        identity.cleanup()
        lab.kubectl("delete", "peerauthentications.security.istio.io", "default", "-n", "istio-system",
                    "--ignore-not-found", check=False)
        lab.kubectl("delete", "namespace", home, "--wait=false", check=False)


def test_shipped_rbac_runs_the_app_deploy_role_creating_its_namespace(lab, identity, tmp_path):
    """app_deploy into a namespace that does not exist yet: created (labelled) through mesh_onboard with
    app-deploy-namespace, then the release; a namespace that does not exist cannot hold a RoleBinding, so
    app-deploy and mesh-onboard (which the rerun needs in it) are bound cluster-wide (docs/rbac.md)."""
    ns = "rbac-appns-" + uuid.uuid4().hex[:6]
    identity.grant("meshops-istio:app-deploy-namespace")
    identity.grant("meshops-istio:mesh-onboard-cluster")
    identity.grant("meshops-istio:mesh-onboard")
    identity.grant("meshops-istio:app-deploy")
    playbook, extra = app_deploy_play(identity, ns, tmp_path)
    try:
        rc, stats, out = identity.ansible.playbook(str(playbook), extra_vars=extra)
        assert rc == 0, Ansible.failure(out)
        assert lab.kubectl_json("get", "namespace", ns)["metadata"]["labels"]["istio-injection"] == "enabled"
        rc, stats, out = identity.ansible.playbook(str(playbook), extra_vars=extra)
        assert rc == 0 and stats["localhost"]["changed"] == 0, Ansible.failure(out) if rc else stats
    finally:
        lab.kubectl("delete", "namespace", ns, "--wait=false", "--ignore-not-found", check=False)


def test_shipped_rbac_runs_mtls_verify_read_only(lab, identity, namespace):
    """mtls_verify with only its ClusterRole (bound cluster-wide: one list per kind across the cluster): the matrix
    of two namespaces, no Secret readable, nothing writable; without the PeerAuthentication rule the 403 names it."""
    names = [namespace("rbacv", labels={"istio-injection": "enabled"}) for dummy in range(2)]
    for ns in names:
        deploy(lab, ns, "web")
    identity.grant("meshops-istio:mtls-verify")
    sa = identity.as_sa
    assert "forbidden" in sa.kubectl("get", "secrets", "-n", names[0], check=False).stderr.lower()
    assert "forbidden" in sa.kubectl("delete", "pods", "--all", "-n", names[0], check=False).stderr.lower()
    args = {"namespaces": names, "analyze": False, "fail_on": "never"}
    result = identity.ansible.module("meshops.istio.mtls_verify", args)
    assert not result.get("failed"), result.get("msg")
    assert sorted(r["namespace"] for r in result["matrix"]) == sorted(names)
    assert [r["with_sidecar"] for r in result["matrix"]] == [1, 1]
    assert set(result["api_calls"]) == {"discovery", "list", "get"}

    identity.cleanup()
    identity.cluster_objects = []
    identity.grant("meshops-istio:mtls-verify", drop=lambda rule: "peerauthentications" in rule["resources"])
    result = identity.ansible.module("meshops.istio.mtls_verify", args)
    assert result.get("failed") is True
    assert "may not list peerauthentications.security.istio.io" in result["msg"], result["msg"]


def test_shipped_rbac_runs_canary_shift(lab, identity, shop, namespace):
    """canary_shift with only canary-shift bound in the namespace (step 5's objects written by the admin, as
    mesh_traffic would): check mode (server-side dry runs, patch) writes nothing, a rollout with pauses of a second
    adds the v2 subset, shifts and promotes (get/patch of the VirtualService and DestinationRule, get of the Service,
    a list of its pods), the rerun writes nothing; no create or delete of a route, no Secret, no pod write, and
    another namespace is refused naming the rule to add."""
    ns = shop
    identity.grant("meshops-istio:canary-shift", ns)
    sa = identity.as_sa
    assert "forbidden" in sa.kubectl("get", "secrets", "-n", ns, check=False).stderr.lower()
    assert "forbidden" in sa.kubectl("delete", "virtualservices.networking.istio.io", "users", "-n", ns,
                                     check=False).stderr.lower()
    assert "forbidden" in sa.kubectl("delete", "pods", "users-v1", "-n", ns, check=False).stderr.lower()
    assert "forbidden" in sa.kubectl("get", "pods", "users-v1", "-n", ns, check=False).stderr.lower()  # list only
    args = release(ns, steps=[{"weight": 50, "pause": "1s", "analysis": False}, {"weight": 100, "analysis": False}])
    before = objects(lab, ns)
    check = identity.ansible.module("meshops.istio.canary_shift", args, check=True)
    assert not check.get("failed"), check.get("msg")
    assert check["changed"] and check["api_calls"].get("apply_dry_run"), check["api_calls"]
    assert objects(lab, ns) == before

    out = identity.ansible.module("meshops.istio.canary_shift", args)
    assert not out.get("failed"), out.get("msg")
    assert out["changed"] and out["phase"] == "promoted", out.get("message")
    assert set(out["api_calls"]) <= {"discovery", "get", "list", "apply", "apply_dry_run"}, out["api_calls"]
    live = objects(lab, ns)
    assert weights(live["VirtualService"]) == {"v1": 0, "v2": 100}
    assert [s["name"] for s in live["DestinationRule"]["spec"]["subsets"]] == ["v1", "v2"]
    again = identity.ansible.module("meshops.istio.canary_shift", args)
    assert not again.get("failed") and not again["changed"], again.get("msg")

    other = namespace("rbaccn")
    refused = identity.ansible.module("meshops.istio.canary_shift", dict(args, namespace=other))
    assert refused.get("failed") and not refused["changed"]
    assert "may not get virtualservices.networking.istio.io in namespace \"{0}\"".format(other) in refused["msg"], \
        refused["msg"]
