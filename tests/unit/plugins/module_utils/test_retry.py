# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function

__metaclass__ = type

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
    assert all(0 <= w <= cap for w, cap in zip(waits, caps))
    assert len(set(waits)) > 1


def test_retry_after_header_is_honoured_within_the_cap():
    exc = api_error(429, "Too Many Requests")
    exc.headers = {"Retry-After": "2"}
    fn, state = flaky(exc, "ok")
    slept = []
    retry.call(fn, sleep=slept.append, max_delay=8.0)
    assert slept == [2.0]
