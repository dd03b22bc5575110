# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Local rate limits: the structured ``rate_limits`` option (``{name, namespace, selector, max_tokens,
tokens_per_fill, fill_interval, status_code, context}``) validated and turned into the EnvoyFilter that
inserts Envoy's ``local_ratelimit`` HTTP filter (the shape of Istio's local rate limit task), so nobody
writes an EnvoyFilter by hand.

The filter goes first in the HTTP connection manager's chain (``INSERT_FIRST``): where Istio's task puts it (its
``INSERT_BEFORE`` names no filter to insert before, which Istio treats as first), said with the absolute operation,
so ``istioctl analyze`` has no relative operation without a priority to warn about (IST0151) and the place does not
depend on the order in which EnvoyFilters are applied."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.meshops.istio.plugins.module_utils import validate as v
from ansible_collections.meshops.istio.plugins.module_utils.constants import NETWORKING_ALPHA, RATE_LIMIT_CONTEXTS

KIND = "EnvoyFilter"
API_VERSION = NETWORKING_ALPHA
LOCAL_RATELIMIT = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"
HCM = "envoy.filters.network.http_connection_manager"
HEADER = "x-local-rate-limit"


def validate_rate_limit(problems, path, item, refs=None):
    v.selector(problems, path + ".selector", item.get("selector"))
    v.number(problems, path + ".max_tokens", item.get("max_tokens"), 1)
    if item.get("tokens_per_fill") is not None:
        v.number(problems, path + ".tokens_per_fill", item["tokens_per_fill"], 1)
    v.duration(problems, path + ".fill_interval", item.get("fill_interval"))
    if item.get("status_code") is not None:
        v.number(problems, path + ".status_code", item["status_code"], 400, 599)
    if item.get("context") is not None:
        v.choice(problems, path + ".context", item["context"], RATE_LIMIT_CONTEXTS)


def _percent(key):
    return {"runtime_key": key, "default_value": {"numerator": 100, "denominator": "HUNDRED"}}


def envoy_filter(item):
    """The EnvoyFilter of one validated rate limit (enabled and enforced for every request)."""
    value = {
        "stat_prefix": "http_local_rate_limiter",
        "token_bucket": {"max_tokens": item["max_tokens"],
                         "tokens_per_fill": item.get("tokens_per_fill") or item["max_tokens"],
                         "fill_interval": item["fill_interval"]},
        "filter_enabled": _percent("local_rate_limit_enabled"),
        "filter_enforced": _percent("local_rate_limit_enforced"),
        "response_headers_to_add": [{"append_action": "OVERWRITE_IF_EXISTS_OR_ADD",
                                     "header": {"key": HEADER, "value": "true"}}],
    }
    if item.get("status_code"):
        value["status"] = {"code": item["status_code"]}
    spec = {"configPatches": [{
        "applyTo": "HTTP_FILTER",
        "match": {"context": item.get("context") or RATE_LIMIT_CONTEXTS[0],
                  "listener": {"filterChain": {"filter": {"name": HCM}}}},
        "patch": {"operation": "INSERT_FIRST", "value": {
            "name": "envoy.filters.http.local_ratelimit",
            "typed_config": {"@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
                             "type_url": LOCAL_RATELIMIT, "value": value}}},
    }]}
    if item.get("selector"):
        spec = dict(workloadSelector={"labels": item["selector"]}, **spec)
    return {"apiVersion": API_VERSION, "kind": KIND,
            "metadata": {"name": item["name"], "namespace": item["namespace"]}, "spec": spec}
