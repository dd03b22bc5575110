# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Prometheus HTTP API client every meshops.istio runner uses (canary analysis, mTLS evidence).

* :data:`ARG_SPEC`: the connection options (``prometheus_url``, headers, bearer token with ``no_log``, CA,
  certificate checking, timeout), documented once in the doc fragment ``meshops.istio.prometheus``;
* :class:`Prometheus`: instant queries (``/api/v1/query``) returning plain samples; transient failures
  (connection refused or reset, timeouts, HTTP 429 and 5xx) retried with :mod:`retry`'s backoff within a
  short budget of its own, so an unreachable Prometheus is reported in seconds, never silently;
* every failure is a :class:`errors.PrometheusError` naming the URL (never the token) and the query;
* :func:`check_options`: the options checked before any request (an http(s) URL, a positive timeout, headers
  of strings), each problem named by its option.

No data is not an error: :meth:`Prometheus.value` returns None for an empty result (or NaN), so callers
decide what silence means.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math
import socket
import time

from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import urlencode, urlparse
from ansible.module_utils.urls import open_url

from ansible_collections.meshops.istio.plugins.module_utils import retry, validate
from ansible_collections.meshops.istio.plugins.module_utils.errors import PrometheusError

# Seconds spent retrying one query at most (the API retry budget is for the control plane's restarts).
RETRY_BUDGET = 5.0

ARG_SPEC = dict(
    prometheus_url=dict(type="str"),
    prometheus_headers=dict(type="dict", default={}),
    prometheus_bearer_token=dict(type="str", no_log=True),
    prometheus_ca_path=dict(type="path"),
    prometheus_validate_certs=dict(type="bool", default=True),
    prometheus_timeout=dict(type="int", default=10),
)


def check_options(problems, params):
    """The ``prometheus_*`` options (:data:`ARG_SPEC`), every problem added to ``problems`` (validate.Problems)."""
    url = params.get("prometheus_url")
    if url:
        parts = urlparse(str(url))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.add("prometheus_url", "{0!r} is not an http:// or https:// URL (for example "
                                           "http://prometheus.istio-system:9090)".format(url))
    if params.get("prometheus_timeout") is not None:
        validate.timeout(problems, "prometheus_timeout", params["prometheus_timeout"])
    for key, value in (params.get("prometheus_headers") or {}).items():
        if not isinstance(value, str):
            problems.add("prometheus_headers." + str(key), "must be a string, not {0!r}".format(value))


class _Transient(Exception):
    """A network failure under a URLError, re-raised so :func:`retry.is_transient` sees it."""

    def __init__(self, reason):
        super(_Transient, self).__init__(to_native(reason))
        self.reason = reason


def _unwrap(exc):
    """The exception :func:`retry.call` should judge: an HTTP status, or the network error itself."""
    if isinstance(exc, HTTPError):
        return exc  # its status (the HTTP code) is what retry judges
    if isinstance(exc, URLError) and isinstance(exc.reason, (ConnectionError, socket.timeout)):
        return exc.reason
    return exc


def _body_error(exc):
    """The ``error`` Prometheus puts in the body of a refused query (HTTP 400/422), when there is one."""
    try:
        return json.loads(exc.read()).get("error")
    except Exception:  # pylint: disable=broad-except
        return None


class Prometheus:
    """Queries one Prometheus. ``opener`` (``open_url``'s signature) and ``sleep``/``clock`` may be injected."""

    def __init__(self, url, headers=None, bearer_token=None, ca_path=None, validate_certs=True, timeout=10,
                 opener=open_url, sleep=time.sleep, clock=time.monotonic, retry_budget=RETRY_BUDGET):
        self.url = (url or "").rstrip("/")
        self.headers = dict(headers or {})
        if bearer_token:
            self.headers["Authorization"] = "Bearer " + bearer_token
        self.ca_path = ca_path
        self.validate_certs = validate_certs
        self.timeout = timeout
        self.opener = opener
        self.sleep = sleep
        self.clock = clock
        self.retry_budget = retry_budget
        self.calls = 0

    @classmethod
    def from_params(cls, params, **kwargs):
        """A client from the module's ``prometheus_*`` options (:data:`ARG_SPEC`)."""
        return cls(params.get("prometheus_url"), headers=params.get("prometheus_headers"),
                   bearer_token=params.get("prometheus_bearer_token"), ca_path=params.get("prometheus_ca_path"),
                   validate_certs=params.get("prometheus_validate_certs", True),
                   timeout=params.get("prometheus_timeout") or 10, **kwargs)

    def _get(self, path, query):
        url = "{0}{1}?{2}".format(self.url, path, urlencode(query))

        def once():
            self.calls += 1
            try:
                response = self.opener(url, headers=self.headers, timeout=self.timeout, ca_path=self.ca_path,
                                       validate_certs=self.validate_certs, method="GET")
                return response.read()
            except (HTTPError, URLError, socket.timeout, ConnectionError) as exc:
                raise _unwrap(exc)

        return retry.call(once, sleep=self.sleep, clock=self.clock, budget_s=self.retry_budget)

    def query(self, promql, at=None):
        """The instant vector of ``promql`` as ``[(labels, value)]`` (a scalar result: ``[({}, value)]``).

        Raises :class:`PrometheusError` when Prometheus cannot be reached, refuses the query, or answers
        something that is not a successful query result.
        """
        params = {"query": promql}
        if at is not None:
            params["time"] = "{0:.3f}".format(at)
        where = "Prometheus at {0}".format(self.url)
        try:
            raw = self._get("/api/v1/query", params)
        except HTTPError as exc:
            detail = _body_error(exc)
            transient = exc.code in retry.TRANSIENT_STATUS
            raise PrometheusError("{0} {1} the query {2!r}: HTTP {3}{4}".format(
                where, "failed" if transient else "refused", promql, exc.code, ": " + detail if detail else ""),
                reachable=not transient)
        except Exception as exc:  # pylint: disable=broad-except
            tries = getattr(exc, "meshops_retries", None)
            raise PrometheusError("{0} cannot be reached{1} ({2}); query {3!r}".format(
                where, " after {0} tries in {1}s".format(*tries) if tries else "", to_native(exc), promql),
                reachable=False)
        try:
            doc = json.loads(raw)
            if doc.get("status") != "success":
                raise ValueError(doc.get("error") or "status {0!r}".format(doc.get("status")))
            data = doc["data"]
            if data.get("resultType") == "scalar":
                return [({}, _number(data["result"][1]))]
            if data.get("resultType") != "vector":
                raise ValueError("result type {0!r}, not an instant vector".format(data.get("resultType")))
            return [(item.get("metric") or {}, _number(item["value"][1])) for item in data.get("result") or []]
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            raise PrometheusError("{0} answered the query {1!r} with no usable result: {2}".format(
                where, promql, to_native(exc)), reachable=True)

    def value(self, promql, at=None):
        """The single number ``promql`` yields, or None when it yields no sample (or NaN: a 0/0 rate).

        With several samples (a query that was not aggregated), raises :class:`PrometheusError`.
        """
        samples = [(labels, v) for labels, v in self.query(promql, at=at) if not math.isnan(v)]
        if not samples:
            return None
        if len(samples) > 1:
            raise PrometheusError("Prometheus at {0}: the query {1!r} yields {2} series, not one number "
                                  "(aggregate it, e.g. with sum())".format(self.url, promql, len(samples)),
                                  reachable=True)
        return samples[0][1]


def _number(text):
    """Prometheus sends sample values as strings ("1.5", "NaN", "+Inf")."""
    return float(text)
