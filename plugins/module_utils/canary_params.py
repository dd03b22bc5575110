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

from ansible_collections.meshops.istio.plugins.module_utils import validate as v
from ansible_collections.meshops.istio.plugins.module_utils.rollout import MANUAL

UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
PART_RE = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)")
MATCH_KEYS = ("name", "uri", "scheme", "method", "authority", "headers", "port", "sourceLabels", "gateways",
              "queryParams", "ignoreUriCase", "withoutHeaders", "sourceNamespace", "statPrefix")
STRING_MATCH_KEYS = ("exact", "prefix", "regex")
METRIC_LABEL_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# Actions that start or continue stepping (and so need a plan of steps).
STEPPING = ("run", "retry")


def seconds(problems, path, value, manual=False):
    """Seconds of a duration (a number >= 0, or text such as 1.5s, 500ms, 2m); MANUAL when allowed and given."""
    if manual and value == MANUAL:
        return MANUAL
    if isinstance(value, bool):
        value = None
    elif isinstance(value, (int, float)) and value >= 0:
        return float(value)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        if re.match(r"^\d+(\.\d+)?$", text):
            return float(text)
        if v.DURATION_RE.match(text):
            return sum(float(n) * UNITS[u] for n, u in PART_RE.findall(text))
    problems.add(path, "{0!r} is not a duration (seconds, or a number with a unit h, m, s or ms such as 1.5s or "
                       "500ms{1})".format(value, "; or manual" if manual else ""))
    return None


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
        for i, step in enumerate(params["steps"]):
            path = "steps[{0}]".format(i)
            v.number(problems, path + ".weight", step.get("weight"), 0, 100)
            pause = seconds(problems, path + ".pause", step.get("pause", 0), manual=True)
            mirror = step.get("mirror")
            if mirror is not None:
                v.number(problems, path + ".mirror", mirror, 0, 100, whole=False)
            out.append({"weight": step.get("weight"), "pause": pause,
                        "analysis": bool(step.get("analysis", True)), "mirror": mirror or None})
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
    """The analysis configuration with durations in seconds."""
    given = dict(given or {})
    out = dict(given)
    for key, default in (("interval", 10), ("window", 60), ("hold_timeout", 300)):
        value = seconds(problems, "analysis." + key, given.get(key, default))
        if value is not None and value <= 0:
            problems.add("analysis." + key, "must be longer than 0")
        out[key] = value
    for key, default in (("failure_limit", 0), ("min_requests", 10)):
        out[key] = given.get(key, default) if given.get(key) is not None else default
        v.number(problems, "analysis." + key, out[key], 0)
    out["min_success_rate"] = given.get("min_success_rate", 0.99)
    v.number(problems, "analysis.min_success_rate", out["min_success_rate"] or 0, 0, 1, whole=False)
    out["max_p99_ms"] = given.get("max_p99_ms", 500)
    v.number(problems, "analysis.max_p99_ms", out["max_p99_ms"] or 0, 0, whole=False)
    out["on_no_data"] = given.get("on_no_data") or "fail"
    labels = given.get("metric_labels") or {}
    for key, value in labels.items():
        if not METRIC_LABEL_RE.match(str(key)) or not isinstance(value, str):
            problems.add("analysis.metric_labels." + str(key), "must be a Prometheus label name with a string value")
    out["metric_labels"] = labels
    names = set()
    for i, query in enumerate(given.get("queries") or []):
        path = "analysis.queries[{0}]".format(i)
        if query.get("name") in names:
            problems.add(path + ".name", "{0!r} is given twice".format(query.get("name")))
        names.add(query.get("name"))
        if query.get("name") in ("requests", "success_rate", "p99_ms"):
            problems.add(path + ".name", "{0!r} is a built-in check's name".format(query.get("name")))
        if not str(query.get("query") or "").strip():
            problems.add(path + ".query", "must be a PromQL expression")
        low, high = query.get("min"), query.get("max")
        if low is None and high is None:
            problems.add(path, "needs min or max (the threshold it is judged by)")
        elif low is not None and high is not None and low > high:
            problems.add(path, "min {0} is greater than max {1}".format(low, high))
    out["queries"] = list(given.get("queries") or [])
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
    if any(s["analysis"] for s in steps) and not params.get("prometheus_url") and action not in ("abort", "promote"):
        problems.add("prometheus_url", "is needed: steps run analyses (set analysis: false on every step to "
                                       "shift without metrics)")
    problems.raise_any()
    return cfg
