# -*- coding: utf-8 -*-
"""The one polling loop: growing intervals, the deadline, no deadline."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.meshops.istio.plugins.module_utils import waiter
from ansible_collections.meshops.istio.tests.unit.fakes import Clock


def test_poll_returns_the_first_true_answer_with_growing_intervals():
    clock, answers = Clock(), iter([0, 0, 0, "done"])
    slept = []

    def sleep(seconds):
        slept.append(round(seconds, 3))
        clock.sleep(seconds)

    assert waiter.poll(lambda: next(answers), 10, sleep, clock, interval=0.2, max_interval=0.4) == "done"
    assert slept == [0.2, 0.3, 0.4]


def test_poll_stops_at_the_deadline_with_the_last_answer():
    clock = Clock()
    assert waiter.poll(lambda: [], 5, clock.sleep, clock) == []
    assert clock.now == 5


def test_poll_without_deadline_runs_until_done():
    clock, calls = Clock(), []
    assert waiter.poll(lambda: calls.append(1) or len(calls) > 50, None, clock.sleep, clock)
    assert len(calls) == 51
