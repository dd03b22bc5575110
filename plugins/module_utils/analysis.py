# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A canary analysis: the PromQL of the built-in checks over Istio's standard request metrics, custom queries,
and one measurement judged against the thresholds.

The canary's series are selected with Istio's standard labels (those Envoy's telemetry, and the lab's proxyless
workloads, export): ``reporter="destination"`` (counted by the canary's side, so every caller is seen),
``destination_service_name`` and ``destination_service_namespace`` (the Service), and
``destination_canonical_revision`` (Istio derives it from the pod label ``service.istio.io/canonical-revision``,
else ``app.kubernetes.io/version``, else ``version``; :func:`canonical_revision` does the same from the canary's
pods). Built-in checks, each over the last ``window``:

* ``requests``: ``sum(increase(istio_requests_total{...}[W]))``: fewer than ``min_requests`` is no data;
* ``success_rate``: the non-5xx share, ``sum(rate(...{..., response_code!~"5.."}[W])) / sum(rate(...[W]))``;
* ``p99_ms``: ``histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{...}[W])))``.

Custom queries may use ``$window``, ``$namespace``, ``$service``, ``$host``, ``$revision`` and ``$selector`` (the
label matchers above, without braces); each must yield one number, judged against its ``min``/``max``.
A measurement is ``pass``, ``fail`` or ``no_data`` (what the rollout's ``on_no_data`` policy decides about); a
Prometheus that cannot be reached, or refuses a query, fails it (never silence).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import string

from ansible_collections.meshops.istio.plugins.module_utils.errors import PrometheusError

REVISION_LABELS = ("service.istio.io/canonical-revision", "app.kubernetes.io/version", "version")
REQUESTS = "sum(increase(istio_requests_total{{{sel}}}[{w}]))"
SUCCESS_RATE = ('sum(rate(istio_requests_total{{{sel},response_code!~"5.."}}[{w}])) / '
                'sum(rate(istio_requests_total{{{sel}}}[{w}]))')
P99 = "histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{{{sel}}}[{w}])))"


def canonical_revision(pod_labels):
    """The canonical revision Istio gives a pod with these labels (``latest`` without any)."""
    for key in REVISION_LABELS:
        if pod_labels.get(key):
            return pod_labels[key]
    return "latest"


def metric_labels(service, namespace, revision, extra=None):
    """The labels that select the canary's series: Istio's standard ones, ``extra`` added or overriding."""
    labels = {"reporter": "destination", "destination_service_name": service,
              "destination_service_namespace": namespace, "destination_canonical_revision": revision}
    labels.update(extra or {})
    return labels


def selector(labels):
    """PromQL label matchers, sorted: ``a="x",b="y"``."""
    return ",".join('{0}="{1}"'.format(k, str(v).replace("\\", "\\\\").replace('"', '\\"'))
                    for k, v in sorted(labels.items()))


def window_text(seconds):
    """A PromQL duration for a window in seconds (whole milliseconds)."""
    ms = int(round(seconds * 1000))
    return "{0}s".format(ms // 1000) if ms % 1000 == 0 else "{0}ms".format(ms)


def queries(labels, window):
    """The built-in PromQL: requests, success_rate, p99_ms."""
    sel, w = selector(labels), window_text(window)
    return {"requests": REQUESTS.format(sel=sel, w=w), "success_rate": SUCCESS_RATE.format(sel=sel, w=w),
            "p99_ms": P99.format(sel=sel, w=w)}


def render(template, values):
    """A custom query with its ``$name`` placeholders filled in (unknown ones left as they are)."""
    return string.Template(template).safe_substitute(values)


def placeholders(labels, window, host):
    return {"window": window_text(window), "namespace": labels.get("destination_service_namespace", ""),
            "service": labels.get("destination_service_name", ""), "host": host,
            "revision": labels.get("destination_canonical_revision", ""), "selector": selector(labels)}


def _fmt(value):
    return "{0:.4g}".format(value)


def measure(prom, config, labels, host):
    """One measurement: a dict with ``result`` (pass, fail, no_data), ``success_rate``, ``p99_ms``, ``requests``,
    ``reason`` and ``queries`` (the custom queries' values by name). ``config`` is the analysis configuration
    (window, min_requests, min_success_rate, max_p99_ms, queries)."""
    window = config["window"]
    builtin = queries(labels, window)
    out = {"result": "pass", "success_rate": None, "p99_ms": None, "requests": None, "reason": None, "queries": {}}
    try:
        requests = prom.value(builtin["requests"])
        out["requests"] = int(round(requests)) if requests is not None else 0
        if out["requests"] < config["min_requests"]:
            out.update(result="no_data", reason="{0} canary requests in the last {1} (min_requests {2})".format(
                out["requests"], window_text(window), config["min_requests"]))
            return out
        failures, silent = [], []
        if config["min_success_rate"]:
            out["success_rate"] = prom.value(builtin["success_rate"])
            if out["success_rate"] is None:
                silent.append("success_rate")
            elif out["success_rate"] < config["min_success_rate"]:
                failures.append("success rate {0} < {1}".format(_fmt(out["success_rate"]),
                                                                _fmt(config["min_success_rate"])))
        if config["max_p99_ms"]:
            out["p99_ms"] = prom.value(builtin["p99_ms"])
            if out["p99_ms"] is None:
                silent.append("p99_ms")
            elif out["p99_ms"] > config["max_p99_ms"]:
                failures.append("p99 {0} ms > {1} ms".format(_fmt(out["p99_ms"]), _fmt(config["max_p99_ms"])))
        values = placeholders(labels, window, host)
        for query in config["queries"]:
            value = prom.value(render(query["query"], values))
            out["queries"][query["name"]] = value
            if value is None:
                silent.append(query["name"])
            elif query.get("min") is not None and value < query["min"]:
                failures.append("{0} {1} < {2}".format(query["name"], _fmt(value), _fmt(query["min"])))
            elif query.get("max") is not None and value > query["max"]:
                failures.append("{0} {1} > {2}".format(query["name"], _fmt(value), _fmt(query["max"])))
    except PrometheusError as exc:
        out.update(result="fail", reason="Prometheus: " + exc.msg)
        return out
    if failures:
        out.update(result="fail", reason="; ".join(failures))
    elif silent:
        out.update(result="no_data", reason="no value for {0}".format(", ".join(silent)))
    return out
