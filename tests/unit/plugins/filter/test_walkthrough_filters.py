# -*- coding: utf-8 -*-
"""site.yml's filters: the rollout over many clusters (canary first, stop on failure) and the summary."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.meshops.istio.plugins.filter import walkthrough as f


def test_without_a_canary_every_cluster_runs_at_once_and_a_failure_stops_only_that_cluster():
    assert f.rollout_hosts("mesh_controllers", "") == "mesh_controllers"
    assert f.rollout_serial("") == ["100%"]
    assert f.rollout_max_fail_percentage(None) == 100


def test_a_canary_goes_first_alone_and_any_failure_stops_the_run():
    assert f.rollout_hosts("mesh_controllers", "cluster-a") == "cluster-a:mesh_controllers"
    assert f.rollout_serial("cluster-a") == [1, "100%"]
    assert f.rollout_max_fail_percentage("cluster-a") == 0


@pytest.mark.parametrize("canary", ["a:b", "a,b", "*", "!a", "a&b", "web[0]", "~a"])
def test_a_canary_is_one_host_name(canary):
    with pytest.raises(AnsibleFilterError, match="one inventory host name"):
        f.rollout_hosts("mesh_controllers", canary)


def test_an_empty_cluster_pattern_is_refused():
    with pytest.raises(AnsibleFilterError, match="empty"):
        f.rollout_hosts("  ", "")


def test_release_brief_never_carries_the_values():
    status = {"status": "deployed", "revision": 2, "chart": "microservices-0.1.0", "app_version": "1.0.0",
              "values": {"postgres": {"password": "s3cret"}}, "release_values": {"x": "s3cret"}}
    brief = f.release_brief(status)
    assert brief == {"status": "deployed", "revision": 2, "chart": "microservices-0.1.0", "app_version": "1.0.0"}
    assert "s3cret" not in repr(brief)
    assert f.release_brief(None) == {}


def _objects(pa=(), authz=0, failed=()):
    out = [{"item": "security.istio.io/v1 PeerAuthentication", "resources": list(pa)},
           {"item": "security.istio.io/v1 AuthorizationPolicy", "resources": [{}] * authz}]
    out += [{"item": "networking.istio.io/v1 " + kind, "failed": True, "msg": "not found"} for kind in failed]
    return out


ISTIOD = {"resources": [{"metadata": {"name": "istiod"}, "spec": {"replicas": 1, "template": {"spec": {
    "containers": [{"image": "docker.io/istio/pilot:1.30-alpha"}]}}}, "status": {"readyReplicas": 1}}]}


def test_summary_of_a_converged_cluster():
    lines = f.walkthrough_summary({
        "cluster": "a", "check_mode": False, "root_namespace": "istio-system", "istiod": ISTIOD,
        "release": {"status": "deployed", "revision": 1, "chart": "microservices-0.1.0"},
        "release_name": "microservices", "namespace": "microservices",
        "pods": {"pods": ["p1", "p2"], "not_ready": [], "without_sidecar": ["p2"]},
        "objects": _objects(pa=[{"metadata": {"namespace": "istio-system", "name": "default"},
                                 "spec": {"mtls": {"mode": "STRICT"}}},
                                {"metadata": {"namespace": "istio-system", "name": "w"},
                                 "spec": {"selector": {"matchLabels": {"app": "w"}}, "mtls": {"mode": "DISABLE"}}}], authz=3),
        "extra": {"report": "/tmp/r.html"}})
    assert lines == [
        "cluster a (applied)",
        "Istio: istiod, 1/1 ready (pilot:1.30-alpha)",
        "app: release microservices/microservices deployed, revision 1 (microservices-0.1.0); 2 pods, 2 Ready, "
        "1 with istio-proxy",
        "mesh objects (all namespaces): PeerAuthentication 2, AuthorizationPolicy 3",
        "mesh-wide mTLS: STRICT",
        "report: /tmp/r.html",
    ]


def test_summary_of_a_fresh_cluster_in_check_mode():
    lines = f.walkthrough_summary({
        "cluster": "b", "check_mode": True, "root_namespace": "istio-system", "istiod": {"resources": []},
        "release": {}, "release_name": "microservices", "namespace": "microservices",
        "pods": {"failed": True, "msg": "namespace microservices not found"},
        "objects": _objects(failed=["Gateway"])})
    assert lines[0].startswith("cluster b (check mode: nothing was written")
    assert lines[1] == "Istio: not installed (no istiod Deployment)"
    assert lines[2] == "app: release microservices/microservices not installed; pods not read " \
        "(namespace microservices not found)"
    assert "not served (CRD missing?): Gateway" in lines
    assert lines[-1].startswith("mesh-wide mTLS: no mesh-wide PeerAuthentication")


def test_summary_expects_a_mapping():
    with pytest.raises(AnsibleFilterError):
        f.walkthrough_summary(["x"])


def test_filters_are_registered():
    assert set(f.FilterModule().filters()) == {"rollout_hosts", "rollout_serial", "rollout_max_fail_percentage",
                                               "release_brief", "walkthrough_summary"}
