# -*- coding: utf-8 -*-
"""The benchmarks bench/run.py runs: each module here has NAME, DESCRIPTION and run(ctx, opts) returning a
dict with ``rows`` (:func:`row`), ``goals`` and ``notes``."""

from __future__ import absolute_import, division, print_function

import collections
import json

from common import groups

SCENARIOS = ("policy", "traffic", "install", "onboard", "demo")
DEFAULT = ("policy", "traffic", "install", "onboard")


def row(what, seconds, kind, **extra):
    """One line of a scenario's table; ``kind`` is floor, fixed, ours or other (what the ratios are against)."""
    out = collections.OrderedDict([("what", what), ("seconds", round(seconds, 3)), ("kind", kind)])
    out.update((k, v) for k, v in extra.items() if v is not None)
    return out


def goal(what, seconds, limit, formula):
    return collections.OrderedDict([("goal", what), ("seconds", round(seconds, 3)), ("limit", round(limit, 3)),
                                    ("formula", formula), ("ratio", round(seconds / limit, 2) if limit else None),
                                    ("met", seconds <= limit)])


def fixed_cost(ctx, rounds=3):
    """The fixed cost of an ansible-playbook run: a play with no task, and one with a single ping task
    (median of ``rounds``)."""
    def median(values):
        values = sorted(values)
        return values[len(values) // 2]
    empty = median([ctx.playbook(None, name="empty")[0] for dummy in range(rounds)])
    ping = median([ctx.playbook("    - ansible.builtin.ping:\n", name="ping")[0] for dummy in range(rounds)])
    return empty, ping


K8S_LIST = """    - name: k8s with the list
      kubernetes.core.k8s:
        definition: "{{ objects }}"
        server_side_apply: {field_manager: bench-k8s, force_conflicts: true}
"""
K8S_LOOP = """    - name: k8s, one task per object
      kubernetes.core.k8s:
        definition: "{{ item }}"
        server_side_apply: {field_manager: bench-k8s, force_conflicts: true}
      loop: "{{ objects }}"
"""


def many_objects(ctx, opts, label, module, task, build, namespaces):
    """The side-by-side run for a module that writes many objects: ``build(names)`` returns (the module's
    variables, the objects it writes) for fresh namespaces ``names`` (``namespaces`` of them per way)."""
    rows, notes = [], []
    fresh = lambda way: ctx.make_namespaces("{0}-{1}".format(label, way), namespaces)  # noqa: E731

    dummy, objs = build(fresh("raw1"))
    serial = ctx.raw.apply(objs, threads=1)
    count = len(objs)
    rows.append(row("raw server-side apply, serial (the floor)", serial, "floor"))
    dummy, objs8 = build(fresh("raw8"))
    rows.append(row("raw server-side apply, {0} threads".format(opts.threads), ctx.raw.apply(objs8, opts.threads),
                    "other"))
    queries = groups(objs)
    noop = ctx.raw.lists(queries)
    rows.append(row("raw list, one per kind and namespace ({0}: the no-op floor)".format(len(queries)), noop, "floor"))
    empty, ping = ctx.fixed
    rows.append(row("ansible-playbook, no task", empty, "fixed"))
    rows.append(row("ansible-playbook, one ping task (the fixed cost)", ping, "fixed"))

    variables, dummy = build(fresh("ours"))
    first, stats, result = ctx.playbook(task, variables, name=label + "-ours")
    again, stats2, result2 = ctx.playbook(task, variables, name=label + "-ours-rerun")
    if stats2.get("changed"):
        raise SystemExit("{0}: the rerun changed something".format(module))
    rows.append(row("{0}, first apply".format(module), first, "ours", api_calls=result.get("api_calls")))
    rows.append(row("{0}, no-op rerun".format(module), again, "ours", api_calls=result2.get("api_calls")))

    dummy, kobjs = build(fresh("k8s"))
    kfirst = ctx.playbook(K8S_LIST, {"objects": kobjs}, name=label + "-k8s")[0]
    kagain, kstats, dummy = ctx.playbook(K8S_LIST, {"objects": kobjs}, name=label + "-k8s-rerun")
    rows.append(row("kubernetes.core.k8s, one task with the list, first apply", kfirst, "other"))
    rows.append(row("kubernetes.core.k8s, one task with the list, rerun", kagain, "other",
                    changed=kstats.get("changed")))
    if opts.loop_sample:
        dummy, lobjs = build(fresh("loop"))
        sample = lobjs[:opts.loop_sample]
        looped = ctx.playbook(K8S_LOOP, {"objects": sample}, name=label + "-loop")[0]
        rows.append(row("kubernetes.core.k8s, a loop of one task per object ({0} of {1}, scaled)".format(
            len(sample), count), looped * count / float(len(sample)), "other", measured=round(looped, 3)))
    goals = [goal("first apply", first, serial + ping, "serial floor + fixed cost"),
             goal("no-op rerun", again, 1.2 * (noop + ping), "1.2 x (no-op floor + fixed cost)")]
    notes.append("{0} objects; the rerun sent {1}".format(count, json.dumps(result2.get("api_calls"), sort_keys=True)))
    return {"objects": count, "rows": rows, "goals": goals, "notes": notes}
