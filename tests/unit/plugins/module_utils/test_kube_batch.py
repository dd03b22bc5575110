# -*- coding: utf-8 -*-
"""Kube.plan / commit / apply_all in batches: reruns that only list, bounded parallelism, CRDs and namespaces
first, results and errors in the input's order, thread-safe call counts, the client's pool size."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import threading
import time

import pytest

from ansible_collections.meshops.istio.plugins.module_utils import batch, calls, kube, retry
from ansible_collections.meshops.istio.plugins.module_utils.errors import ApiError
from ansible_collections.meshops.istio.tests.unit.fakes import FakeClient, FakeModule, FakeResource, api_error, cm


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setattr(retry, "ATTEMPTS", 3)


class SlowClient(FakeClient):
    """A fake server whose writes take a little (random) time, counting how many are in flight at once;
    ``refuse`` names objects whose dry run is refused, ``flaky`` names objects whose first call fails with 503."""

    def __init__(self, objects=(), refuse=(), fail_write=(), flaky=()):
        super(SlowClient, self).__init__(objects)
        self.lock = threading.RLock()
        self.in_flight = 0
        self.most = 0
        self.refuse, self.fail_write, self.flaky = set(refuse), set(fail_write), set(flaky)
        self.order = []

    def record(self, method, **kwargs):
        with self.lock:
            super(SlowClient, self).record(method, **kwargs)

    def server_side_apply(self, res, body=None, name=None, namespace=None, **kwargs):
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
            flaky = name in self.flaky
            self.flaky.discard(name)
        try:
            time.sleep(random.uniform(0.001, 0.01))
            if flaky:
                raise api_error(503, "Service Unavailable")
            dry = kwargs.get("dry_run") == "All"
            if dry and name in self.refuse:
                raise api_error(422, "Unprocessable Entity", "{0} is invalid".format(name))
            if not dry and name in self.fail_write:
                raise api_error(422, "Unprocessable Entity", "quota exceeded by {0}".format(name))
            with self.lock:
                if not dry:
                    self.order.append((res.kind, name))
                return super(SlowClient, self).server_side_apply(res, body=body, name=name, namespace=namespace,
                                                                 **kwargs)
        finally:
            with self.lock:
                self.in_flight -= 1


def make(client, concurrency=None, check_mode=False):
    return kube.Kube(FakeModule(check_mode=check_mode), client=client, sleep=lambda s: None, concurrency=concurrency)


def cms(n, ns="demo"):
    return [cm(name="c%02d" % i, namespace=ns, data={"i": str(i)}) for i in range(n)]


def test_a_rerun_only_lists_and_a_changed_object_is_still_dry_run():
    client = FakeClient()
    k = make(client)
    objs = cms(20) + cms(10, ns="other")
    assert [c.action for c in k.apply_all(objs)] == ["created"] * 30
    again = make(client)
    assert [c.action for c in again.apply_all(objs)] == ["unchanged"] * 30
    assert dict(again.calls) == {"discovery": 1, "list": 2}
    objs[7]["data"]["i"] = "changed"
    third = make(client)
    assert [c.action for c in third.apply_all(objs)].count("updated") == 1
    assert third.calls["apply_dry_run"] == 1 and third.calls["apply"] == 1


def test_objects_created_in_the_same_run_stay_as_given():
    k = make(FakeClient())
    obj = cm(name="later", namespace="new-ns")
    change = k.plan([obj], assume_absent={k.key(obj)}, concurrency=4)[0]
    assert (change.action, change.before, change.after) == ("created", None, obj)


def test_signatures_stay_compatible():
    client = FakeClient()
    k = make(client)
    objs = cms(3)
    changes = k.plan(objs, False, (), None)
    assert [c.action for c in k.commit(changes, False)] == ["created"] * 3
    assert k.apply(cm(name="c00", data={"i": "0"})).action == "unchanged"


@pytest.mark.parametrize("concurrency,most", [(None, 8), (3, 3), (1, 1)])
def test_dry_runs_and_writes_are_bounded(concurrency, most):
    client = SlowClient()
    k = make(client, concurrency=concurrency)
    changes = k.apply_all(cms(40))
    assert client.most == most
    assert [c.obj["metadata"]["name"] for c in changes] == ["c%02d" % i for i in range(40)]
    assert [c.after["data"]["i"] for c in changes] == [str(i) for i in range(40)]
    assert k.calls["apply_dry_run"] == 40 and k.calls["apply"] == 40


def test_the_modules_concurrency_option_is_the_default():
    module = FakeModule()
    module.params = {"concurrency": 2}
    client = SlowClient()
    kube.Kube(module, client=client, sleep=lambda s: None).apply_all(cms(10))
    assert client.most == 2


def test_crds_then_namespaces_then_the_rest():
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "things.example.com"}, "spec": {"group": "example.com"}}
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}}
    objs = cms(12)[:6] + [ns] + cms(12)[6:] + [crd]
    client = SlowClient()
    k = make(client)
    changes = k.commit(k.plan(objs))
    kinds = [kind for kind, dummy in client.order]
    assert kinds[0] == "CustomResourceDefinition" and kinds[1] == "Namespace"
    assert kinds[2:] == ["ConfigMap"] * 12
    assert [c.obj for c in changes] == objs


def test_refusals_are_reported_in_the_inputs_order_and_nothing_is_written():
    client = SlowClient(refuse={"c03", "c17", "c29"})
    k = make(client)
    with pytest.raises(ApiError) as info:
        k.apply_all(cms(30))
    msg = info.value.msg
    assert msg.startswith("3 of 30 objects would be refused by the API server; nothing was written")
    assert msg.index("c03") < msg.index("c17") < msg.index("c29")
    assert info.value.status == 422
    assert client.order == [] and k.calls["apply"] == 0


def test_a_failed_write_stops_further_writes_and_is_named():
    client = SlowClient(fail_write={"c02"})
    k = make(client, concurrency=1)
    with pytest.raises(ApiError) as info:
        k.apply_all(cms(10))
    assert "ConfigMap demo/c02" in info.value.msg and "quota exceeded" in info.value.msg
    assert [n for dummy, n in client.order] == ["c00", "c01"]
    client = SlowClient(fail_write={"c05", "c06"})
    k = make(client, concurrency=4)
    with pytest.raises(ApiError) as info:
        k.apply_all(cms(40))
    # c00-c04 and what was in flight when c05 failed; the writes not started by then never started
    assert len(client.order) <= 10
    if "2 of 40 writes failed" in info.value.msg:
        assert info.value.msg.index("c05") < info.value.msg.index("c06")


def test_every_call_retries_on_its_own_and_counts_are_exact():
    names = ["c%02d" % i for i in range(24)]
    client = SlowClient(flaky=names[::3])
    k = make(client)
    changes = k.apply_all(cms(24))
    assert [c.action for c in changes] == ["created"] * 24
    assert k.calls["retries"] == 8
    assert k.calls["apply_dry_run"] == 24 + 8 and k.calls["apply"] == 24


def test_counts_are_thread_safe():
    counter = calls.Calls(FakeModule())
    batch.run([lambda: [counter.count("get") for dummy in range(500)] for dummy in range(16)], limit=16)
    assert counter.counts["get"] == 8000


def test_batch_keeps_the_order_and_stops_on_error():
    out = batch.run([lambda i=i: (time.sleep(random.uniform(0, 0.005)), i)[1] for i in range(50)], limit=8)
    assert [o.value for o in out] == list(range(50))

    def boom():
        raise ValueError("boom")

    out = batch.run([boom] + [lambda: 1] * 5, limit=1, stop_on_error=True)
    assert isinstance(out[0].error, ValueError) and [o.ran for o in out] == [True] + [False] * 5
    with pytest.raises(ValueError):
        batch.values(out)
    assert batch.phases([3, 1, 2, 0, 5], lambda i: i % 2) == [[2, 0], [3, 1, 5]]


def test_deletes_and_live_reads_go_in_parallel_too():
    objs = cms(12) + [cm(name="solo", namespace="alone")]
    client = SlowClient(objs)
    k = make(client)
    live = k.live_objects(objs)
    assert len(live) == 13 and k.calls["list"] == 1 and k.calls["get"] == 1
    assert k.delete_all(objs + [cm(name="gone")]) == [True] * 13 + [False]


class Pool:
    def __init__(self, size):
        self.connection_pool_kw = {"maxsize": size}
        self.cleared = 0

    def clear(self):
        self.cleared += 1


class Holder:
    def __init__(self, **kw):
        self.__dict__.update(kw)


@pytest.mark.parametrize("size,resized", [(5, True), (8, False), (10, False)])
def test_the_clients_pool_is_sized_for_the_concurrency(size, resized):
    pool = Pool(size)
    client = Holder(client=Holder(rest_client=Holder(pool_manager=pool)))
    assert calls.fit_pool(client, 8) is resized
    assert pool.connection_pool_kw["maxsize"] == max(size, 8)
    assert pool.cleared == (1 if resized else 0)
    assert calls.fit_pool(FakeClient(), 8) is False


def test_check_mode_commits_nothing():
    client = SlowClient()
    k = make(client, check_mode=True)
    assert [c.action for c in k.apply_all(cms(5))] == ["created"] * 5
    assert client.order == [] and client.store == {}


def test_a_kind_the_server_does_not_serve_is_one_of_the_refusals():
    class Unserved(FakeClient):
        def __init__(self):
            super(Unserved, self).__init__()
            outer = self

            class Resources:
                def get(self, api_version, kind):
                    outer.record("discovery", api_version=api_version, kind=kind)
                    if kind == "Thing":
                        raise type("ResourceNotFoundError", (Exception,), {})("no Thing")
                    return FakeResource(api_version, kind)
            self.resources = Resources()

    thing = {"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t", "namespace": "demo"}}
    k = make(Unserved())
    with pytest.raises(ApiError) as info:  # reading the live state says so first
        k.plan(cms(2) + [thing])
    assert "Thing (example.com/v1): the API server does not serve this kind" in info.value.msg
    with pytest.raises(ApiError) as info:  # the live state given: the dry runs say so, with the other refusals
        k.plan(cms(2) + [thing], live={})
    assert info.value.msg.startswith("1 of 3 objects would be refused by the API server; nothing was written")
    assert "does not serve this kind" in info.value.msg
