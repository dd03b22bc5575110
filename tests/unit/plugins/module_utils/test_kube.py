# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.meshops.istio.plugins.module_utils import kube, module, retry, waiter
from ansible_collections.meshops.istio.plugins.module_utils.errors import ApiError, WaitTimeout
from ansible_collections.meshops.istio.tests.unit.fakes import Clock, FakeClient, FakeModule, api_error, cm


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setattr(retry, "ATTEMPTS", 3)


def make(objects=(), check_mode=False):
    client = FakeClient(objects)
    slept = []
    return kube.Kube(FakeModule(check_mode=check_mode), client=client, sleep=slept.append), client, slept


def test_apply_creates_then_second_apply_writes_nothing():
    k, client, dummy = make()
    change = k.apply(cm())
    assert (change.action, change.before) == ("created", None)
    assert change.after["data"] == {"a": "1"}
    client.calls.clear()
    assert k.apply(cm()).action == "unchanged"
    plain_writes = [kw for m, kw in client.writes() if kw.get("dry_run") != "All"]
    assert plain_writes == []


def test_apply_updates_with_field_manager():
    k, client, dummy = make([cm()])
    change = k.apply(cm(data={"a": "2"}))
    assert change.action == "updated"
    assert change.before["data"] == {"a": "1"} and change.after["data"] == {"a": "2"}
    managers = {kw["field_manager"] for m, kw in client.writes()}
    assert managers == {"meshops"}


def test_check_mode_sends_dry_run_all_and_never_a_plain_write():
    k, client, dummy = make([cm(name="old")], check_mode=True)
    assert k.apply(cm(name="new")).action == "created"
    assert k.apply(cm(name="old", data={"a": "2"})).action == "updated"
    assert k.delete(cm(name="old")) is True
    writes = client.writes()
    assert len(writes) >= 3
    assert all(kw.get("dry_run") == "All" for m, kw in writes)
    assert set(k for k in client.store) == {("v1", "ConfigMap", "demo", "old")}
    assert client.store[("v1", "ConfigMap", "demo", "old")]["data"] == {"a": "1"}


def test_check_mode_skips_waits():
    k, client, slept = make(check_mode=True)
    assert waiter.wait(k, "apps/v1", "Deployment", "x", "demo", timeout=5) is None
    assert client.calls == []


def test_apply_all_reads_live_state_with_one_list_per_kind_and_namespace():
    objs = [cm(name="c%d" % i) for i in range(7)]
    k, client, dummy = make(objs[:3])
    results = k.apply_all(objs)
    assert [r[1] for r in results] == ["unchanged"] * 3 + ["created"] * 4
    reads = [m for m, kw in client.calls if m == "get"]
    assert reads == ["get"]


def test_plan_is_all_or_nothing():
    k, client, dummy = make([cm(name="a")])
    # discovery, one list, dry runs: a ok, b refused, c ok
    client.fail(None, None, None, api_error(422, "Unprocessable Entity", "spec.weight: Invalid value"))
    with pytest.raises(ApiError) as info:
        k.apply_all([cm(name="a", data={"a": "2"}), cm(name="b"), cm(name="c")])
    assert "1 of 3 objects would be refused by the API server; nothing was written" in info.value.msg
    assert "ConfigMap demo/b" in info.value.msg and "spec.weight: Invalid value" in info.value.msg
    assert [kw for m, kw in client.writes() if kw.get("dry_run") != "All"] == []
    assert client.store[("v1", "ConfigMap", "demo", "a")]["data"] == {"a": "1"}


def test_plan_assumes_pending_objects_absent_without_asking():
    k, client, dummy = make()
    obj = cm(name="later", namespace="new-ns")
    changes = k.plan([obj], assume_absent={k.key(obj)})
    assert changes[0].action == "created" and changes[0].before is None
    assert client.calls == []


def test_list_follows_pagination():
    k, client, dummy = make([cm(name="c%02d" % i) for i in range(5)])
    items = k.list("v1", "ConfigMap", namespace="demo", page_size=2)
    assert [i["metadata"]["name"] for i in items] == ["c00", "c01", "c02", "c03", "c04"]
    assert len([m for m, kw in client.calls if m == "get"]) == 3


def test_get_missing_is_none():
    k = make()[0]
    assert k.get("v1", "ConfigMap", "nope", "demo") is None


def test_transient_error_is_retried_then_succeeds():
    k, client, slept = make()
    client.fail(None, api_error(503, "Service Unavailable"), ConnectionResetError(104, "reset"))
    assert k.apply(cm()).action == "created"
    assert len(slept) == 2
    assert k.calls["retries"] == 2


def test_transient_error_gives_up_after_the_bound_naming_the_object():
    k, client, slept = make()
    client.fail(None, *[api_error(503, "Service Unavailable")] * 5)
    with pytest.raises(ApiError) as info:
        k.apply(cm(name="web", namespace="shop"))
    assert info.value.status == 503
    assert "ConfigMap shop/web" in info.value.msg
    assert len([m for m, kw in client.calls if m == "get"]) == 3


def test_connection_reset_gives_up_after_the_bound():
    k, client, slept = make()
    client.fail(None, *[ConnectionResetError(104, "Connection reset by peer")] * 5)
    with pytest.raises(ApiError) as info:
        k.get("v1", "ConfigMap", "web", "shop")
    assert "cannot be reached" in info.value.msg and "ConfigMap shop/web" in info.value.msg
    assert len(slept) == 2


@pytest.mark.parametrize("status,reason", [(409, "Conflict"), (422, "Unprocessable Entity")])
def test_conflict_and_invalid_are_not_retried(status, reason):
    k, client, slept = make()
    client.fail(None, None, api_error(status, reason, "admission webhook denied the request"))
    with pytest.raises(ApiError) as info:
        k.apply(cm(name="web", namespace="shop"))
    assert info.value.status == status
    assert slept == []
    assert "ConfigMap shop/web" in info.value.msg
    assert "admission webhook denied the request" in info.value.msg
    if status == 409:
        assert "force_conflicts" in info.value.msg


def test_forbidden_names_object_and_server_message():
    k, client, dummy = make()
    client.fail(None, api_error(403, "Forbidden", 'configmaps "web" is forbidden: User "bob" cannot get'))
    with pytest.raises(ApiError) as info:
        k.get("v1", "ConfigMap", "web", "shop")
    assert info.value.msg.startswith("Could not read ConfigMap shop/web: HTTP 403 Forbidden")
    assert "cannot get" in info.value.msg


def test_cluster_scoped_objects_are_named_without_namespace():
    k, client, dummy = make()
    client.fail(None, api_error(422, "Unprocessable Entity", "bad"))
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}
    with pytest.raises(ApiError) as info:
        k.apply(ns)
    assert "Namespace shop:" in info.value.msg


def test_delete_missing_is_false():
    k = make()[0]
    assert k.delete(cm()) is False


def deployment(ready):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "generation": 2},
            "spec": {"replicas": 2},
            "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2,
                       "readyReplicas": ready, "availableReplicas": ready}}


def test_wait_returns_when_ready():
    clock = Clock()
    client = FakeClient([deployment(2)])
    k = kube.Kube(FakeModule(), client=client, sleep=clock.sleep, clock=clock)
    assert waiter.wait(k, "apps/v1", "Deployment", "web", "shop", timeout=10)["metadata"]["name"] == "web"


def test_wait_timeout_reports_the_state_reached():
    clock = Clock()
    client = FakeClient([deployment(1)])
    k = kube.Kube(FakeModule(), client=client, sleep=clock.sleep, clock=clock)
    with pytest.raises(WaitTimeout) as info:
        waiter.wait(k, "apps/v1", "Deployment", "web", "shop", timeout=10)
    assert "Deployment shop/web" in info.value.msg
    assert "readyReplicas=1" in info.value.msg
    assert info.value.result["object"]["status"]["readyReplicas"] == 1
    assert 10 <= clock.now < 12


@pytest.mark.parametrize("obj,ready", [
    (deployment(2), True),
    (deployment(1), False),
    ({"kind": "CustomResourceDefinition", "status": {"conditions": [{"type": "Established", "status": "True"}]}}, True),
    ({"kind": "CustomResourceDefinition", "status": {}}, False),
    ({"kind": "ConfigMap"}, True),
])
def test_is_ready(obj, ready):
    assert waiter.is_ready(obj) is ready


def test_argument_spec_is_kubernetes_core_auth_plus_own():
    spec = module.argument_spec(name=dict(type="str"))
    for option in ("kubeconfig", "context", "host", "api_key", "validate_certs", "ca_cert",
                   "client_cert", "client_key", "proxy", "name"):
        assert option in spec
    assert spec["api_key"]["no_log"] is True


def test_run_module_has_one_failure_path_with_partial_result(monkeypatch, capsys):
    def runner(module, k):
        raise WaitTimeout("Timed out waiting for Deployment shop/web", result={"object": {"x": 1}})

    with patch_module_args({}):
        with pytest.raises(SystemExit):
            module.run_module(module.argument_spec(), runner)
    out = json.loads(capsys.readouterr().out)
    assert out["failed"] is True
    assert out["msg"] == "Timed out waiting for Deployment shop/web"
    assert out["object"] == {"x": 1}
    assert out["changed"] is False


def test_run_module_exits_with_runner_result(capsys):
    with patch_module_args({"api_key": "s3cret-token"}):
        with pytest.raises(SystemExit):
            module.run_module(module.argument_spec(), lambda module, k: {"changed": True, "token": "s3cret-token"})
    out = capsys.readouterr().out
    assert "s3cret-token" not in out
    assert json.loads(out)["changed"] is True


def _namespace_gone(ns):
    return api_error(404, "Not Found", 'namespaces "{0}" not found'.format(ns))


def test_check_mode_plans_objects_of_a_namespace_not_created_yet_as_created_and_warns():
    k, client, dummy = make(check_mode=True)
    # discovery, one list (two objects in "later"), then the two dry runs fail: the namespace does not exist yet
    client.fail(None, None, _namespace_gone("later"), _namespace_gone("later"))
    changes = k.plan([cm(name="a", namespace="later"), cm(name="b", namespace="later")])
    assert [(c.action, c.before) for c in changes] == [("created", None), ("created", None)]
    assert k.module.warnings == ['check mode: namespace later does not exist yet; its objects are reported as '
                                 'created without a server-side dry run']
    assert [kw for m, kw in client.writes() if kw.get("dry_run") != "All"] == []


def test_outside_check_mode_a_missing_namespace_is_refused():
    k, client, dummy = make()
    client.fail(None, None, _namespace_gone("later"))  # discovery, the GET of the lone object, its dry run
    with pytest.raises(ApiError) as info:
        k.plan([cm(name="a", namespace="later")])
    assert 'namespaces "later" not found' in info.value.msg
    assert client.writes() and all(kw.get("dry_run") == "All" for m, kw in client.writes())


def test_check_mode_still_refuses_other_404s():
    k, client, dummy = make(check_mode=True)
    client.fail(None, None, api_error(404, "Not Found", 'namespaces "elsewhere" not found'))
    with pytest.raises(ApiError):
        k.plan([cm(name="a", namespace="later")])
