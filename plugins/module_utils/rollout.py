# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A canary rollout's state as it lives on its VirtualService: the one reader (and the shape) for the module
that writes it (canary_shift) and the ones that show it (mtls_verify's report), and the pure transitions the
writer makes.

The annotation :data:`constants.CANARY_ANNOTATION` holds JSON::

    {"version": 1,
     "phase": "progressing" | "paused" | "promoted" | "rolled_back" | "aborted",
     "route": "<http route name>", "stable": "<stable subset>", "canary": "<canary subset>",
     "started": "<RFC 3339>", "updated": "<RFC 3339>",
     "step": <index of the current step in steps>,
     "steps": [{"weight": 10, "mirror": null, "pause": 5, "analysis": true}, ...],
     "history": [{"step": 0, "weight": 10, "at": "<RFC 3339>", "result": "pass" | "fail" | "no_data" | "skipped",
                  "success_rate": 0.998, "p99_ms": 41.5, "requests": 240, "reason": "..."}, ...]}

Fields the writer adds beyond these (readers need not know them):

* ``release``: what is released (the identity of the rollout: a rerun of the same release resumes it, or
  changes nothing once it ended); ``serial``: counts the writes (a run that finds another serial than the one it
  wrote stops: another job promoted or aborted the rollout meanwhile);
* ``host``, ``destination_rule`` and ``destination_rule_namespace``: what is routed and where the subsets live;
  ``canary_labels``: the labels the canary subset selects; ``metric_labels``: the labels of the canary's series;
* ``step_started``: when the current step's weights were written (a resumed run waits only the rest of the
  pause); ``failures``: failed analyses so far (``failure_limit`` counts them across runs);
* ``header_routes``: names of the routes the rollout put ahead of the weighted one; ``original``: the weighted
  route's routing fields before the rollout; ``subsets_before``: the DestinationRule's subsets before the
  rollout changed them (restored on rollback), or null;
* ``finalized`` (promotion moved the stable subset's labels to the canary's), ``reason`` (why it ended),
  ``resumes`` (``{"at", "step"}`` of every run that resumed it) and ``steps[].pause`` ``"manual"`` (the
  rollout waits in phase ``paused`` for ``action: resume`` or ``promote``; ``approved`` is the step index a
  resume approved, so a run interrupted after it does not pause there again).

Steps' pauses are seconds. A rollout in phase progressing, paused or promoted *governs* (:func:`governs`) the
weighted route's routing fields, its header routes and the stable and canary subsets: mesh_traffic keeps those
as they are live (see :mod:`shift`).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import copy
import json
import time

from ansible_collections.meshops.istio.plugins.module_utils.constants import CANARY_ANNOTATION

VERSION = 1
ACTIVE = ("progressing", "paused")
ENDED = ("promoted", "rolled_back", "aborted")
GOVERNING = ACTIVE + ("promoted",)
MANUAL = "manual"
# History entries kept on the object (the annotation must stay small); older ones are dropped.
HISTORY_LIMIT = 200
HISTORY_KEYS = ("step", "weight", "at", "result", "success_rate", "p99_ms", "requests", "reason")


def read_state(virtual_service):
    """The rollout state on a VirtualService (a dict), or None when it carries none or an unreadable one."""
    meta = (virtual_service or {}).get("metadata") or {}
    text = (meta.get("annotations") or {}).get(CANARY_ANNOTATION)
    if not text:
        return None
    try:
        state = json.loads(text)
    except ValueError:
        return None
    if not isinstance(state, dict) or state.get("version") != VERSION:
        return None
    return state


def timeline(state):
    """The analyses of a rollout in order, each with ``step``, ``weight``, ``at``, ``result``, ``success_rate``,
    ``p99_ms``, ``requests`` (None where not measured)."""
    out = []
    for entry in (state or {}).get("history") or []:
        if isinstance(entry, dict):
            out.append(dict((key, entry.get(key)) for key in HISTORY_KEYS))
    return out


def encode(state):
    """The annotation's text: compact JSON, keys sorted (the same state is always the same text)."""
    return json.dumps(state, sort_keys=True, separators=(",", ":"))


def rfc3339(ts):
    """An epoch time as RFC 3339 in UTC, with milliseconds."""
    whole = int(ts)
    return "{0}.{1:03d}Z".format(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)), int((ts - whole) * 1000))


def epoch(text):
    """The epoch time of :func:`rfc3339`'s text (with or without milliseconds), or None."""
    if not isinstance(text, str) or not text.endswith("Z"):
        return None
    main, dummy, frac = text[:-1].partition(".")
    try:
        whole = calendar.timegm(time.strptime(main, "%Y-%m-%dT%H:%M:%S"))
        return whole + (float("0." + frac) if frac else 0.0)
    except ValueError:
        return None


def governs(state):
    """True when the rollout owns the routing of its route and its subsets (progressing, paused or promoted)."""
    return bool(state) and state.get("phase") in GOVERNING


def active(state):
    return bool(state) and state.get("phase") in ACTIVE


def begin(release, target, steps, at, original, subsets_before, metric_labels):
    """A new rollout at step 0 (its weights written at ``at``). ``target`` holds route, stable, canary, host,
    destination_rule, destination_rule_namespace, canary_labels and header_routes."""
    state = {"version": VERSION, "phase": "progressing", "release": release, "serial": 0,
             "started": rfc3339(at), "updated": rfc3339(at), "step": 0, "step_started": rfc3339(at),
             "steps": copy.deepcopy(steps), "history": [], "failures": 0, "original": copy.deepcopy(original),
             "subsets_before": copy.deepcopy(subsets_before), "metric_labels": dict(metric_labels or {}),
             "finalized": False, "reason": None, "resumes": []}
    for key in ("route", "stable", "canary", "host", "destination_rule", "destination_rule_namespace",
                "canary_labels", "header_routes"):
        state[key] = copy.deepcopy(target.get(key))
    return state


def touched(state, at):
    """A copy of ``state`` for the next write: serial counted up, ``updated`` set."""
    out = copy.deepcopy(state)
    out["serial"] = int(out.get("serial") or 0) + 1
    out["updated"] = rfc3339(at)
    return out


def at_step(state, index, at, phase="progressing"):
    """``state`` moved to step ``index`` (its weights written at ``at``)."""
    out = touched(state, at)
    out.update(step=index, step_started=rfc3339(at), phase=phase)
    return out


def paused(state, at):
    out = touched(state, at)
    out["phase"] = "paused"
    return out


def resumed(state, at):
    """A paused rollout continued by ``action: resume``: progressing again, at the same step."""
    out = touched(state, at)
    out["phase"] = "progressing"
    return out


def recorded(state, entry, at, failed=False):
    """``state`` with one analysis entry appended (and the failure counted)."""
    out = touched(state, at)
    out["history"] = (list(out.get("history") or []) + [entry])[-HISTORY_LIMIT:]
    if failed:
        out["failures"] = int(out.get("failures") or 0) + 1
    return out


def ended(state, phase, reason, at, finalized=False):
    out = touched(state, at)
    out.update(phase=phase, reason=reason, finalized=bool(finalized))
    return out


def note_resume(state, at):
    out = copy.deepcopy(state)
    out["resumes"] = (list(out.get("resumes") or []) + [{"at": rfc3339(at), "step": out.get("step")}])[-20:]
    return out


def step_weight(state, index=None):
    """The canary weight of step ``index`` (default the current one)."""
    steps = state.get("steps") or []
    index = state.get("step", 0) if index is None else index
    return steps[index]["weight"] if 0 <= index < len(steps) else None


def pause_left(state, now):
    """Seconds of the current step's pause still to wait (0 when done; MANUAL for a manual pause)."""
    step = (state.get("steps") or [])[state.get("step", 0)]
    pause = step.get("pause") or 0
    if pause == MANUAL:
        return MANUAL
    started = epoch(state.get("step_started"))
    if started is None:
        return pause
    return max(0.0, started + pause - now)


def plan_view(steps):
    """Each step's weights as the plan shows them: step, stable and canary weight, mirror, pause, analysis."""
    out = []
    for i, step in enumerate(steps):
        out.append({"step": i, "stable_weight": 100 - step["weight"], "canary_weight": step["weight"],
                    "mirror": step.get("mirror"), "pause": step.get("pause"), "analysis": step.get("analysis")})
    return out
