# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A canary rollout's state as it lives on its VirtualService: the one reader (and the shape) for the module
that writes it (canary_shift) and the ones that show it (mtls_verify's report).

The annotation :data:`constants.CANARY_ANNOTATION` holds JSON::

    {"version": 1,
     "phase": "progressing" | "paused" | "promoted" | "rolled_back" | "aborted",
     "route": "<http route name>", "stable": "<stable subset>", "canary": "<canary subset>",
     "started": "<RFC 3339>", "updated": "<RFC 3339>",
     "step": <index of the current step in steps>,
     "steps": [{"weight": 10, "mirror": null, "pause": 5, "analysis": true}, ...],
     "history": [{"step": 0, "weight": 10, "at": "<RFC 3339>", "result": "pass" | "fail" | "no_data" | "skipped",
                  "success_rate": 0.998, "p99_ms": 41.5, "requests": 240, "reason": "..."}, ...]}

Fields the writer adds beyond these are kept; readers rely only on the ones above.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.meshops.istio.plugins.module_utils.constants import CANARY_ANNOTATION

VERSION = 1


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
            out.append(dict((key, entry.get(key)) for key in
                            ("step", "weight", "at", "result", "success_rate", "p99_ms", "requests", "reason")))
    return out
