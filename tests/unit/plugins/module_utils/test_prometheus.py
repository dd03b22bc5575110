# -*- coding: utf-8 -*-
"""The Prometheus client: samples out of the query API, retries of transient failures only, every failure
named by URL and query (never the token), silence as None."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import io
import json
import math

import pytest

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import parse_qs, urlparse

from ansible_collections.meshops.istio.plugins.module_utils.errors import PrometheusError
from ansible_collections.meshops.istio.plugins.module_utils.prometheus import ARG_SPEC, Prometheus


class Opener:
    """open_url's stand-in: answers from a list (bytes, or an exception to raise), records each request."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests = []

    def __call__(self, url, headers=None, **kwargs):
        self.requests.append(dict(url=url, headers=dict(headers or {}), **kwargs))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return io.BytesIO(answer)


def vector(*samples):
    return json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": labels, "value": [1700000000.0, value]} for labels, value in samples]}}).encode()


def http_error(code, body=b""):
    return HTTPError("http://prom/api/v1/query", code, "status", {}, io.BytesIO(body))


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def client(opener, **kwargs):
    clock = Clock()
    return Prometheus("http://prom:9090/", opener=opener, sleep=clock.sleep, clock=clock, **kwargs)


def test_query_sends_the_promql_and_returns_labels_and_numbers():
    opener = Opener(vector(({"version": "v1"}, "0.5"), ({"version": "v2"}, "NaN")))
    samples = client(opener).query('sum(rate(istio_requests_total{x="y"}[10s])) by (version)', at=12.5)
    assert samples[0] == ({"version": "v1"}, 0.5) and math.isnan(samples[1][1])
    url = urlparse(opener.requests[0]["url"])
    assert url.path == "/api/v1/query"
    assert parse_qs(url.query) == {"query": ['sum(rate(istio_requests_total{x="y"}[10s])) by (version)'],
                                   "time": ["12.500"]}


def test_value_is_the_one_number_or_none_for_silence():
    assert client(Opener(vector(({}, "0.99")))).value("q") == 0.99
    assert client(Opener(vector())).value("q") is None
    assert client(Opener(vector(({}, "NaN")))).value("q") is None
    scalar = json.dumps({"status": "success", "data": {"resultType": "scalar", "result": [1, "3"]}}).encode()
    assert client(Opener(scalar)).value("q") == 3.0


def test_value_of_several_series_is_an_error_that_says_aggregate():
    with pytest.raises(PrometheusError, match="yields 2 series.*sum"):
        client(Opener(vector(({"a": "1"}, "1"), ({"a": "2"}, "2")))).value("q")


def test_headers_bearer_token_and_tls_options_reach_the_request():
    opener = Opener(vector())
    params = dict((k, v.get("default")) for k, v in ARG_SPEC.items())
    params.update(prometheus_url="https://prom", prometheus_headers={"X-Scope-OrgID": "t1"},
                  prometheus_bearer_token="s3cret", prometheus_ca_path="/ca.pem", prometheus_validate_certs=False)
    Prometheus.from_params(params, opener=opener).query("up")
    req = opener.requests[0]
    assert req["headers"] == {"X-Scope-OrgID": "t1", "Authorization": "Bearer s3cret"}
    assert (req["ca_path"], req["validate_certs"], req["timeout"]) == ("/ca.pem", False, 10)
    assert ARG_SPEC["prometheus_bearer_token"]["no_log"] is True


def test_transient_failures_are_retried_then_answered():
    opener = Opener(URLError(ConnectionRefusedError(111, "refused")), http_error(503), vector(({}, "1")))
    prom = client(opener)
    assert prom.value("q") == 1.0
    assert prom.calls == 3


def test_unreachable_is_reported_within_the_budget_naming_url_and_query_not_the_token():
    prom = client(Opener(URLError(ConnectionRefusedError(111, "Connection refused"))), bearer_token="s3cret",
                  retry_budget=2.0)
    with pytest.raises(PrometheusError) as info:
        prom.value("sum(up)")
    assert info.value.reachable is False
    assert "http://prom:9090 cannot be reached after" in info.value.msg and "'sum(up)'" in info.value.msg
    assert "s3cret" not in info.value.msg
    assert prom.clock() <= 2.0 and prom.calls >= 2


def test_a_refused_query_is_not_retried_and_carries_prometheus_own_error():
    body = json.dumps({"status": "error", "errorType": "bad_data", "error": "parse error at char 5"}).encode()
    prom = client(Opener(http_error(400, body)))
    with pytest.raises(PrometheusError, match=r"refused the query 'sum\(\(': HTTP 400: parse error at char 5") as info:
        prom.query("sum((")
    assert info.value.reachable is True and prom.calls == 1


def test_a_server_error_after_the_budget_counts_as_unreachable():
    prom = client(Opener(http_error(502)), retry_budget=1.0)
    with pytest.raises(PrometheusError, match="failed the query 'up': HTTP 502") as info:
        prom.query("up")
    assert info.value.reachable is False


@pytest.mark.parametrize("raw, why", [
    (b"<html>login</html>", "no usable result"),
    (json.dumps({"status": "error", "error": "boom"}).encode(), "boom"),
    (json.dumps({"status": "success", "data": {"resultType": "matrix", "result": []}}).encode(),
     "not an instant vector"),
])
def test_an_answer_that_is_no_query_result_is_an_error(raw, why):
    with pytest.raises(PrometheusError, match=why) as info:
        client(Opener(raw)).query("up")
    assert info.value.reachable is True
