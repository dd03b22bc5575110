# -*- coding: utf-8 -*-
"""`make demo`'s two site.yml runs (playbooks/site.yml on inventories/lab), timed: the second must change
nothing and take at most a quarter of the first. Meaningful on a fresh lab (lab/lab.sh reset, then up);
the compose step uses fixed host ports, so on a shared machine run it under the compose lock."""

from __future__ import absolute_import, division, print_function

import json
import os
import subprocess
import sys
import time

from common import ROOT
from scenarios import goal, row

NAME = "demo"


def site(ctx, label):
    binary = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    start = time.monotonic()
    proc = subprocess.run([binary, "-i", os.path.join(ROOT, "inventories", "lab"),
                           os.path.join(ROOT, "playbooks", "site.yml")], cwd=ROOT, env=ctx.env,
                          capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - start
    try:
        out = json.loads(proc.stdout)
    except ValueError:
        raise SystemExit("site.yml ({0}) printed no JSON:\n{1}\n{2}".format(label, proc.stdout[-3000:],
                                                                            proc.stderr[-3000:]))
    if proc.returncode != 0:
        raise SystemExit("site.yml ({0}) failed: {1}".format(label, json.dumps(out["stats"])))
    tasks = sum(len(p["tasks"]) for p in out["plays"])
    changed = sum(s.get("changed", 0) for s in out["stats"].values())
    return elapsed, changed, tasks, out


def durations(out):
    """(seconds, task name) of every task of a run, slowest first, from the JSON callback's timestamps."""
    from datetime import datetime
    found = []
    for play in out["plays"]:
        for task in play["tasks"]:
            span = task["task"].get("duration") or {}
            try:
                start = datetime.fromisoformat(span["start"].replace("Z", "+00:00"))
                end = datetime.fromisoformat(span["end"].replace("Z", "+00:00"))
            except (KeyError, ValueError):
                continue
            found.append((round((end - start).total_seconds(), 2), task["task"]["name"]))
    return sorted(found, reverse=True)


def by_role(tasks):
    """Seconds per role (the task name's prefix) and the number of tasks."""
    out = {}
    for seconds, name in tasks:
        role = name.split(" : ", 1)[0] if " : " in name else "(play)"
        total, count = out.get(role, (0.0, 0))
        out[role] = (round(total + seconds, 2), count + 1)
    return dict(sorted(out.items(), key=lambda kv: -kv[1][0]))


def run(ctx, opts):
    first, changed1, tasks1, out1 = site(ctx, "first run")
    second, changed2, tasks2, out2 = site(ctx, "second run")
    if changed2:
        raise SystemExit("site.yml: the second run changed {0} task(s)".format(changed2))
    return {"objects": None, "description": "make demo: playbooks/site.yml twice on the lab",
            "rows": [row("site.yml, first run ({0} tasks, changed={1})".format(tasks1, changed1), first, "floor"),
                     row("site.yml, second run ({0} tasks, changed=0)".format(tasks2), second, "ours")],
            "goals": [goal("second run", second, 0.25 * first, "0.25 x the first run")],
            "notes": ["seconds and tasks per role, second run: {0}".format(by_role(durations(out2))),
                      "seconds and tasks per role, first run: {0}".format(by_role(durations(out1))),
                      "slowest tasks of the second run: {0}".format(durations(out2)[:8]),
                      "slowest tasks of the first run: {0}".format(durations(out1)[:8])],
            "tasks": {"first": durations(out1), "second": durations(out2)}}
