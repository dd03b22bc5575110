# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""canary_shift's options beyond what the argument spec checks, every problem named by its path and reported at
once before any API call, and the plan of steps: an explicit ``steps`` list or ``step_weight``/``max_weight``.
Durations are seconds (a number) or Istio-style text (``1.5s``, ``500ms``, ``2m``); a step's pause may also be
``manual`` (the rollout waits in phase paused for ``action: resume`` or ``promote``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.meshops.istio.plugins.module_utils import prometheus
from ansible_collections.meshops.istio.plugins.module_utils import validate as v
from ansible_collections.meshops.istio.plugins.module_utils.constants import NO_DATA_POLICIES
from ansible_collections.meshops.istio.plugins.module_utils.rollout import MANUAL

MATCH_KEYS = ("name", "uri", "scheme", "method", "authority", "headers", "port", "sourceLabels", "gateways",
              "queryParams", "ignoreUriCase", "withoutHeaders", "sourceNamespace", "statPrefix")
STRING_MATCH_KEYS = ("exact", "prefix", "regex")
METRIC_LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# Actions that start or continue stepping (and so need a plan of steps).
STEPPING = ("run", "retry")
# The nested options (argument specs, checked by validate.options with every problem named by its path; the
# module's argument spec takes them as plain mappings, its DOCUMENTATION documents them as suboptions).
STEP = {"weight": dict(type="int", required=True), "pause": dict(type="raw", default=0),
        "analysis": dict(type="bool", default=True), "mirror": dict(type="float")}
QUERY = {"name": dict(type="str", required=True), "query": dict(type="str", required=True),
         "min": dict(type="float"), "max": dict(type="float")}
ANALYSIS = {"interval": dict(type="raw", default=10), "window": dict(type="raw", default=60),
            "failure_limit": dict(type="int", default=0), "min_requests": dict(type="int", default=10),
            "on_no_data": dict(type="str", choices=list(NO_DATA_POLICIES), default=NO_DATA_POLICIES[0]),
            "hold_timeout": dict(type="raw", default=300), "min_success_rate": dict(type="float", default=0.99),
            "max_p99_ms": dict(type="float", default=500), "metric_labels": dict(type="dict", default={}),
            "queries": dict(type="list", elements="dict", default=[], options=QUERY)}


def seconds(problems, path, value, manual=False, allow_zero=True):
    """Seconds of a duration (:func:`validate.seconds`: a number >= 0, or text such as 1.5s, 500ms, 2m); MANUAL
    when allowed and given."""
    if manual and value == MANUAL:
        return MANUAL
    return v.seconds(problems, path, value, allow_zero=allow_zero, also="; or manual" if manual else "")


def _string_match(problems, path, value):
    """A header or query value: a string (exact) or {exact|prefix|regex: string}; returns Istio's form."""
    if isinstance(value, str):
        return {"exact": value}
    if v.check_keys(problems, path, value, STRING_MATCH_KEYS):
        if len(value) != 1 or not all(isinstance(x, str) for x in value.values()):
            problems.add(path, "must hold exactly one of exact, prefix or regex, with a string value")
    return value


def matches(problems, path, value):
    """The canary's match rules (Istio's HTTPMatchRequest; a header given as a plain string is an exact match)."""
    out = []
    for mpath, rule in v.mappings(problems, path, value, "match rules (Istio's HTTPMatchRequest)") if value else ():
        if not v.check_keys(problems, mpath, rule, MATCH_KEYS):
            continue
        rule = dict(rule)
        for key in ("headers", "queryParams", "withoutHeaders"):
            if key in rule:
                if not isinstance(rule[key], dict) or not rule[key]:
                    problems.add(v.join(mpath, key), "must be a mapping of names to values")
                    continue
                rule[key] = dict((name, _string_match(problems, "{0}.{1}.{2}".format(mpath, key, name), val))
                                 for name, val in rule[key].items())
        for key in ("uri", "scheme", "method", "authority"):
            if key in rule:
                rule[key] = _string_match(problems, v.join(mpath, key), rule[key])
        if len(rule) == ("name" in rule):
            problems.add(mpath, "matches every request: give headers (or uri, queryParams, ...) to match")
        out.append(rule)
    return out


def plan(problems, params):
    """The steps: ``[{weight, pause, analysis, mirror}]`` from ``steps`` or ``step_weight``/``max_weight``."""
    out = []
    if params.get("steps"):
        for i, given in enumerate(params["steps"]):
            path = "steps[{0}]".format(i)
            step = v.options(problems, path, given, STEP) or {}
            if step.get("weight") is not None:
                v.number(problems, path + ".weight", step["weight"], 0, 100)
            pause = seconds(problems, path + ".pause", step.get("pause"), manual=True) if "pause" in step else None
            if step.get("mirror") is not None:
                v.number(problems, path + ".mirror", step["mirror"], 0, 100, whole=False)
            out.append({"weight": step.get("weight"), "pause": pause, "analysis": step.get("analysis") is not False,
                        "mirror": step.get("mirror") or None})
        return out
    weight, top = params.get("step_weight"), params.get("max_weight") or 100
    if weight is None:
        return out
    if v.number(problems, "step_weight", weight, 1, 100) and v.number(problems, "max_weight", top, weight, 100):
        pause = seconds(problems, "step_pause", params.get("step_pause", 60), manual=True)
        out = [{"weight": w, "pause": pause, "analysis": True, "mirror": None}
               for w in range(weight, top + 1, weight)]
    return out


def analysis(problems, given):
    """The analysis configuration (:data:`ANALYSIS`, its defaults filled in) with durations in seconds."""
    out = v.options(problems, "analysis", given or {}, ANALYSIS) or {}
    for key in ("interval", "window", "hold_timeout"):
        if out.get(key) is not None:
            out[key] = seconds(problems, "analysis." + key, out[key], allow_zero=False)
    for key in ("failure_limit", "min_requests"):
        if out.get(key) is not None:
            v.number(problems, "analysis." + key, out[key], 0)
    if out.get("min_success_rate") is not None:
        v.number(problems, "analysis.min_success_rate", out["min_success_rate"], 0, 1, whole=False)
    if out.get("max_p99_ms") is not None:
        v.number(problems, "analysis.max_p99_ms", out["max_p99_ms"], 0, whole=False)
    for key, value in (out.get("metric_labels") or {}).items():
        if not METRIC_LABEL_RE.match(str(key)) or not isinstance(value, str):
            problems.add("analysis.metric_labels." + str(key), "must be a Prometheus label name with a string value")
    names, raw = set(), (given or {}).get("queries") if isinstance(given, dict) else None
    for i, query in enumerate(out.get("queries") or []):
        path = "analysis.queries[{0}]".format(i)
        if not query:
            continue
        thresholds = dict((k, raw[i].get(k)) for k in ("min", "max")) if isinstance(raw[i], dict) else {}
        if query.get("name") in names:
            problems.add(path + ".name", "{0!r} is given twice".format(query.get("name")))
        names.add(query.get("name"))
        if query.get("name") in ("requests", "success_rate", "p99_ms"):
            problems.add(path + ".name", "{0!r} is a built-in check's name".format(query.get("name")))
        if query.get("query") is not None and not query["query"].strip():
            problems.add(path + ".query", "must be a PromQL expression")
        low, high = query.get("min"), query.get("max")
        if thresholds.get("min") is None and thresholds.get("max") is None:
            problems.add(path, "needs min or max (the threshold it is judged by)")
        elif low is not None and high is not None and low > high:
            problems.add(path, "min {0} is greater than max {1}".format(thresholds["min"], thresholds["max"]))
    out["queries"] = [q for q in out.get("queries") or [] if q]
    out["metric_labels"] = out.get("metric_labels") or {}
    return out


def validate_params(params):
    """Every check on the options alone; returns the normalised configuration."""
    problems = v.Problems()
    v.dns_label(problems, "namespace", params.get("namespace"))
    v.name(problems, "virtual_service", params.get("virtual_service"))
    if params.get("destination_rule") is not None:
        v.name(problems, "destination_rule", params["destination_rule"])
    for key in ("stable_subset", "canary_subset"):
        v.dns_label(problems, key, params.get(key), "subset name")
    if params.get("stable_subset") == params.get("canary_subset"):
        problems.add("canary_subset", "must differ from stable_subset ({0!r})".format(params.get("stable_subset")))
    for key in ("stable_labels", "canary_labels"):
        if params.get(key) is not None:
            v.selector(problems, key, params[key])
    if params.get("stable_labels") and params.get("stable_labels") == params.get("canary_labels"):
        problems.add("canary_labels", "select the same pods as stable_labels")
    action = params.get("action") or "run"
    steps = plan(problems, params)
    if action in STEPPING and not steps and not problems.items:
        problems.add("steps", "give the steps (steps, or step_weight with max_weight) for action {0}".format(action))
    cfg = dict(params)
    cfg.update(action=action, plan=steps, match=matches(problems, "match", params.get("match")),
               analysis=analysis(problems, params.get("analysis")),
               destination_rule=params.get("destination_rule") or params.get("virtual_service"))
    prometheus.check_options(problems, params)
    if any(s["analysis"] for s in steps) and not params.get("prometheus_url") and action not in ("abort", "promote"):
        problems.add("prometheus_url", "is needed: steps run analyses (set analysis: false on every step to "
                                       "shift without metrics)")
    problems.raise_any()
    return cfg
