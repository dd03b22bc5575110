# -*- coding: utf-8 -*-
"""The istio_install runner over a fake API server and a fake renderer."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest

from ansible_collections.meshops.istio.plugins.module_utils import install, render
from ansible_collections.meshops.istio.plugins.module_utils.errors import InputError
from ansible_collections.meshops.istio.plugins.module_utils.kube import Kube
from ansible_collections.meshops.istio.tests.unit.fakes import FakeClient, FakeModule

LABELS = {"operator.istio.io/component": "Pilot", "istio.io/rev": "default"}


def rendered(tag="1.30.1", mesh="defaultConfig: {}"):
    return [
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
         "metadata": {"name": "virtualservices.networking.istio.io", "labels": {"operator.istio.io/component": "Base"}},
         "spec": {"group": "networking.istio.io"}},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "istio", "namespace": "istio-system", "labels": dict(LABELS)}, "data": {"mesh": mesh}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "istiod", "namespace": "istio-system", "labels": dict(LABELS, app="istiod")},
         "spec": {"replicas": 1, "template": {"spec": {"containers": [
             {"name": "discovery", "image": "docker.io/istio/pilot:" + tag}]}}}},
    ]


class FakeRenderer:
    tool = "istioctl"
    path = "/fake/istioctl"

    def __init__(self, version="1.30.1", objs=None):
        self._version, self.objs = version, objs if objs is not None else rendered()

    def version(self):
        return self._version

    def render(self, opts):
        return copy.deepcopy(self.objs)


def params(**kw):
    base = dict(state="present", method="istioctl", version=None, allow_downgrade=False, profile="default",
                revision="", values={}, mesh_config={}, set=[], operator=None, prune=True, purge=False,
                force_conflicts=True, take_over=False, wait=False, wait_timeout=5)
    base.update(kw)
    return base


@pytest.fixture
def world(monkeypatch):
    state = {"renderer": FakeRenderer()}
    monkeypatch.setattr(render, "renderer_for", lambda module, p: state["renderer"])
    client = FakeClient()
    return state, client


def run(client, check=False, **kw):
    module = FakeModule(check_mode=check)
    module.params = params(**kw)
    return install.run(module, Kube(module, client=client, sleep=lambda s: None))


def plain_writes(client):
    return [(m, kw.get("name")) for m, kw in client.writes() if kw.get("dry_run") != "All"]


def test_install_then_rerun_writes_nothing(world):
    client = world[1]
    first = run(client)
    assert first["changed"] is True
    assert first["counts"]["created"] == 4  # CRD, namespace, ConfigMap, Deployment
    client.calls.clear()
    second = run(client)
    assert second["changed"] is False
    assert second["objects"] == []
    assert plain_writes(client) == []


def test_check_mode_only_dry_runs(world):
    client = world[1]
    result = run(client, check=True)
    assert result["changed"] is True
    assert plain_writes(client) == []
    assert client.store == {}


def test_one_changed_value_touches_one_object(world):
    state, client = world
    run(client)
    state["renderer"] = FakeRenderer(objs=rendered(mesh="enableTracing: true"))
    client.calls.clear()
    result = run(client)
    assert [(o["kind"], o["action"]) for o in result["objects"]] == [("ConfigMap", "updated")]
    assert plain_writes(client) == [("server_side_apply", "istio")]


def test_objects_no_longer_rendered_are_pruned(world):
    state, client = world
    extra = {"apiVersion": "v1", "kind": "ServiceAccount",
             "metadata": {"name": "old-sa", "namespace": "istio-system", "labels": dict(LABELS)}}
    state["renderer"] = FakeRenderer(objs=rendered() + [extra])
    run(client)
    state["renderer"] = FakeRenderer()
    result = run(client)
    assert [(o["name"], o["action"]) for o in result["objects"]] == [("old-sa", "pruned")]
    assert ("v1", "ServiceAccount", "istio-system", "old-sa") not in client.store


def test_downgrade_is_refused_before_any_write(world):
    state, client = world
    state["renderer"] = FakeRenderer(version="1.30.1", objs=rendered(tag="1.30.1"))
    run(client)
    state["renderer"] = FakeRenderer(version="1.29.2", objs=rendered(tag="1.29.2"))
    client.calls.clear()
    with pytest.raises(InputError) as info:
        run(client)
    assert "Istio 1.30.1 is installed" in info.value.msg and "allow_downgrade" in info.value.msg
    assert plain_writes(client) == []
    assert run(client, allow_downgrade=True)["changed"] is True


def test_version_mismatch_is_refused(world):
    client = world[1]
    with pytest.raises(InputError) as info:
        run(client, version="1.28")
    assert "version 1.28 was asked but istioctl at /fake/istioctl renders Istio 1.30.1" in info.value.msg
    assert client.calls == []


def canary_objects():
    objs = [o for o in rendered() if o["kind"] != "CustomResourceDefinition"]
    for obj in objs:
        obj["metadata"]["name"] += "-canary"
        obj["metadata"]["labels"]["istio.io/rev"] = "canary"
    # Istio renders the revision's RBAC without its labels; the name carries the revision.
    objs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                 "metadata": {"name": "istiod-clusterrole-canary-istio-system"}})
    # and shares some objects between revisions
    objs.append({"apiVersion": "v1", "kind": "ServiceAccount",
                 "metadata": {"name": "istio-reader-service-account", "namespace": "istio-system"}})
    return objs


def test_absent_removes_only_the_revision_and_keeps_crds(world):
    state, client = world
    run(client)
    state["renderer"] = FakeRenderer(objs=canary_objects())
    run(client, revision="canary")
    result = run(client, state="absent", revision="canary")
    assert sorted(o["name"] for o in result["objects"]) == [
        "istio-canary", "istiod-canary", "istiod-clusterrole-canary-istio-system"]
    names = sorted(k[3] for k in client.store)
    assert names == ["istio", "istio-reader-service-account", "istio-system", "istiod",
                     "virtualservices.networking.istio.io"]


def test_absent_with_purge_removes_istios_crds_labelled_or_not(world):
    state, client = world
    unlabelled = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                  "metadata": {"name": "gateways.networking.istio.io", "labels": {"helm.sh/chart": "base-1.0.0"}},
                  "spec": {"group": "networking.istio.io"}}
    other = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
             "metadata": {"name": "widgets.example.com"}, "spec": {"group": "example.com"}}
    state["renderer"] = FakeRenderer(objs=rendered() + [unlabelled])
    run(client)
    client._put(copy.deepcopy(other))
    result = run(client, state="absent", purge=True)
    crds = sorted(o["name"] for o in result["objects"] if o["kind"] == "CustomResourceDefinition")
    assert crds == ["gateways.networking.istio.io", "virtualservices.networking.istio.io"]
    assert [k[3] for k in client.store if k[1] == "CustomResourceDefinition"] == ["widgets.example.com"]


def test_taking_over_another_revisions_object_is_refused(world):
    state, client = world
    run(client)
    other = rendered()
    for obj in other:
        if obj["kind"] == "Deployment":
            obj["metadata"]["labels"]["istio.io/rev"] = "canary"
    state["renderer"] = FakeRenderer(objs=other)
    client.calls.clear()
    with pytest.raises(InputError) as info:
        run(client, revision="canary")
    assert "would take over objects of another revision" in info.value.msg
    assert "Deployment istio-system/istiod (revision default)" in info.value.msg
    assert plain_writes(client) == []
    assert run(client, revision="canary", take_over=True)["changed"] is True


@pytest.mark.parametrize("wait_timeout", [-1, 0, True, "soon"])
def test_a_wait_timeout_that_is_not_a_positive_number_of_seconds_is_refused_before_any_request(world, wait_timeout):
    client = world[1]
    with pytest.raises(InputError) as info:
        run(client, wait_timeout=wait_timeout)
    assert "wait_timeout: must be a positive whole number of seconds (1 or more), not {0!r}".format(
        wait_timeout) in info.value.msg
    assert client.calls == []


def test_mesh_config_and_values_are_judged_by_istios_schema_before_any_request(world):
    client = world[1]
    with pytest.raises(InputError) as info:
        run(client, mesh_config={"enableTracin": True}, values={"pilot": {"replicaCount": "two"}},
            operator={"kind": "Deployment", "spec": {"profile": "nope"}})
    msg = info.value.msg
    assert msg.startswith("3 invalid value(s); nothing was written:")
    assert "mesh_config.enableTracin: unknown field; did you mean enableTracing?" in msg
    assert "values.pilot.replicaCount: must be an integer, not 'two'" in msg
    assert "operator.kind: must be IstioOperator" in msg
    assert client.calls == []


class Commands:
    """run_command of a module whose istioctl knows the profiles ``known``."""

    def __init__(self, known):
        self.known, self.argv = known, []

    def __call__(self, argv, cwd=None):
        self.argv.append(argv)
        if argv[1:3] == ["manifest", "generate"] and "-f" in argv:
            with open(argv[argv.index("-f") + 1]) as handle:
                profile = render.yaml.safe_load(handle)["spec"]["profile"]
        else:
            profile = argv[-1].partition("=")[2]
        if profile in self.known:
            return 0, "", ""
        return 1, "", 'Error: profile "{0}" not found'.format(profile)


@pytest.mark.parametrize("operator, expected", [
    (None, "profile 'nope' is not known to istioctl /bin/istioctl; known profiles: default, demo"),
    ({"spec": {"profile": "nope"}},
     "operator.spec.profile 'nope' is not known to istioctl /bin/istioctl; known profiles: default, demo"),
])
def test_an_unknown_profile_is_named_as_it_was_given(operator, expected):
    module = FakeModule()
    module.run_command = Commands(["default", "demo"])
    renderer = render.IstioctlRenderer(module, "/bin/istioctl")
    opts = params(profile="nope" if operator is None else "default", operator=operator)
    with pytest.raises(InputError) as info:
        renderer.render(opts)
    assert info.value.msg == expected
