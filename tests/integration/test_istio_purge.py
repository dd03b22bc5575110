# -*- coding: utf-8 -*-
"""The istio role with istio_state absent and istio_purge removes Istio's CustomResourceDefinitions.

The CRDs are the shared lab's: this test removes a revision of its own with purge (so the default
revision's webhooks and ConfigMaps stay), checks that no Istio CRD is left, then restores the lab's Istio
cluster configuration with `lab/lab.sh up` (which re-applies it when the CRDs are missing) and checks that
CRDs, webhooks and ConfigMaps are back and istiod validates again. Every Istio resource in the cluster goes
with the CRDs, so run it alone, not beside other tests of the lab; it is skipped on a real cluster unless
MESHOPS_ALLOW_PURGE is set.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PLAY = """
- name: Remove Istio with its CRDs
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/meshops.istio.istio:
      kubeconfig: "{{ kubeconfig }}"
  roles:
    - role: meshops.istio.istio
"""


def istio_crds(lab, terminating=False):
    """Names of Istio's CRDs (groups *.istio.io; recent charts leave out Istio's install labels)."""
    return [i["metadata"]["name"] for i in lab.kubectl_json("get", "crd")["items"]
            if i["metadata"]["name"].endswith(".istio.io")
            and (not terminating or i["metadata"].get("deletionTimestamp"))]


def restore(lab):
    """The lab's own Istio cluster configuration, re-applied by lab.sh up when the CRDs are missing (once no
    Istio CRD is still being deleted: a Terminating CRD cannot be applied)."""
    lab.wait_for(lambda: not istio_crds(lab, terminating=True), timeout=300, what="no Istio CRD Terminating")
    subprocess.run([os.path.join(ROOT, "lab", "lab.sh"), "up"], check=True, timeout=600)


def test_absent_with_purge_removes_the_crds_then_the_lab_is_restored(lab, ansible, tmp_path):
    if lab.real_cluster and not os.environ.get("MESHOPS_ALLOW_PURGE"):
        pytest.skip("purging Istio's CRDs of a real cluster needs MESHOPS_ALLOW_PURGE=1")
    before = istio_crds(lab)
    assert before, "the lab has Istio's CRDs"
    playbook = tmp_path / "purge.yml"
    playbook.write_text(PLAY)
    revision = "purge-{0}".format(uuid.uuid4().hex[:6])
    try:
        rc, stats, out = ansible.playbook(str(playbook), extra_vars={
            "kubeconfig": lab.kubeconfig, "istio_state": "absent", "istio_revision": revision,
            "istio_purge": True, "istio_wait_timeout": 120})
        assert rc == 0, ansible.failure(out)
        assert stats["localhost"]["changed"] >= 1
        # A deleted CRD stays (Terminating) until its resources are gone.
        lab.wait_for(lambda: istio_crds(lab) == [], timeout=180, what="every Istio CRD to be gone")
        result = dict(ansible.results(out))
        deleted = [o for o in result["Install Istio, default profile, revision " + revision]["objects"]
                   if o["kind"] == "CustomResourceDefinition"]
        assert sorted(o["name"] for o in deleted) == sorted(before)
    finally:
        restore(lab)
    assert set(before) <= set(istio_crds(lab)), "lab.sh up restored every Istio CRD"
    lab.kubectl("get", "mutatingwebhookconfiguration", "istio-sidecar-injector")
    lab.kubectl("-n", "istio-system", "get", "configmap", "istio", "istio-sidecar-injector")
    # istiod judges Istio objects again: its validating webhook refuses a condition key only it knows is wrong.
    bad = lab.apply("""
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: purge-check, namespace: istio-system}
spec:
  rules: [{when: [{key: no.such.attribute, values: ["1"]}]}]
""", "--dry-run=server", check=False)
    assert bad.returncode != 0 and "no.such.attribute" in bad.stderr, bad.stderr
