# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bounded parallelism: run calls with at most ``limit`` in flight, outcomes in the input's order.

Each call does its own retries (:func:`retry.call` inside it), so one slow or retried call holds one slot
and no more. With ``stop_on_error`` a failure keeps the calls not yet started from starting (those already
in flight finish), as a serial loop would stop at its first failure. ``limit`` 1 runs the calls one after
the other in this thread, with no thread at all.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import threading
from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor

DEFAULT_LIMIT = 8


class Outcome(namedtuple("Outcome", "ran value error")):
    """What became of one call: ``ran`` (False when a failure elsewhere kept it from starting), its return
    ``value``, or the ``error`` it raised."""

    __slots__ = ()


NOT_RUN = Outcome(False, None, None)


def run(calls, limit=DEFAULT_LIMIT, stop_on_error=False):
    """Call every callable of ``calls``, at most ``limit`` at once; returns their :class:`Outcome` in order."""
    calls = list(calls)
    stop = threading.Event()

    def one(call):
        if stop_on_error and stop.is_set():
            return NOT_RUN
        try:
            return Outcome(True, call(), None)
        except Exception as exc:  # pylint: disable=broad-except
            stop.set()
            return Outcome(True, None, exc)

    limit = max(1, int(limit or 1))
    if limit == 1 or len(calls) <= 1:
        return [one(call) for call in calls]
    with ThreadPoolExecutor(max_workers=min(limit, len(calls))) as pool:
        return list(pool.map(one, calls))


def values(outcomes):
    """The values of ``outcomes``; raises the first error in input order."""
    for outcome in outcomes:
        if outcome.error is not None:
            raise outcome.error
    return [o.value for o in outcomes]


def phases(items, phase_of):
    """``items`` grouped by ``phase_of(item)`` (lower first), each group in input order: writes the server
    needs before others (CRDs, then namespaces) go in earlier groups."""
    groups = {}
    for item in items:
        groups.setdefault(phase_of(item), []).append(item)
    return [groups[k] for k in sorted(groups)]
