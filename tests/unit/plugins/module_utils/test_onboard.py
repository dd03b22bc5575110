# -*- coding: utf-8 -*-
"""The mesh_onboard runner over a fake API server that also plays the Deployment controller and
Istio's injection webhook: restarting a workload replaces its pods, with the sidecar when the
namespace is labelled for injection."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
from collections import Counter

import pytest

from ansible_collections.meshops.istio.plugins.module_utils import onboard, workloads
from ansible_collections.meshops.istio.plugins.module_utils.errors import InputError, MeshError
from ansible_collections.meshops.istio.plugins.module_utils.kube import Kube
from ansible_collections.meshops.istio.plugins.modules import mesh_onboard
from ansible_collections.meshops.istio.tests.unit.fakes import Clock, FakeClient, FakeModule, api_error, arg_errors

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")


# -- the fake cluster ---------------------------------------------------------------------

def namespace(name, **labels):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": dict(labels)}}


def injector(revision="default", tag=None):
    labels = {"istio.io/rev": revision}
    if tag:
        labels["istio.io/tag"] = tag
    name = "istio-revision-tag-" + tag if tag else "istio-sidecar-injector" + (
        "" if revision == "default" else "-" + revision)
    return {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": name, "labels": labels}, "webhooks": []}


def owner(kind, name):
    return [{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": "uid-" + name, "controller": True}]


def pod(ns, name, owned_by, sidecar, revision="default", ready=True, template_meta=None):
    containers = [{"name": "app", "image": "example.invalid/app:1"}]
    meta = {"name": name, "namespace": ns, "labels": dict((template_meta or {}).get("labels") or {}),
            "annotations": dict((template_meta or {}).get("annotations") or {})}
    if owned_by:
        meta["ownerReferences"] = owner(*owned_by)
    if sidecar:
        containers.append({"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.30"})
        meta["annotations"]["sidecar.istio.io/status"] = json.dumps({"containers": ["istio-proxy"],
                                                                     "revision": revision})
        meta["labels"]["istio.io/rev"] = revision
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": containers, "serviceAccountName": "x"},
            "status": {"phase": "Running",
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def app(ns, name, kind="Deployment", replicas=2, sidecar=False, revision="default", opt_out=None, sa="app",
        paused=False):
    """A rolled-out workload with its ReplicaSet (Deployments) and pods."""
    template_meta = {"labels": {"app": name}}
    if opt_out == "label":
        template_meta["labels"]["sidecar.istio.io/inject"] = "false"
    elif opt_out == "annotation":
        template_meta["annotations"] = {"sidecar.istio.io/inject": "false"}
    spec = {"selector": {"matchLabels": {"app": name}},
            "template": {"metadata": template_meta, "spec": {"containers": [{"name": "app", "image": "x"}]}}}
    if sa:
        spec["template"]["spec"]["serviceAccountName"] = sa
    if kind != "DaemonSet":
        spec["replicas"] = replicas
    if paused:
        spec["paused"] = True
    work = {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": ns, "generation": 1},
            "spec": spec, "status": status(kind, replicas, 1)}
    objs = [work]
    pod_owner = (kind, name)
    if kind == "Deployment":
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": name + "-1", "namespace": ns, "ownerReferences": owner("Deployment", name)},
              "spec": {"replicas": replicas}}
        objs.append(rs)
        pod_owner = ("ReplicaSet", name + "-1")
    for i in range(replicas):
        objs.append(pod(ns, "{0}-1-{1}".format(name, i), pod_owner, sidecar, revision, template_meta=template_meta))
    return objs


def status(kind, replicas, generation):
    if kind == "DaemonSet":
        return {"observedGeneration": generation, "desiredNumberScheduled": replicas,
                "updatedNumberScheduled": replicas, "numberAvailable": replicas}
    return {"observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
            "readyReplicas": replicas, "availableReplicas": replicas}


class FakeCluster(FakeClient):
    """FakeClient plus merge patches, and rollouts: a workload whose pod template changed rolls out
    after ``rollout_reads`` reads of its kind in its namespace, replacing its pods; the new pods get the
    sidecar when the namespace is labelled for injection (as Istio's webhook would)."""

    def __init__(self, objects=(), rollout_reads=1, inject=True):
        super(FakeCluster, self).__init__(objects)
        self.rollout_reads = rollout_reads
        self.inject = inject
        self.rolling = {}
        self.max_rolling = 0
        self.rollouts = []

    def writes(self):
        return [(m, kw) for m, kw in self.calls if m in ("server_side_apply", "delete", "patch")]

    def plain_writes(self):
        return [(m, kw.get("name")) for m, kw in self.writes() if kw.get("dry_run") != "All"]

    def patch(self, res, body=None, name=None, namespace=None, **kwargs):
        self.record("patch", name=name, namespace=namespace, **kwargs)
        assert kwargs.get("content_type") == "application/merge-patch+json"
        current = self.store.get(self._key(res, name, namespace))
        if current is None:
            raise api_error(404, "Not Found")
        result = copy.deepcopy(current)
        labels = result["metadata"].setdefault("labels", {})
        for key, value in body["metadata"]["labels"].items():
            if value is None:
                labels.pop(key, None)
            else:
                labels[key] = value
        if kwargs.get("dry_run") == "All":
            return result
        self._put(result)
        return copy.deepcopy(result)

    def server_side_apply(self, res, body=None, name=None, namespace=None, **kwargs):
        key = self._key(res, name, namespace)
        before = copy.deepcopy(self.store.get(key))
        out = super(FakeCluster, self).server_side_apply(res, body=body, name=name, namespace=namespace, **kwargs)
        if kwargs.get("dry_run") != "All" and res.kind in WORKLOADS and before is not None:
            obj = self.store[key]
            if obj["spec"]["template"] != before["spec"]["template"]:
                obj["metadata"]["generation"] = before["metadata"].get("generation", 1) + 1
                self.rolling[key] = self.rollout_reads
                self.max_rolling = max(self.max_rolling, len(self.rolling))
        return out

    def get(self, res, name=None, namespace=None, **kwargs):
        if res.kind in WORKLOADS:
            for key in list(self.rolling):
                if key[1] == res.kind and key[2] == namespace:
                    self.rolling[key] -= 1
                    if self.rolling[key] <= 0:
                        del self.rolling[key]
                        self.roll_out(key)
        return super(FakeCluster, self).get(res, name=name, namespace=namespace, **kwargs)

    def pods_of(self, kind, ns, name):
        rsets = [k[3] for k, o in self.store.items() if k[1] == "ReplicaSet" and k[2] == ns
                 and o["metadata"]["ownerReferences"][0]["name"] == name] if kind == "Deployment" else []
        out = []
        for key, obj in self.store.items():
            if key[1] != "Pod" or key[2] != ns:
                continue
            ref = (obj["metadata"].get("ownerReferences") or [{}])[0]
            if (ref.get("kind"), ref.get("name")) == (kind, name) or (
                    ref.get("kind") == "ReplicaSet" and ref.get("name") in rsets):
                out.append(key)
        return out

    def roll_out(self, key):
        api, kind, ns, name = key
        obj = self.store[key]
        gen = obj["metadata"]["generation"]
        self.rollouts.append("{0}/{1}/{2}".format(ns, kind, name))
        old = self.pods_of(kind, ns, name)
        for pod_key in old:
            del self.store[pod_key]
        replicas = obj["spec"].get("replicas", 3)
        labels = self.store[("v1", "Namespace", None, ns)]["metadata"].get("labels") or {}
        template_meta = obj["spec"]["template"]["metadata"]
        revision = labels.get("istio.io/rev", "default")
        opted_out = workloads.opt_out(template_meta)
        sidecar = self.inject and not opted_out and (labels.get("istio-injection") == "enabled" or (
            "istio.io/rev" in labels and "istio-injection" not in labels))
        pod_owner = (kind, name)
        if kind == "Deployment":
            rs_name = "{0}-{1}".format(name, gen)
            self._put({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                       "metadata": {"name": rs_name, "namespace": ns, "ownerReferences": owner("Deployment", name)},
                       "spec": {"replicas": replicas}})
            pod_owner = ("ReplicaSet", rs_name)
        for i in range(replicas):
            self._put(pod(ns, "{0}-{1}-{2}".format(name, gen, i), pod_owner, sidecar, revision,
                          template_meta=template_meta))
        obj["status"] = status(kind, replicas, gen)


def params(**kw):
    base = dict(namespaces=["shop"], namespace_selector=None, revision=None, mtls_mode=None, default_deny=False,
                force=False, create_namespaces=False, max_concurrent_restarts=5, wait_timeout=60, concurrency=8)
    base.update(kw)
    return base


def run(client, check=False, diff=False, **kw):
    module = FakeModule(check_mode=check, diff=diff)
    module.params = params(**kw)
    clock = Clock()
    kube = Kube(module, client=client, sleep=clock.sleep, clock=clock)
    result = onboard.run(module, kube)
    result["api_calls"] = dict(kube.calls)
    result["warnings"] = module.warnings
    return result


def shop(*extra, **labels):
    """Namespace shop with three Deployments without the sidecar (created before injection)."""
    objs = [injector(), namespace("shop", **labels)]
    for name in ("web", "cart", "pay"):
        objs += app("shop", name)
    return objs + list(extra)


def workload(result, ns, name):
    return next(w for w in result["namespaces"][ns]["workloads"] if w["name"] == name)


# -- tests ---------------------------------------------------------------------------------

def test_onboard_restarts_then_rerun_writes_nothing():
    client = FakeCluster(shop())
    first = run(client)
    assert first["changed"] is True
    assert first["namespaces"]["shop"]["labelled"] is True
    assert first["namespaces"]["shop"]["labels"] == {"istio-injection": "enabled"}
    assert sorted(first["restarted"]) == ["shop/Deployment/cart", "shop/Deployment/pay", "shop/Deployment/web"]
    assert [w["state"] for w in first["namespaces"]["shop"]["workloads"]] == ["restarted"] * 3
    assert first["missing_sidecar"] == [] and first["failed_workloads"] == []
    restarted = client.store[("apps/v1", "Deployment", "shop", "web")]
    assert "kubectl.kubernetes.io/restartedAt" in restarted["spec"]["template"]["metadata"]["annotations"]
    # every write was dry-run first
    dry = Counter(kw.get("name") for m, kw in client.writes() if kw.get("dry_run") == "All")
    assert dry == Counter({"shop": 1, "web": 1, "cart": 1, "pay": 1})

    pods_before = sorted(k[3] for k in client.store if k[1] == "Pod")
    client.calls.clear()
    second = run(client)
    assert second["changed"] is False
    assert second["restarted"] == [] and second["objects"] == []
    assert [w["state"] for w in second["namespaces"]["shop"]["workloads"]] == ["injected"] * 3
    assert client.writes() == []
    assert set(second["api_calls"]) <= {"discovery", "list", "get"}
    assert sorted(k[3] for k in client.store if k[1] == "Pod") == pods_before


def test_check_mode_only_dry_runs_and_reports():
    client = FakeCluster(shop())
    before = copy.deepcopy(client.store)
    result = run(client, check=True, diff=True, mtls_mode="PERMISSIVE", default_deny=True)
    assert result["changed"] is True
    assert result["namespaces"]["shop"]["labelled"] is True
    assert len(result["restarted"]) == 3
    assert result["namespaces"]["shop"]["peer_authentication"] == "created"
    assert result["namespaces"]["shop"]["authorization_policy"] == "created"
    assert client.writes() and client.plain_writes() == []
    assert client.store == before
    assert client.rollouts == []
    headers = [d["before_header"] for d in result["diff"]]
    assert "Namespace shop (updated)" in headers
    assert "Deployment shop/web (updated)" in headers
    assert "PeerAuthentication shop/default (created)" in headers


def test_strict_refused_naming_the_workload_without_sidecar_then_forced():
    client = FakeCluster(shop(*app("shop", "legacy", opt_out="annotation")))
    with pytest.raises(InputError) as info:
        run(client, mtls_mode="STRICT")
    assert "mtls_mode STRICT refused" in info.value.msg
    assert "shop/Deployment/legacy" in info.value.msg
    assert "sidecar.istio.io/inject=false" in info.value.msg
    assert "force: true" in info.value.msg and "Nothing was written" in info.value.msg
    assert "shop/Deployment/web" not in info.value.msg  # it will be restarted
    assert client.writes() == []

    result = run(client, mtls_mode="STRICT", force=True)
    assert result["changed"] is True
    assert result["missing_sidecar"] == ["shop/Deployment/legacy"]
    peer = client.store[("security.istio.io/v1", "PeerAuthentication", "shop", "default")]
    assert peer["spec"] == {"mtls": {"mode": "STRICT"}}
    assert "shop/Deployment/legacy" not in client.rollouts
    assert run(client, mtls_mode="STRICT", force=True)["changed"] is False


def test_opted_out_workloads_are_reported_not_restarted():
    opted = app("shop", "by-label", opt_out="label") + app("shop", "by-annotation", opt_out="annotation")
    client = FakeCluster(shop(*opted))
    result = run(client)
    assert sorted(result["opted_out"]) == ["shop/Deployment/by-annotation", "shop/Deployment/by-label"]
    assert workload(result, "shop", "by-label")["state"] == "opted_out"
    assert "sidecar.istio.io/inject=false" in workload(result, "shop", "by-label")["reason"]
    restarted_names = set(kw["name"] for m, kw in client.writes() if m == "server_side_apply")
    assert restarted_names == {"web", "cart", "pay"}
    assert sorted(result["missing_sidecar"]) == ["shop/Deployment/by-annotation", "shop/Deployment/by-label"]


@pytest.mark.parametrize("limit", [1, 2, 4])
def test_restart_limit_is_honoured(limit):
    objs = [injector(), namespace("shop")]
    for i in range(7):
        objs += app("shop", "app{0}".format(i), replicas=1)
    client = FakeCluster(objs, rollout_reads=3)
    result = run(client, max_concurrent_restarts=limit)
    assert len(result["restarted"]) == 7
    assert client.max_rolling == limit
    assert len(client.rollouts) == 7


def test_restarts_go_out_in_waves_and_rollouts_are_followed_by_lists_not_gets():
    objs = [injector()]
    names = ["ns{0}".format(n) for n in range(3)]
    for ns in names:
        objs.append(namespace(ns))
        objs += sum((app(ns, "app{0}".format(i), replicas=1) for i in range(4)), [])
    client = FakeCluster(objs, rollout_reads=2)
    result = run(client, namespaces=names, max_concurrent_restarts=12, concurrency=4)
    assert len(result["restarted"]) == 12 and result["failed_workloads"] == []
    assert client.max_rolling == 12  # the whole wave was sent before any rollout was looked at
    assert [kw["name"] for m, kw in client.calls if m == "get" and kw.get("name")] == []
    # one list per kind and namespace rolling, per look; no look grows with the workloads
    lists = [kw["namespace"] for m, kw in client.calls if m == "get" and not kw.get("name")]
    assert set(lists) - set([None]) == set(names)  # None: the cluster-scoped lists (webhooks, namespaces)


def api_calls(pods_per_app, namespaces=2, check=False):
    objs = [injector()]
    for n in range(namespaces):
        ns = "ns{0}".format(n)
        objs.append(namespace(ns, **{"istio-injection": "enabled"}))
        objs += app(ns, "done", replicas=pods_per_app, sidecar=True)
        objs += app(ns, "todo", replicas=pods_per_app, sidecar=False)
        objs += app(ns, "db", kind="StatefulSet", replicas=pods_per_app, sidecar=True)
    client = FakeCluster(objs)
    result = run(client, check=check, namespaces=["ns{0}".format(n) for n in range(namespaces)],
                 mtls_mode="PERMISSIVE")
    return sum(v for k, v in result["api_calls"].items())


@pytest.mark.parametrize("check", [True, False])
def test_api_calls_per_namespace_do_not_grow_with_pods(check):
    few, many = api_calls(2, check=check), api_calls(60, check=check)
    assert few == many
    # and grow linearly with the namespaces
    two, four = api_calls(3, 2, check=check), api_calls(3, 4, check=check)
    six = api_calls(3, 6, check=check)
    assert six - four == four - two


def test_pagination_keeps_calls_per_namespace_bounded():
    # 1200 pods: three pages of 500 for the pod list, still one list per kind otherwise.
    result = run(FakeCluster([injector(), namespace("shop", **{"istio-injection": "enabled"})]
                             + app("shop", "big", replicas=1200, sidecar=True)))
    assert result["changed"] is False
    assert result["api_calls"]["list"] == 2 + 3 + 4  # webhooks + namespaces, pods (3 pages), RS + 3 kinds


def test_revision_relabels_and_restarts_pods_of_another_revision():
    objs = [injector(), injector("canary"), namespace("shop", **{"istio-injection": "enabled"})]
    objs += app("shop", "web", sidecar=True) + app("shop", "new", sidecar=True, revision="canary")
    client = FakeCluster(objs)
    result = run(client, revision="canary", diff=True)
    labels = client.store[("v1", "Namespace", None, "shop")]["metadata"]["labels"]
    assert labels == {"istio.io/rev": "canary"}
    assert result["restarted"] == ["shop/Deployment/web"]
    assert workload(result, "shop", "new")["state"] == "injected"
    assert result["revision"] == "canary"
    assert run(client, revision="canary")["changed"] is False
    # back to istio-injection: the revision label goes, pods of canary are restarted
    back = run(client)
    assert client.store[("v1", "Namespace", None, "shop")]["metadata"]["labels"] == {"istio-injection": "enabled"}
    assert sorted(back["restarted"]) == ["shop/Deployment/new", "shop/Deployment/web"]


def test_a_revision_tag_resolves_to_its_revision():
    objs = [injector("1-30"), injector("1-30", tag="prod"), injector("1-30", tag="default"),
            namespace("shop", **{"istio.io/rev": "prod"})] + app("shop", "web", sidecar=True, revision="1-30")
    client = FakeCluster(objs)
    result = run(client, revision="prod")
    assert result["changed"] is False and result["revision"] == "1-30"
    # istio-injection=enabled follows the default tag, which points at 1-30 too: relabel, no restart
    result = run(client)
    assert result["namespaces"]["shop"]["labelled"] is True and result["restarted"] == []


@pytest.mark.parametrize("kw, expect", [
    (dict(mtls_mode="strict"), "value of mtls_mode must be one of: PERMISSIVE, STRICT, got: strict"),
    (dict(namespace_selector="team=shop"), "parameters are mutually exclusive: namespaces|namespace_selector"),
    (dict(namespaces=None), "one of the following is required: namespaces, namespace_selector"),
])
def test_choices_and_exclusivity_are_the_argument_specs(kw, expect):
    errors = arg_errors(mesh_onboard.argspec(), params(**kw), mutually_exclusive=mesh_onboard.MUTUALLY_EXCLUSIVE,
                        required_one_of=mesh_onboard.REQUIRED_ONE_OF)
    assert any(expect in e for e in errors), errors


@pytest.mark.parametrize("kw, expect", [
    (dict(revision="1.30.4"), ["revision '1.30.4' is not valid", "no dots"]),
    (dict(revision="Canary"), ["revision 'Canary' is not valid"]),
    (dict(namespaces=[]), ["namespaces (a non-empty list of names) or namespace_selector"]),
    (dict(namespaces=None, namespace_selector=" "), ["namespaces (a non-empty list", "namespace_selector"]),
    (dict(namespaces=["Shop"]), ["namespaces[0]: 'Shop' is not a valid namespace name"]),
    (dict(namespaces=["kube-system"]), ["namespaces[0]: kube-system is a system namespace"]),
    (dict(max_concurrent_restarts=0), ["max_concurrent_restarts: must be a whole number of 1 or more, not 0"]),
    (dict(wait_timeout=-1), ["wait_timeout: must be"]),
])
def test_invalid_input_is_refused_before_any_call(kw, expect):
    client = FakeCluster(shop())
    with pytest.raises(InputError) as info:
        run(client, **kw)
    for text in expect:
        assert text in info.value.msg
    assert client.calls == []


@pytest.mark.parametrize("kw, objs, expect", [
    (dict(revision="canary"), [injector()], ["revision 'canary' has no sidecar injector",
                                             "installed revisions: default"]),
    (dict(), [injector("canary")], ["istio-injection=enabled needs Istio's default revision", "set revision"]),
    (dict(), [], ["no Istio sidecar injector is installed"]),
    (dict(namespaces=["shop", "nope"]), [injector()], ["namespaces: not found: nope"]),
])
def test_cluster_dependent_input_is_refused_before_any_write(kw, objs, expect):
    client = FakeCluster([namespace("shop")] + app("shop", "web") + objs)
    with pytest.raises(InputError) as info:
        run(client, **kw)
    for text in expect:
        assert text in info.value.msg
    assert client.writes() == []


def test_namespace_selector_skips_system_namespaces():
    objs = shop(team="shop") + [namespace("istio-system", team="shop"), namespace("other")]
    objs += app("other", "x")
    result = run(FakeCluster(objs), namespaces=None, namespace_selector="team=shop")
    assert list(result["namespaces"]) == ["shop"]
    assert any("istio-system" in w for w in result["warnings"])


def test_default_service_account_is_warned_about():
    client = FakeCluster(shop(*app("shop", "anon", sa=None)))
    result = run(client)
    warned = [w for w in result["warnings"] if "default service account" in w]
    assert len(warned) == 1 and "Deployment/anon" in warned[0] and "Deployment/web" not in warned[0]
    assert workload(result, "shop", "anon")["service_account"] == "default"


def test_unmanaged_pods_block_strict_and_are_not_restarted():
    bare = pod("shop", "debug", None, sidecar=False)
    client = FakeCluster(shop(bare, **{"istio-injection": "enabled"}))
    result = run(client)
    assert workload(result, "shop", "debug")["state"] == "unmanaged"
    assert result["missing_sidecar"] == ["shop/Pod/debug"]
    with pytest.raises(InputError) as info:
        run(client, mtls_mode="STRICT")
    assert "shop/Pod/debug" in info.value.msg


def test_rollout_that_never_finishes_fails_and_writes_no_policy():
    client = FakeCluster(shop(), rollout_reads=10 ** 9)
    with pytest.raises(MeshError) as info:
        run(client, wait_timeout=5, mtls_mode="PERMISSIVE", default_deny=True)
    assert "onboarding did not complete for 3 workload(s)" in info.value.msg
    assert "shop/Deployment/web: rollout not finished after 5s" in info.value.msg
    assert sorted(info.value.result["failed_workloads"]) == [
        "shop/Deployment/cart", "shop/Deployment/pay", "shop/Deployment/web"]
    assert info.value.result["changed"] is True
    assert not [k for k in client.store if k[0] == "security.istio.io/v1"]


def test_pods_still_without_sidecar_after_restart_fail():
    client = FakeCluster(shop(), inject=False)  # the webhook does not inject
    with pytest.raises(MeshError) as info:
        run(client, wait_timeout=5)
    assert "pods without the istio-proxy sidecar of revision default" in info.value.msg
    assert info.value.result["namespaces"]["shop"]["workloads"][0]["state"] == "failed"


def test_paused_deployment_is_failed_not_restarted():
    client = FakeCluster(shop(*app("shop", "held", paused=True)))
    with pytest.raises(MeshError) as info:
        run(client)
    assert "shop/Deployment/held: the Deployment is paused" in info.value.msg
    assert "held" not in [kw["name"] for m, kw in client.writes()]


def test_statefulsets_and_daemonsets_are_restarted_too():
    objs = [injector(), namespace("shop")] + app("shop", "db", kind="StatefulSet") + app(
        "shop", "agent", kind="DaemonSet", replicas=3)
    client = FakeCluster(objs)
    result = run(client)
    assert sorted(result["restarted"]) == ["shop/DaemonSet/agent", "shop/StatefulSet/db"]
    assert run(client)["changed"] is False


def test_default_deny_is_an_authorization_policy_that_allows_nothing():
    client = FakeCluster(shop(**{"istio-injection": "enabled"}))
    run(client, default_deny=True)
    policy = client.store[("security.istio.io/v1", "AuthorizationPolicy", "shop", "deny-all")]
    assert policy["spec"] == {"action": "ALLOW", "rules": []}
    client.calls.clear()
    result = run(client, default_deny=True)
    assert result["changed"] is False and client.writes() == []
    assert result["namespaces"]["shop"]["authorization_policy"] == "unchanged"


def test_a_deny_all_flipped_to_audit_by_hand_is_put_back():
    """An AUDIT policy allows and denies nothing, so the flip opens the namespace: the rerun takes the action back."""
    client = FakeCluster(shop(**{"istio-injection": "enabled"}))
    run(client, default_deny=True)
    key = ("security.istio.io/v1", "AuthorizationPolicy", "shop", "deny-all")
    client.edit(key, {("spec", "action"): "AUDIT"})
    result = run(client, default_deny=True)
    assert result["changed"] is True and result["namespaces"]["shop"]["authorization_policy"] == "updated"
    assert client.store[key]["spec"] == {"action": "ALLOW", "rules": []}
    client.calls.clear()
    assert run(client, default_deny=True)["changed"] is False and client.writes() == []


def test_a_deny_all_with_rules_of_someone_else_is_left_as_it_is_with_a_warning():
    """Someone made deny-all a DENY of every request ([{}]): putting ALLOW back beside those rules would allow
    all, so a deny-all holding rules (or a selector) is not the collection's any more and is left alone."""
    client = FakeCluster(shop(**{"istio-injection": "enabled"}))
    run(client, default_deny=True)
    key = ("security.istio.io/v1", "AuthorizationPolicy", "shop", "deny-all")
    client.edit(key, {("spec", "action"): "DENY", ("spec", "rules"): [{}]})
    module = FakeModule()
    module.params = params(default_deny=True)
    client.calls.clear()
    result = onboard.run(module, Kube(module, client=client, sleep=Clock().sleep, clock=Clock()))
    assert any("AuthorizationPolicy shop/deny-all also holds spec.rules" in w and "left as it is" in w
               for w in module.warnings)
    assert client.store[key]["spec"] == {"action": "DENY", "rules": [{}]}
    assert result["changed"] is False and [kw for m, kw in client.writes() if kw.get("dry_run") != "All"] == []


def test_mtls_mode_change_updates_only_the_peer_authentication():
    client = FakeCluster(shop())
    run(client, mtls_mode="PERMISSIVE")
    client.calls.clear()
    result = run(client, mtls_mode="STRICT")
    assert result["namespaces"]["shop"]["peer_authentication"] == "updated"
    assert client.plain_writes() == [("server_side_apply", "default")]
    assert [o["kind"] for o in result["objects"]] == ["PeerAuthentication"]


def test_create_namespaces_creates_the_missing_ones_labelled_then_a_rerun_writes_nothing():
    client = FakeCluster(shop())
    first = run(client, namespaces=["shop", "fresh"], create_namespaces=True, mtls_mode="PERMISSIVE")
    assert first["changed"] is True
    assert first["namespaces"]["fresh"]["created"] is True and first["namespaces"]["shop"]["created"] is False
    fresh = client.store[("v1", "Namespace", None, "fresh")]
    assert fresh["metadata"]["labels"] == {"istio-injection": "enabled"}
    assert first["namespaces"]["fresh"]["peer_authentication"] == "created"
    assert ("security.istio.io/v1", "PeerAuthentication", "fresh", "default") in client.store
    assert {"kind": "Namespace", "apiVersion": "v1", "name": "fresh", "action": "created"} in first["objects"]
    # the namespace was dry-run with every other write before any was sent
    dry = [kw.get("dry_run") == "All" for m, kw in client.writes()]
    assert ("fresh", "All") in [(kw.get("name"), kw.get("dry_run")) for m, kw in client.writes()]
    assert dry == sorted(dry, reverse=True)  # every dry run before the first real write

    client.calls.clear()
    second = run(client, namespaces=["shop", "fresh"], create_namespaces=True, mtls_mode="PERMISSIVE")
    assert second["changed"] is False and client.writes() == []
    assert second["namespaces"]["fresh"]["created"] is False


def test_create_namespaces_with_a_revision_labels_the_new_namespace_with_it():
    client = FakeCluster(shop() + [injector("canary")])
    run(client, namespaces=["fresh"], create_namespaces=True, revision="canary")
    assert client.store[("v1", "Namespace", None, "fresh")]["metadata"]["labels"] == {"istio.io/rev": "canary"}


def test_create_namespaces_in_check_mode_writes_nothing_and_says_what_would_be_created():
    client = FakeCluster(shop())
    before = copy.deepcopy(client.store)
    result = run(client, check=True, diff=True, namespaces=["fresh"], create_namespaces=True, default_deny=True)
    assert result["changed"] is True and result["namespaces"]["fresh"]["created"] is True
    assert result["namespaces"]["fresh"]["authorization_policy"] == "created"
    assert client.plain_writes() == [] and client.store == before
    assert "Namespace fresh (created)" in [d["before_header"] for d in result["diff"]]


def test_create_namespaces_refused_with_a_selector_and_missing_namespaces_named_without_it():
    with pytest.raises(InputError) as info:
        run(FakeCluster(shop()), namespaces=None, namespace_selector="team=shop", create_namespaces=True)
    assert "create_namespaces: needs namespaces" in info.value.msg
    with pytest.raises(InputError) as info:
        run(FakeCluster(shop()), namespaces=["fresh"])
    assert "namespaces: not found: fresh; create them first, or set create_namespaces (nothing was written)" \
        == info.value.msg


def test_a_revision_without_injector_is_refused_before_a_namespace_is_created():
    client = FakeCluster(shop())
    with pytest.raises(InputError) as info:
        run(client, namespaces=["fresh"], create_namespaces=True, revision="canary")
    assert "revision 'canary' has no sidecar injector" in info.value.msg
    assert client.writes() == []
