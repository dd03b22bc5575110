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
    out.update((k, [round(x, 3) for x in v] if isinstance(v, list) else v) for k, v in extra.items() if v is not None)
    return out


def goal(what, seconds, limit, formula):
    return collections.OrderedDict([("goal", what), ("seconds", round(seconds, 3)), ("limit", round(limit, 3)),
                                    ("formula", formula), ("ratio", round(seconds / limit, 2) if limit else None),
                                    ("met", seconds <= limit)])


def fixed_cost(ctx, rounds=3):
    """The fixed cost of an ansible-playbook run: a play with no task, and one with a single ping task
    (median of ``rounds``)."""
    empty = median([ctx.playbook(None, name="empty")[0] for dummy in range(rounds)])
    ping = median([ping_run(ctx) for dummy in range(rounds)])
    return empty, ping


def ping_run(ctx):
    return ctx.playbook("    - ansible.builtin.ping:\n", name="ping")[0]


K8S_LIST = """    - name: k8s with the list
      kubernetes.core.k8s:
        definition: "{{ objects }}"
        server_side_apply: {field_manager: bench-k8s, force_conflicts: true}
"""
K8S_INFO = """    - name: k8s_info, one list
      kubernetes.core.k8s_info:
        api_version: "{{ api_version }}"
        kind: "{{ kind }}"
        namespace: "{{ namespace }}"
"""
K8S_LOOP = """    - name: k8s, one task per object
      kubernetes.core.k8s:
        definition: "{{ item }}"
        server_side_apply: {field_manager: bench-k8s, force_conflicts: true}
      loop: "{{ objects }}"
"""


def median(values):
    values = sorted(values)
    return values[len(values) // 2]


def many_objects(ctx, opts, label, module, task, build, namespaces):
    """The side-by-side run for a module that writes many objects: ``build(names)`` returns (the module's
    variables, the objects it writes) for fresh namespaces ``names`` (``namespaces`` of them per way). Each way
    is measured ``opts.rounds`` times, in fresh namespaces, interleaved (the median is reported); the loop once."""
    fresh = lambda way, n: ctx.make_namespaces("{0}-{1}{2}".format(label, way, n), namespaces)  # noqa: E731
    times = collections.defaultdict(list)
    calls = {}
    for n in range(opts.rounds):
        dummy, objs = build(fresh("raw1-", n))
        times["serial"].append(ctx.raw.apply(objs, threads=1))
        dummy, objs8 = build(fresh("raw8-", n))
        times["threads"].append(ctx.raw.apply(objs8, opts.threads))
        queries = groups(objs)
        times["noop"].append(ctx.raw.lists(queries))
        variables, dummy = build(fresh("ours-", n))
        first, stats, result = ctx.playbook(task, variables, name=label + "-ours")
        again, stats2, result2 = ctx.playbook(task, variables, name=label + "-ours-rerun")
        if stats2.get("changed"):
            raise SystemExit("{0}: the rerun changed something".format(module))
        times["first"].append(first)
        times["again"].append(again)
        calls = {"first": result.get("api_calls"), "again": result2.get("api_calls")}
        times["ping"].append(ping_run(ctx))
        api_version, kind, namespace = queries[0]
        times["info"].append(ctx.playbook(K8S_INFO, {"api_version": api_version, "kind": kind, "namespace": namespace},
                                          name=label + "-info")[0])
        dummy, kobjs = build(fresh("k8s-", n))
        times["kfirst"].append(ctx.playbook(K8S_LIST, {"objects": kobjs}, name=label + "-k8s")[0])
        kagain, kstats, dummy = ctx.playbook(K8S_LIST, {"objects": kobjs}, name=label + "-k8s-rerun")
        times["kagain"].append(kagain)
    m = dict((k, median(v)) for k, v in times.items())
    count = len(objs)
    empty = ctx.fixed[0]
    ping = median(times["ping"] + [ctx.fixed[1]])
    rows = [row("raw server-side apply, serial (the floor)", m["serial"], "floor", runs=times["serial"]),
            row("raw server-side apply, {0} threads".format(opts.threads), m["threads"], "other",
                runs=times["threads"]),
            row("raw list, one per kind and namespace ({0}: the no-op floor)".format(len(queries)), m["noop"],
                "floor", runs=times["noop"]),
            row("ansible-playbook, no task", empty, "fixed"),
            row("ansible-playbook, one ping task (the fixed cost)", ping, "fixed", runs=times["ping"]),
            row("kubernetes.core.k8s_info, one list (a module on the kubernetes client)", m["info"], "fixed",
                runs=times["info"]),
            row("{0}, first apply".format(module), m["first"], "ours", api_calls=calls["first"], runs=times["first"]),
            row("{0}, no-op rerun".format(module), m["again"], "ours", api_calls=calls["again"], runs=times["again"]),
            row("kubernetes.core.k8s, one task with the list, first apply", m["kfirst"], "other",
                runs=times["kfirst"]),
            row("kubernetes.core.k8s, one task with the list, rerun", m["kagain"], "other", runs=times["kagain"])]
    if opts.loop_sample:
        dummy, lobjs = build(fresh("loop", ""))
        sample = lobjs[:opts.loop_sample]
        looped = ctx.playbook(K8S_LOOP, {"objects": sample}, name=label + "-loop")[0]
        rows.append(row("kubernetes.core.k8s, a loop of one task per object ({0} of {1}, scaled)".format(
            len(sample), count), looped * count / float(len(sample)), "other", measured=round(looped, 3)))
    goals = [goal("first apply", m["first"], m["serial"] + ping, "serial floor + fixed cost"),
             goal("no-op rerun", m["again"], 1.2 * (m["noop"] + ping), "1.2 x (no-op floor + fixed cost)")]
    notes = ["{0} objects; medians of {1} round(s); the rerun sent {2}".format(
        count, opts.rounds, json.dumps(calls["again"], sort_keys=True)),
        "the no-op rerun is {0:.2f}x one kubernetes.core.k8s_info list (the same fixed costs, one list)".format(
            m["again"] / m["info"])]
    return {"objects": count, "rows": rows, "goals": goals, "notes": notes}
