# -*- coding: utf-8 -*-
"""The canary state on a VirtualService: read back as written, unreadable states ignored."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.meshops.istio.plugins.module_utils import rollout
from ansible_collections.meshops.istio.plugins.module_utils.constants import CANARY_ANNOTATION


def vs(text):
    return {"metadata": {"name": "echo", "annotations": {CANARY_ANNOTATION: text}}}


def test_state_and_timeline_are_read_from_the_annotation():
    state = {"version": 1, "phase": "promoted", "step": 2, "steps": [{"weight": 10}, {"weight": 100}],
             "history": [{"step": 0, "weight": 10, "at": "2026-12-01T20:00:00Z", "result": "pass",
                          "success_rate": 1.0, "p99_ms": 12.5, "requests": 80, "extra": "kept"}]}
    got = rollout.read_state(vs(json.dumps(state)))
    assert got == state
    assert rollout.timeline(got) == [{"step": 0, "weight": 10, "at": "2026-12-01T20:00:00Z", "result": "pass",
                                      "success_rate": 1.0, "p99_ms": 12.5, "requests": 80, "reason": None}]


def test_no_or_unreadable_state_is_none():
    assert rollout.read_state({"metadata": {}}) is None
    assert rollout.read_state(None) is None
    assert rollout.read_state(vs("{not json")) is None
    assert rollout.read_state(vs(json.dumps({"version": 99}))) is None
    assert rollout.timeline(None) == []
