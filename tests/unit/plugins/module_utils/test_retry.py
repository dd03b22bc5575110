# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest
from urllib3.exceptions import MaxRetryError, NewConnectionError, ProtocolError, ReadTimeoutError

from ansible_collections.meshops.istio.plugins.module_utils import retry
from ansible_collections.meshops.istio.tests.unit.fakes import api_error


def flaky(*outcomes):
    """A callable that raises or returns ``outcomes`` in order, counting its calls."""
    state = {"calls": 0}

    def fn():
        state["calls"] += 1
        out = outcomes[min(state["calls"], len(outcomes)) - 1]
        if isinstance(out, Exception):
            raise out
        return out
    return fn, state


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_transient_statuses(status):
    assert retry.is_transient(api_error(status))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 410, 422])
def test_client_errors_are_not_transient(status):
    assert not retry.is_transient(api_error(status))


@pytest.mark.parametrize("exc", [
    ConnectionResetError(104, "Connection reset by peer"),
    ConnectionRefusedError(111, "Connection refused"),
    ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")),
    ReadTimeoutError(None, "/api", "Read timed out."),
    MaxRetryError(None, "/api", NewConnectionError(None, "Connection refused")),
])
def test_network_errors_are_transient(exc):
    assert retry.is_transient(exc)


def test_value_error_is_not_transient():
    assert not retry.is_transient(ValueError("bad"))


def test_retries_then_succeeds():
    fn, state = flaky(api_error(503), ConnectionResetError(104, "reset"), "ok")
    slept = []
    assert retry.call(fn, sleep=slept.append) == "ok"
    assert state["calls"] == 3
    assert len(slept) == 2


@pytest.mark.parametrize("exc", [api_error(503, "Service Unavailable"), ConnectionResetError(104, "reset")])
def test_gives_up_after_the_bound(exc):
    fn, state = flaky(exc)
    slept = []
    with pytest.raises(type(exc)):
        retry.call(fn, attempts=4, sleep=slept.append)
    assert state["calls"] == 4
    assert len(slept) == 3


@pytest.mark.parametrize("status", [409, 422])
def test_conflict_and_invalid_are_not_retried(status):
    fn, state = flaky(api_error(status))
    slept = []
    with pytest.raises(Exception) as info:
        retry.call(fn, sleep=slept.append)
    assert info.value.status == status
    assert state["calls"] == 1
    assert slept == []


def test_backoff_is_bounded_and_jittered():
    waits = list(retry.delays(attempts=8, delay=0.5, backoff=2.0, max_delay=3.0))
    assert len(waits) == 7
    caps = [min(3.0, 0.5 * 2 ** n) for n in range(7)]
    assert all(cap / 2 <= w <= cap for w, cap in zip(waits, caps))
    assert len(set(waits)) > 1


def test_retry_after_header_is_honoured_within_the_cap():
    exc = api_error(429, "Too Many Requests")
    exc.headers = {"Retry-After": "2"}
    fn, state = flaky(exc, "ok")
    slept = []
    retry.call(fn, sleep=slept.append, max_delay=8.0)
    assert slept == [2.0]


class FakeClock:
    """Time that moves only when slept on, or by ``cost`` per call of the retried function."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_retries_ride_out_an_outage_shorter_than_the_budget():
    """An API server down for 15 s (refusing connections), then back: the call succeeds."""
    clock = FakeClock()
    back_at = clock.now + 15.0

    def fn():
        if clock.now < back_at:
            raise MaxRetryError(None, "/api", NewConnectionError(None, "Connection refused"))
        return "ok"
    assert retry.call(fn, sleep=clock.sleep, clock=clock, budget_s=30) == "ok"
    assert 15.0 <= clock.now - 100.0 <= 15.0 + retry.MAX_DELAY


def test_gives_up_when_the_budget_is_spent_and_says_how_long_it_tried():
    clock = FakeClock()
    fn, state = flaky(ConnectionRefusedError(111, "Connection refused"))
    with pytest.raises(ConnectionRefusedError) as info:
        retry.call(fn, sleep=clock.sleep, clock=clock, budget_s=30)
    assert clock.now - 100.0 == pytest.approx(30.0)  # the last wait is cut to the budget left
    tries, spent = info.value.meshops_retries
    assert tries == state["calls"] and tries > 5
    assert spent == pytest.approx(30.0)


def test_time_spent_in_the_tries_counts_against_the_budget():
    clock = FakeClock()
    state = {"calls": 0}

    def slow_failure():  # each try hangs 10 s before its timeout
        state["calls"] += 1
        clock.now += 10.0
        raise ReadTimeoutError(None, "/api", "Read timed out.")
    with pytest.raises(ReadTimeoutError):
        retry.call(slow_failure, sleep=clock.sleep, clock=clock, budget_s=30)
    assert state["calls"] <= 4


def test_waits_grow_to_a_bound():
    waits = list(retry.delays(attempts=20))
    assert max(waits) <= retry.MAX_DELAY
    assert min(waits[-5:]) >= retry.MAX_DELAY / 2


def test_budget_zero_turns_retries_off():
    fn, state = flaky(api_error(503), "ok")
    slept = []
    with pytest.raises(Exception):
        retry.call(fn, sleep=slept.append, budget_s=0)
    assert state["calls"] == 1 and slept == []


def test_retry_after_is_honoured_beyond_the_delay_cap_but_within_the_budget():
    clock = FakeClock()
    exc = api_error(503, "Service Unavailable")
    exc.headers = {"Retry-After": "12"}
    fn, state = flaky(exc, "ok")
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        clock.sleep(seconds)
    assert retry.call(fn, sleep=sleep, clock=clock, budget_s=30) == "ok"
    assert slept == [12.0]
    fn, state = flaky(exc, "ok")
    slept[:] = []
    assert retry.call(fn, sleep=sleep, clock=clock, budget_s=5) == "ok"
    assert slept == [5.0]


def test_budget_from_the_environment(monkeypatch):
    monkeypatch.delenv(retry.BUDGET_ENV, raising=False)
    assert retry.budget() == retry.BUDGET == 30.0
    monkeypatch.setenv(retry.BUDGET_ENV, "90")
    assert retry.budget() == 90.0
    assert retry.budget(5) == 5.0  # an explicit value wins
    monkeypatch.setenv(retry.BUDGET_ENV, "")
    assert retry.budget() == 30.0


@pytest.mark.parametrize("value", ["soon", "-1", "nan"])
def test_a_bad_budget_names_the_variable(monkeypatch, value):
    monkeypatch.setenv(retry.BUDGET_ENV, value)
    with pytest.raises(ValueError) as info:
        retry.budget()
    assert "MESHOPS_RETRY_BUDGET" in str(info.value) and repr(value) in str(info.value)


@pytest.mark.parametrize("text,status", [
    ("Value of unknown type: <class 'urllib3.exceptions.NewConnectionError'>, HTTPSConnection(host='127.0.0.1', "
     "port=16443): Failed to establish a new connection: [Errno 111] Connection refused", None),
    ("Failed to get client due to HTTPSConnectionPool(host='127.0.0.1', port=16443): Max retries exceeded", None),
    ("('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))", None),
    ("Failed to patch object: b'etcdserver: leader changed'", 500),
    ("Failed to create object: Service Unavailable", 503),
    ("Failed to create object: (429) Reason: Too Many Requests", None),
])
def test_transient_messages(text, status):
    assert retry.is_transient_message(text, status)


@pytest.mark.parametrize("text,status", [
    ("Failed to create object: namespaces \"shop\" is forbidden: User cannot create", 403),
    ("Failed to create object: the server could not find the requested resource", 404),
    ("Resource creation timed out", None),
    ("Failed to load resource definition from /x/grafana.yaml", None),
    ("", None),
])
def test_permanent_messages(text, status):
    assert not retry.is_transient_message(text, status)


def test_the_kube_layer_says_how_long_it_tried():
    from ansible_collections.meshops.istio.plugins.module_utils.calls import translate
    clock = FakeClock()
    fn, dummy = flaky(ConnectionRefusedError(111, "Connection refused"))
    with pytest.raises(ConnectionRefusedError) as info:
        retry.call(fn, sleep=clock.sleep, clock=clock, budget_s=10)
    msg = translate(info.value, "apply", "ConfigMap shop/web").msg
    assert "Could not apply ConfigMap shop/web: the Kubernetes API server cannot be reached after " in msg
    assert "tries in 10.0s (retry budget: MESHOPS_RETRY_BUDGET)" in msg


# What the lab's API server (1.34) answers a server-side apply whose body has a field of the wrong type.
TYPED_PATCH = ("failed to create typed patch object (/web; apps/v1, Kind=Deployment): .spec.replicas: expected "
               "numeric (int or float), got string")


@pytest.mark.parametrize("message", [
    TYPED_PATCH,
    "failed to create typed patch object (shop/web; networking.istio.io/v1, Kind=VirtualService): .spec.hosts: "
    "expected list, got &{web}",
    "failed to convert new object (shop/web; /v1, Kind=ConfigMap) to smd typed: .data: expected map, got &{x}",
])
def test_a_500_for_a_malformed_request_is_not_transient(message):
    assert not retry.is_transient(api_error(500, "Internal Server Error", message))
    fn, state = flaky(api_error(500, "Internal Server Error", message), "ok")
    slept = []
    with pytest.raises(Exception) as info:
        retry.call(fn, sleep=slept.append)
    assert info.value.status == 500 and state["calls"] == 1 and slept == []
    assert not hasattr(info.value, "meshops_retries")


@pytest.mark.parametrize("message", [
    "etcdserver: request timed out", "etcdserver: leader changed", "Internal error occurred: resource quota "
    "evaluation timed out", "", "failed to create typed live object (shop/web; /v1, Kind=ConfigMap)",
])
def test_other_500s_stay_transient(message):
    assert retry.is_transient(api_error(500, "Internal Server Error", message))


def test_a_malformed_request_is_told_by_the_body_as_kubernetes_sends_it():
    exc = api_error(500, "Internal Server Error")
    exc.body = json.dumps({"kind": "Status", "code": 500, "message": TYPED_PATCH}).encode()
    assert not retry.is_transient(exc)
    exc.body = "not json: " + TYPED_PATCH
    assert not retry.is_transient(exc)


@pytest.mark.parametrize("status", [500, None])
def test_a_malformed_request_is_permanent_in_a_message_too(status):
    text = "Failed to apply object: b'{\"kind\":\"Status\",\"message\":\"" + TYPED_PATCH + "\",\"code\":500}'"
    assert not retry.is_transient_message(text, status)
    assert retry.is_transient_message("Failed to apply object: etcdserver: request timed out", 500)
