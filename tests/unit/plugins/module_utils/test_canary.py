# -*- coding: utf-8 -*-
"""The canary_shift runner over the fake API server with a fake Prometheus and a fake clock: promotion step by step
with header routes always ahead, rollback at the first failed analysis (routes and subsets exactly as before), the
no-data policies, Prometheus unreachable, failure_limit, resuming at the recorded step, manual pauses, promote and
abort from other runs, check mode, the refusals before any write, subsets written in the order that never routes
to a missing one, finalize, and mesh_traffic leaving a governing rollout alone."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

import pytest

from ansible_collections.meshops.istio.plugins.module_utils import canary, retry, rollout, traffic
from ansible_collections.meshops.istio.plugins.module_utils.constants import CANARY_ANNOTATION, OWNER_LABEL
from ansible_collections.meshops.istio.plugins.module_utils.errors import InputError, MeshError, PrometheusError
from ansible_collections.meshops.istio.plugins.module_utils.kube import Kube
from ansible_collections.meshops.istio.tests.unit.fakes import Clock, FakeClient, FakeModule

NET = "networking.istio.io/v1"
VS_KEY = (NET, "VirtualService", "shop", "users")
DR_KEY = (NET, "DestinationRule", "shop", "users")
START = 1800000000.0


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setattr(retry, "ATTEMPTS", 2)


class Client(FakeClient):
    """The fake API server, also keeping every real (not dry-run) apply's body, and calling ``on_sleep``."""

    def __init__(self, objects=()):
        super(Client, self).__init__(objects)
        self.applied = []

    def server_side_apply(self, res, body=None, name=None, namespace=None, **kwargs):
        out = super(Client, self).server_side_apply(res, body=body, name=name, namespace=namespace, **kwargs)
        if kwargs.get("dry_run") != "All":
            self.applied.append((res.kind, copy.deepcopy(body), kwargs.get("field_manager")))
        return out

    def vs(self):
        return self.store[VS_KEY]

    def dr(self):
        return self.store[DR_KEY]


def pod(name, version, ready=True):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "shop", "labels": {
        "app": "users", "version": version}}, "status": {"conditions": [
            {"type": "Ready", "status": "True" if ready else "False"}]}}


HTTP = [{"name": "fault-test", "match": [{"headers": {"x-meshops-fault": {"exact": "abort"}}}],
         "fault": {"abort": {"percentage": {"value": 100}, "httpStatus": 503}},
         "route": [{"destination": {"host": "users", "subset": "stable"}}]},
        {"name": "default", "route": [{"destination": {"host": "users", "subset": "stable"}}], "timeout": "10s"}]
SUBSETS = [{"name": "stable", "labels": {"version": "v1"}}, {"name": "canary", "labels": {"version": "v2"}}]


def cluster(subsets=None, canary_ready=True, http=None):
    return Client([
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "users", "namespace": "shop"},
         "spec": {"selector": {"app": "users"}}},
        pod("users-v1-0", "v1"), pod("users-v2-0", "v2", ready=canary_ready), pod("orders-v1", "v1"),
        {"apiVersion": NET, "kind": "DestinationRule", "metadata": {"name": "users", "namespace": "shop", "labels": {
            OWNER_LABEL: "mesh_traffic"}}, "spec": {"host": "users", "subsets": copy.deepcopy(
                SUBSETS if subsets is None else subsets)}},
        {"apiVersion": NET, "kind": "VirtualService", "metadata": {"name": "users", "namespace": "shop", "labels": {
            OWNER_LABEL: "mesh_traffic"}}, "spec": {"hosts": ["users"], "http": copy.deepcopy(http or HTTP)}},
    ])


class Prom:
    """Prometheus's stand-in: answers by the query's kind; ``answers`` may be a list (one per measurement)."""

    def __init__(self, requests=100.0, success=1.0, p99=12.0, error=None):
        self.requests, self.success, self.p99, self.error = requests, success, p99, error
        self.queries = []

    def pick(self, value):
        if isinstance(value, list):
            return value.pop(0) if len(value) > 1 else value[0]
        return value

    def value(self, query):
        self.queries.append(query)
        if self.error:
            raise PrometheusError(self.error, reachable=False)
        if query.startswith("sum(increase("):
            return self.pick(self.requests)
        if query.startswith("histogram_quantile"):
            return self.pick(self.p99)
        if 'response_code!~"5.."' in query:
            return self.pick(self.success)
        return 1.0


def params(**kw):
    out = dict(namespace="shop", virtual_service="users", route=None, destination_rule=None, stable_subset="stable",
               canary_subset="canary", stable_labels=None, canary_labels=None, release=None, action="run",
               steps=[{"weight": 10, "pause": 5, "analysis": True, "mirror": None},
                      {"weight": 50, "pause": 5, "analysis": True, "mirror": None},
                      {"weight": 100, "pause": 5, "analysis": True, "mirror": None}],
               step_weight=None, max_weight=100, step_pause=60, match=[{"headers": {"x-canary-user": "true"}}],
               keep_header_routes=False, finalize=False, prometheus_url="http://prom:9090",
               analysis={"interval": 1, "window": 3, "failure_limit": 0, "min_requests": 10, "on_no_data": "fail",
                         "hold_timeout": 300, "min_success_rate": 0.99, "max_p99_ms": 500, "metric_labels": {},
                         "queries": []})
    analysis = kw.pop("analysis", {})
    out.update(kw)
    out["analysis"] = dict(out["analysis"], **analysis)
    return out


def run(p, client, prom=None, clock=None, check_mode=False, diff=False, on_sleep=None):
    clock = clock or Clock()
    if clock.now == 0.0:
        clock.now = START
    module = FakeModule(check_mode=check_mode, diff=diff)
    module.params = p

    def sleep(seconds):
        clock.sleep(seconds)
        if on_sleep:
            on_sleep(clock)
    return canary.run(module, Kube(module, client=client, sleep=sleep, clock=clock), prometheus=prom or Prom(),
                      now=clock), module


def weights(vs_spec, name="default"):
    route = [r for r in vs_spec["http"] if r.get("name") == name][0]
    return [(d["destination"]["subset"], d.get("weight")) for d in route["route"]]


def names(vs_spec):
    return [r.get("name") for r in vs_spec["http"]]


def test_a_healthy_canary_is_promoted_step_by_step_with_the_header_route_always_ahead():
    client, clock = cluster(), Clock()
    before_dr = copy.deepcopy(client.dr())
    out, dummy = run(params(), client, clock=clock)
    assert out["phase"] == "promoted" and out["changed"]
    assert [t["result"] for t in out["timeline"]] == ["pass"] * 3
    assert [t["weight"] for t in out["timeline"]] == [10, 50, 100]
    assert out["timeline"][0]["success_rate"] == 1.0 and out["timeline"][0]["requests"] == 100
    vs_writes = [body for kind, body, manager in client.applied if kind == "VirtualService"]
    assert [weights(b["spec"]) for b in vs_writes] == [
        [("stable", 90), ("canary", 10)], [("stable", 50), ("canary", 50)], [("stable", 0), ("canary", 100)],
        [("stable", 0), ("canary", 100)]]
    # the header route comes right before the weighted route at every step, and goes at the end
    assert [names(b["spec"]) for b in vs_writes[:3]] == [["fault-test", "default-canary", "default"]] * 3
    assert names(vs_writes[3]["spec"]) == ["fault-test", "default"]
    header = vs_writes[0]["spec"]["http"][1]
    assert header["match"] == [{"headers": {"x-canary-user": {"exact": "true"}}}]
    assert header["route"] == [{"destination": {"host": "users", "subset": "canary"}}] and header["timeout"] == "10s"
    assert all(manager == "meshops-canary" for dummy, dummy2, manager in client.applied)
    assert client.dr() == before_dr  # subsets given by the DestinationRule: never written
    assert clock.now - START >= 15  # three pauses of 5 s
    state = rollout.read_state(client.vs())
    assert state["phase"] == "promoted" and state["step"] == 2 and state["release"] == "canary: version=v2"
    assert state["metric_labels"] == {"reporter": "destination", "destination_service_name": "users",
                                      "destination_service_namespace": "shop", "destination_canonical_revision": "v2"}
    # a rerun after completion writes nothing
    client.applied[:] = []
    again, dummy = run(params(), client)
    assert not again["changed"] and client.applied == [] and again["phase"] == "promoted"
    assert "nothing to do" in again["message"]


def test_a_failing_canary_is_rolled_back_at_the_first_analysis():
    client = cluster()
    before_vs, before_dr = copy.deepcopy(client.vs()), copy.deepcopy(client.dr())
    with pytest.raises(MeshError) as err:
        run(params(), client, prom=Prom(success=0.7))
    out = err.value.result
    assert out["phase"] == "rolled_back" and out["changed"]
    assert "success rate 0.7 < 0.99" in err.value.msg
    assert [(t["step"], t["result"]) for t in out["timeline"]] == [(0, "fail")]
    assert client.vs()["spec"] == before_vs["spec"]  # 100% stable as before, the header route gone
    assert client.dr() == before_dr  # never touched: byte for byte, resourceVersion too
    # a rerun does not start it again
    client.applied[:] = []
    with pytest.raises(MeshError) as err:
        run(params(), client)
    assert not err.value.result["changed"] and client.applied == []
    assert "rolled back" in err.value.msg


def test_no_data_fails_closed():
    client = cluster()
    with pytest.raises(MeshError) as err:
        run(params(), client, prom=Prom(requests=0.0))
    out = err.value.result
    assert out["phase"] == "rolled_back"
    assert out["timeline"][0]["result"] == "no_data" and "0 canary requests" in out["timeline"][0]["reason"]
    assert "fail closed" in err.value.msg


def test_hold_waits_for_data_then_fails_at_the_deadline():
    client, clock = cluster(), Clock()
    with pytest.raises(MeshError) as err:
        run(params(analysis={"on_no_data": "hold", "hold_timeout": 4, "interval": 1}), client, clock=clock,
            prom=Prom(requests=0.0))
    out = err.value.result
    held = [t for t in out["timeline"] if t["step"] == 0]
    assert len(held) == 5 and all(t["result"] == "no_data" for t in held)
    assert "no data for hold_timeout (4s)" in held[-1]["reason"]
    assert 5 + 4 <= clock.now - START < 5 + 4 + 1.5


def test_hold_goes_on_when_data_comes():
    client = cluster()
    out, dummy = run(params(analysis={"on_no_data": "hold", "hold_timeout": 10}), client,
                     prom=Prom(requests=[0.0, 0.0, 50.0]))
    assert out["phase"] == "promoted"
    assert [t["result"] for t in out["timeline"]] == ["no_data", "no_data", "pass", "pass", "pass"]


def test_skip_promotes_on_silence_and_says_so():
    out, dummy = run(params(analysis={"on_no_data": "skip"}), cluster(), prom=Prom(requests=0.0))
    assert out["phase"] == "promoted" and [t["result"] for t in out["timeline"]] == ["skipped"] * 3


def test_prometheus_unreachable_rolls_back():
    with pytest.raises(MeshError) as err:
        run(params(analysis={"on_no_data": "skip"}), cluster(),
            prom=Prom(error="Prometheus at http://prom:9090 cannot be reached"))
    assert err.value.result["phase"] == "rolled_back"
    assert err.value.result["timeline"][0]["reason"].startswith("Prometheus: Prometheus at http://prom:9090 cannot")


def test_failure_limit_tolerates_failed_measurements_and_repeats_them():
    out, dummy = run(params(analysis={"failure_limit": 1}), cluster(), prom=Prom(success=[0.5, 1.0]))
    assert out["phase"] == "promoted"
    assert [(t["step"], t["result"]) for t in out["timeline"]] == [(0, "fail"), (0, "pass"), (1, "pass"), (2, "pass")]
    assert out["state"]["failures"] == 1


def interrupted(client, clock, step, started_ago):
    """The state an interrupted run left: at ``step``, its weights written ``started_ago`` seconds ago."""
    run(params(steps=[{"weight": 10, "pause": "manual", "analysis": False, "mirror": None}]), client, clock=clock)
    state = rollout.read_state(client.vs())
    steps = params()["steps"]
    state.update(phase="progressing", step=step, steps=steps,
                 step_started=rollout.rfc3339(clock.now - started_ago),
                 history=[{"step": s, "weight": steps[s]["weight"], "at": "x", "result": "pass"} for s in range(step)])
    client.vs()["metadata"]["annotations"][CANARY_ANNOTATION] = rollout.encode(state)
    return state


def test_a_rerun_resumes_an_interrupted_rollout_at_its_recorded_step_and_waits_only_the_rest():
    client, clock = cluster(), Clock()
    interrupted(client, clock, step=1, started_ago=2)
    client.applied[:] = []
    t0 = clock.now
    out, dummy = run(params(), client, clock=clock)
    assert out["phase"] == "promoted" and out["resumed_from"] == 1
    assert [t["step"] for t in out["timeline"]] == [0, 1, 2]  # step 0 not run again
    writes = [weights(b["spec"]) for k, b, m in client.applied if k == "VirtualService"]
    assert writes[0] == [("stable", 0), ("canary", 100)]  # the first write is step 2's
    assert 3 + 5 <= clock.now - t0 < 3 + 5 + 0.5  # 3 s left of step 1's pause, then step 2's 5 s
    assert out["state"]["resumes"][-1]["step"] == 1


def test_a_manual_pause_waits_for_resume():
    client = cluster()
    steps = [{"weight": 20, "pause": "manual", "analysis": True, "mirror": None},
             {"weight": 100, "pause": 0, "analysis": False, "mirror": None}]
    out, dummy = run(params(steps=steps), client)
    assert out["phase"] == "paused" and out["changed"] and weights(client.vs()["spec"])[1] == ("canary", 20)
    client.applied[:] = []
    again, dummy = run(params(steps=steps), client)
    assert not again["changed"] and again["phase"] == "paused" and "resume" in again["message"]
    done, dummy = run(params(steps=steps, action="resume"), client)
    assert done["phase"] == "promoted" and [t["result"] for t in done["timeline"]] == ["pass"]


def test_promote_and_abort_act_on_a_rollout_in_progress():
    client = cluster()
    steps = [{"weight": 20, "pause": "manual", "analysis": True, "mirror": None},
             {"weight": 60, "pause": 0, "analysis": True, "mirror": None}]
    run(params(steps=steps), client)
    out, dummy = run(params(action="promote"), client)
    assert out["phase"] == "promoted" and "remaining steps skipped" in out["message"]
    assert weights(client.vs()["spec"]) == [("stable", 0), ("canary", 100)] and out["timeline"] == []

    client = cluster()
    run(params(steps=steps), client)
    out, dummy = run(params(action="abort"), client)
    assert out["phase"] == "aborted" and client.vs()["spec"]["http"] == HTTP
    out, dummy = run(params(action="abort"), client)
    assert not out["changed"] and "nothing to abort" in out["message"]
    with pytest.raises(MeshError):
        run(params(steps=steps), client)  # an aborted release is not restarted by run...
    out, dummy = run(params(steps=steps, action="retry"), client)  # ...but by retry
    assert out["phase"] == "paused"


def test_another_jobs_abort_stops_a_running_rollout_within_the_poll():
    client = cluster()

    def abort_meanwhile(clock):
        state = rollout.read_state(client.vs())
        if clock.now - START > 6 and state["phase"] == "progressing":
            state = rollout.ended(state, "aborted", "by another job", clock.now)
            client.vs()["metadata"]["annotations"][CANARY_ANNOTATION] = rollout.encode(state)
    with pytest.raises(MeshError) as err:
        run(params(steps=[{"weight": 10, "pause": 30, "analysis": True, "mirror": None}]), client,
            on_sleep=abort_meanwhile)
    assert "another run changed the rollout" in err.value.msg and err.value.result["phase"] == "aborted"


def test_check_mode_prints_the_plan_and_writes_nothing():
    client = cluster()
    before = copy.deepcopy(client.store)
    out, dummy = run(params(step_weight=25, steps=None, step_pause="30s"), client, check_mode=True)
    assert out["changed"] and client.store == before and client.applied == []
    assert [(p["stable_weight"], p["canary_weight"], p["pause"]) for p in out["plan"]] == [
        (75, 25, 30.0), (50, 50, 30.0), (25, 75, 30.0), (0, 100, 30.0)]
    assert out["message"].startswith("check mode: started")


@pytest.mark.parametrize("client, kw, expected", [
    (lambda: cluster(subsets=SUBSETS[:1]), {}, "canary_labels: DestinationRule shop/users has no subset 'canary'"),
    (lambda: cluster(canary_ready=False), {}, "canary_subset: subset 'canary' ({'version': 'v2'}) selects no Ready pod"),
    (cluster, {"route": "missing"}, "has no HTTP route named 'missing'"),
    (cluster, {"stable_subset": "v1"}, "stable_subset: route 'default' sends nothing to subset 'v1'"),
    (lambda: cluster(http=HTTP + [{"name": "default-canary", "match": [{"uri": {"prefix": "/"}}],
                                   "route": [{"destination": {"host": "users"}}]}]), {},
     "has a route named 'default-canary' already"),
    (cluster, {"virtual_service": "nope"}, "VirtualService shop/nope does not exist"),
    (cluster, {"destination_rule": "nope"}, "DestinationRule shop/nope (the subsets of the rollout) does not exist"),
])
def test_refusals_before_any_write(client, kw, expected):
    client = client()
    with pytest.raises(InputError) as err:
        run(params(**kw), client)
    assert expected in str(err.value) and client.applied == []


@pytest.mark.parametrize("kw, missing", [({"virtual_service": "nope"}, "VirtualService shop/nope"),
                                         ({"destination_rule": "nope"}, "DestinationRule shop/nope")])
def test_a_missing_object_is_named_in_the_failure_result(kw, missing):
    # The canary role tells "step 5 only dry-ran it" (check mode) from a real failure by this field, not the text.
    with pytest.raises(InputError) as err:
        run(params(**kw), cluster(), check_mode=True)
    assert err.value.result == {"missing": missing}


def test_given_canary_labels_add_the_subset_first_and_a_rollback_removes_it_last():
    client = cluster(subsets=SUBSETS[:1])
    before_subsets = copy.deepcopy(client.dr()["spec"]["subsets"])
    with pytest.raises(MeshError):
        run(params(canary_labels={"version": "v2"}), client, prom=Prom(success=0.5))
    kinds = [k for k, b, m in client.applied]
    assert kinds == ["DestinationRule", "VirtualService", "VirtualService", "DestinationRule"]
    assert client.applied[0][1]["spec"]["subsets"][1] == {"name": "canary", "labels": {"version": "v2"}}
    assert client.dr()["spec"]["subsets"] == before_subsets


def test_finalize_moves_the_stable_subset_to_the_canary_labels_and_routes_as_before():
    client = cluster()
    out, dummy = run(params(finalize=True), client)
    assert out["phase"] == "promoted" and out["state"]["finalized"]
    assert client.dr()["spec"]["subsets"][0] == {"name": "stable", "labels": {"version": "v2"}}
    assert client.vs()["spec"]["http"] == HTTP
    kinds = [k for k, b, m in client.applied]
    assert kinds[-2:] == ["DestinationRule", "VirtualService"]  # stable moves while 100% goes to canary


def test_a_mirror_step_mirrors_to_the_canary_only_during_that_step():
    client = cluster()
    steps = [{"weight": 0, "pause": 1, "analysis": False, "mirror": 50.0},
             {"weight": 100, "pause": 0, "analysis": False, "mirror": None}]
    run(params(steps=steps, match=[]), client)
    routes = [b["spec"]["http"][1] for k, b, m in client.applied]
    first, last = routes[0], routes[-1]
    assert first["mirror"] == {"host": "users", "subset": "canary"} and first["mirrorPercentage"] == {"value": 50.0}
    assert weights({"http": [first]}) == [("stable", 100), ("canary", 0)]
    assert "mirror" not in last and names(client.vs()["spec"]) == ["fault-test", "default"]


def traffic_params():
    return dict(owner="mesh_traffic", prune=True, gateways=[], service_entries=[], sidecars=[], rate_limits=[],
                destination_rules=[{"name": "users", "namespace": "shop", "spec": {
                    "host": "users", "subsets": [SUBSETS[0]]}}],
                virtual_services=[{"name": "users", "namespace": "shop", "spec": {"hosts": ["users"],
                                                                                  "http": copy.deepcopy(HTTP)}}])


def run_traffic(client):
    module = FakeModule()
    module.params = traffic_params()
    return traffic.run(module, Kube(module, client=client, sleep=lambda s: None))


def test_mesh_traffic_rerun_leaves_a_governing_rollout_alone():
    client = cluster(subsets=SUBSETS[:1])
    steps = [{"weight": 30, "pause": "manual", "analysis": False, "mirror": None}]
    run(params(steps=steps, canary_labels={"version": "v2"}), client)
    vs_before, dr_before = copy.deepcopy(client.vs()), copy.deepcopy(client.dr())
    client.applied[:] = []
    out = run_traffic(client)
    assert not out["changed"] and client.applied == []
    assert client.vs() == vs_before and client.dr() == dr_before
    assert weights(client.vs()["spec"]) == [("stable", 70), ("canary", 30)]
    # promoted: still governed (the weights stay at 100% canary)
    run(params(steps=steps, action="promote"), client)
    client.applied[:] = []
    assert not run_traffic(client)["changed"]
    # a new rollout of the same route after an abort is the declaration's again
    state = rollout.read_state(client.vs())
    client.vs()["metadata"]["annotations"][CANARY_ANNOTATION] = rollout.encode(dict(state, phase="aborted"))
    assert run_traffic(client)["changed"]
    assert client.vs()["spec"]["http"] == HTTP and client.dr()["spec"]["subsets"] == [SUBSETS[0]]


def test_the_state_is_json_in_the_annotation_and_readable_by_the_report():
    client = cluster()
    run(params(), client)
    text = client.vs()["metadata"]["annotations"][CANARY_ANNOTATION]
    state = json.loads(text)
    assert rollout.encode(state) == text
    for key in ("phase", "route", "stable", "canary", "started", "updated", "step", "steps", "history"):
        assert key in state
    assert set(rollout.timeline(state)[0]) == set(rollout.HISTORY_KEYS)
    assert state["steps"][0] == {"weight": 10, "pause": 5.0, "analysis": True, "mirror": None}
