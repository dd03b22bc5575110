# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The canary_shift runner: a canary rollout on one VirtualService route, gated on Prometheus, its state on
the VirtualService (:mod:`rollout`), its routes and subsets from :mod:`shift`, its analyses from :mod:`analysis`.

1. Validate the options (:mod:`canary_params`); read the VirtualService, its rollout state and the
   DestinationRule; refuse (nothing written) when the route, a subset or a Ready pod of a subset is missing.
2. Start (or resume, or, once ended, change nothing), then per step: write the weights and the state in one
   server-side apply (field manager ``meshops-canary``, :meth:`kube.Kube.plan` then ``commit``), wait the pause
   (polling the state, so an ``abort`` or ``promote`` of another job stops this one), analyse, and go on, roll
   back or promote.
3. Writes that add a subset go DestinationRule first, writes that drop one VirtualService first, so no request
   is ever routed to a subset that does not exist.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.meshops.istio.plugins.module_utils import analysis, canary_target, rollout, shift
from ansible_collections.meshops.istio.plugins.module_utils.canary_params import validate_params
from ansible_collections.meshops.istio.plugins.module_utils.constants import CANARY_ANNOTATION, NETWORKING
from ansible_collections.meshops.istio.plugins.module_utils.errors import InputError, MeshError, ref
from ansible_collections.meshops.istio.plugins.module_utils.kube import Change
from ansible_collections.meshops.istio.plugins.module_utils.module import result
from ansible_collections.meshops.istio.plugins.module_utils.prometheus import Prometheus
from ansible_collections.meshops.istio.plugins.module_utils.routing import fqdn

FIELD_MANAGER = "meshops-canary"
# Seconds between reads of the state during a pause (another job's abort or promote stops this run).
POLL = 5.0


class Superseded(Exception):
    """Another run wrote the rollout state meanwhile (``state`` is what it wrote)."""

    def __init__(self, state):
        super(Superseded, self).__init__("superseded")
        self.state = state


class Rollout:
    def __init__(self, module, kube, cfg, prom, now):
        self.module, self.kube, self.cfg, self.now = module, kube, cfg, now
        self.prom = prom
        self.ns = cfg["namespace"]
        self.changes = []
        self.resumed_from = None
        self.message = None
        self.vs = kube.get(NETWORKING, "VirtualService", cfg["virtual_service"], self.ns)
        if self.vs is None:
            raise InputError("VirtualService {0}/{1} does not exist; nothing was written".format(
                self.ns, cfg["virtual_service"]), result={"missing": ref(
                    kind="VirtualService", name=cfg["virtual_service"], namespace=self.ns)})
        self.state = rollout.read_state(self.vs)
        self.serial = (self.state or {}).get("serial")
        self.http = list((self.vs.get("spec") or {}).get("http") or [])
        self.dr = None

    # -- reads and checks ------------------------------------------------------------------------

    def dr_name(self):
        return (self.state or {}).get("destination_rule") or self.cfg["destination_rule"]

    def load_dr(self):
        if self.dr is None:
            self.dr = self.kube.get(NETWORKING, "DestinationRule", self.dr_name(), self.ns)
            if self.dr is None:
                raise InputError("DestinationRule {0}/{1} (the subsets of the rollout) does not exist; nothing was "
                                 "written".format(self.ns, self.dr_name()), result={"missing": ref(
                                     kind="DestinationRule", name=self.dr_name(), namespace=self.ns)})
        return self.dr

    def subsets(self):
        return list((self.load_dr().get("spec") or {}).get("subsets") or [])

    def release(self):
        if self.cfg.get("release"):
            return self.cfg["release"]
        labels = self.cfg.get("canary_labels") or (shift.subset(self.subsets(), self.cfg["canary_subset"]) or {}).get(
            "labels") or {}
        return "{0}: {1}".format(self.cfg["canary_subset"], ",".join(
            "{0}={1}".format(k, val) for k, val in sorted(labels.items())))

    def target(self):
        return canary_target.target(self.cfg, self.ns, self.http, self.subsets(), self.dr_name(), self.state)

    def pods(self, host, labels):
        """The canary's metric labels; raises InputError when a subset selects no Ready pod."""
        labels, problems = canary_target.ready_pods(self.kube, self.cfg, self.ns, host, labels)
        problems.raise_any()
        return labels

    # -- writes ----------------------------------------------------------------------------------

    def write(self, state, http, subsets=None, dr_first=True):
        """One step of the rollout: the VirtualService's routes and state (and the DestinationRule's subsets)."""
        vs = {"apiVersion": NETWORKING, "kind": "VirtualService", "metadata": {
            "name": self.cfg["virtual_service"], "namespace": self.ns,
            "annotations": {CANARY_ANNOTATION: rollout.encode(state)}}, "spec": {"http": http}}
        objs = [vs]
        if subsets is not None:
            dr = {"apiVersion": NETWORKING, "kind": "DestinationRule", "metadata": {
                "name": state["destination_rule"], "namespace": state["destination_rule_namespace"]},
                "spec": {"subsets": subsets}}
            objs = [dr, vs] if dr_first else [vs, dr]
        planned = self.kube.plan(objs, force_conflicts=True)
        live = [c.before for c in planned if c.obj is vs][0]
        if (rollout.read_state(live) or {}).get("serial") != self.serial:
            raise Superseded(rollout.read_state(live))
        done = self.kube.commit(planned, force_conflicts=True)
        for change in done:
            self.record(change)
        self.state, self.http, self.serial = state, http, state["serial"]
        if subsets is not None and not self.kube.check_mode:
            self.dr = [c.after for c in done if c.obj["kind"] == "DestinationRule"][0]

    def record(self, change):
        for i, seen in enumerate(self.changes):
            if self.kube.key(seen.obj) == self.kube.key(change.obj):
                action = seen.action if seen.action != "unchanged" else change.action
                self.changes[i] = Change(change.obj, action, seen.before, change.after)
                return
        self.changes.append(change)

    def wait(self, seconds):
        """Sleep ``seconds``, reading the state every POLL seconds: another run's write stops this one."""
        deadline = self.kube.clock() + seconds
        while True:
            left = deadline - self.kube.clock()
            if left <= 0:
                return
            self.kube.sleep(min(left, POLL))
            if deadline - self.kube.clock() > 0:
                live = rollout.read_state(self.kube.get(NETWORKING, "VirtualService", self.cfg["virtual_service"],
                                                        self.ns))
                if (live or {}).get("serial") != self.serial:
                    raise Superseded(live)

    # -- the rollout -----------------------------------------------------------------------------

    def start(self):
        target, route, matches, subsets, before, labels = self.target()
        metric_labels = self.pods(target["host"], labels)
        steps = self.cfg["plan"]
        state = rollout.begin(self.release(), target, steps, self.now(), shift.routing(route), before, metric_labels)
        state["serial"] = int(self.serial or 0) + 1
        first = steps[0]
        self.write(state, shift.http_with(self.http, state, shift.weighted(state, first["weight"], first["mirror"]),
                                          matches), subsets=subsets)
        self.message = "started {0}".format(state["release"])
        return self.drive(self.state)

    def matches(self, state):
        dummy, route = shift.find_route(self.http, state["route"])
        return shift.combine_matches((route or {}).get("match"), self.cfg["match"])[0] if self.cfg["match"] else None

    def drive(self, state):
        """Pause, analyse, step on: until promoted, rolled back or paused by a manual step."""
        if self.kube.check_mode:
            return state
        steps = state["steps"]
        while True:
            i = state["step"]
            left = rollout.pause_left(state, self.now())
            if left == rollout.MANUAL:
                if state.get("approved") != i:
                    self.write(rollout.paused(state, self.now()), self.http)
                    self.message = "paused at step {0} (weight {1}): run action resume or promote".format(
                        i, steps[i]["weight"])
                    return self.state
                left = 0
            self.wait(left)
            if steps[i]["analysis"]:
                state, failed = self.analyze(state, i)
                if failed:
                    return self.rollback(state, "rolled_back", failed)
            if i + 1 >= len(steps):
                return self.promote(state, "all {0} steps passed".format(len(steps)))
            nxt = steps[i + 1]
            state = rollout.at_step(state, i + 1, self.now())
            self.write(state, shift.http_with(self.http, state, shift.weighted(state, nxt["weight"], nxt["mirror"]),
                                              self.matches(state)))

    def analyze(self, state, i):
        """Measure until the step passes; returns (state, None) or (state, the reason to roll back)."""
        conf = self.cfg["analysis"]
        if self.prom is None:
            self.prom = Prometheus.from_params(self.module.params)
        deadline = None
        while True:
            m = analysis.measure(self.prom, conf, state.get("metric_labels") or {}, fqdn(state["host"], self.ns))
            entry = dict(step=i, weight=state["steps"][i]["weight"], at=rollout.rfc3339(self.now()),
                         **dict((k, m[k]) for k in ("result", "success_rate", "p99_ms", "requests", "reason")))
            if m["queries"]:
                entry["queries"] = m["queries"]
            if m["result"] == "pass" or (m["result"] == "no_data" and conf["on_no_data"] == "skip"):
                entry["result"] = "pass" if m["result"] == "pass" else "skipped"
                return rollout.recorded(state, entry, self.now()), None
            wait = conf["interval"]
            if m["result"] == "no_data" and conf["on_no_data"] == "hold":
                deadline = deadline if deadline is not None else self.kube.clock() + conf["hold_timeout"]
                if self.kube.clock() >= deadline:
                    entry["reason"] += "; no data for hold_timeout ({0})".format(
                        analysis.window_text(conf["hold_timeout"]))
                    state = rollout.recorded(state, entry, self.now(), failed=True)
                    return state, "step {0}: {1}".format(i, entry["reason"])
                state = rollout.recorded(state, entry, self.now())
                wait = min(wait, deadline - self.kube.clock())
            else:
                state = rollout.recorded(state, entry, self.now(), failed=True)
                if state["failures"] > conf["failure_limit"]:
                    return state, "step {0}: {1}{2}".format(i, entry["reason"], " (fail closed: on_no_data fail)"
                                                            if m["result"] == "no_data" else "")
            self.write(state, self.http)
            self.wait(wait)

    def promote(self, state, reason):
        subsets = None
        if self.cfg["finalize"]:
            subsets = shift.subsets_with(self.subsets(), state["stable"], state["canary_labels"])
            fields = shift.stable_only(state)
        else:
            fields = shift.weighted(state, 100)
        self.write(rollout.ended(state, "promoted", reason, self.now(), finalized=self.cfg["finalize"]),
                   shift.http_with(self.http, state, fields), subsets=subsets)
        self.message = "promoted {0}: {1}".format(state["release"], reason)
        return self.state

    def rollback(self, state, phase, reason):
        keep = self.cfg["keep_header_routes"]
        subsets = state.get("subsets_before")
        if subsets is not None and keep:
            subsets = shift.subsets_with(subsets, state["canary"], state["canary_labels"])
        http = shift.http_with(self.http, state, shift.stable_only(state), self.matches(state) if keep else None)
        self.write(rollout.ended(state, phase, reason, self.now()), http, subsets=subsets, dr_first=False)
        self.message = "{0} {1}: {2}".format(phase.replace("_", " "), state["release"], reason)
        return self.state

    def resume(self, state):
        self.resumed_from = state["step"]
        dummy, problems = canary_target.ready_pods(self.kube, self.cfg, self.ns, state["host"],
                                                   {state["canary"]: state["canary_labels"]})
        if problems.items:
            return self.rollback(state, "rolled_back", "; ".join(problems.items))
        self.state = rollout.note_resume(state, self.now())
        return self.drive(self.state)


def dispatch(r):
    """The action on the rollout found; returns its final state (None when there is none)."""
    action, state = r.cfg["action"], r.state
    if action == "status":
        return state
    if action == "abort":
        if rollout.active(state):
            return r.rollback(state, "aborted", "aborted by action abort at step {0}".format(state["step"]))
        r.message = "no rollout in progress; nothing to abort"
        return state
    if action == "promote":
        if rollout.active(state):
            return r.promote(state, "promoted by action promote at step {0} (the remaining steps skipped)".format(
                state["step"]))
        if state is not None and state.get("phase") == "promoted":
            return state
        raise InputError("action promote: no rollout in progress on VirtualService {0}/{1}".format(
            r.ns, r.cfg["virtual_service"]))
    same = state is not None and state.get("release") == r.release()
    if state is not None and rollout.active(state) and not same and action != "resume":
        raise InputError("VirtualService {0}/{1} has a rollout of {2!r} in phase {3} at step {4}; abort or promote "
                         "it before releasing {5!r}".format(r.ns, r.cfg["virtual_service"], state.get("release"),
                                                            state["phase"], state["step"], r.release()))
    if rollout.active(state):
        if state["phase"] == "paused":
            if action != "resume":
                r.message = "paused at step {0}: run action resume or promote".format(state["step"])
                return state
            state = rollout.resumed(state, r.now())
            state["approved"] = state["step"]
        if r.cfg["plan"] and r.cfg["plan"] != state["steps"]:
            r.module.warn("the steps given differ from the rollout's recorded ones; it goes on with those")
        return r.resume(state)
    if action == "resume":
        raise InputError("action resume: no paused rollout on VirtualService {0}/{1}".format(
            r.ns, r.cfg["virtual_service"]))
    if same and not (action == "retry" and state["phase"] != "promoted"):
        r.message = "{0} was {1} at {2}; nothing to do".format(state["release"], state["phase"].replace("_", " "),
                                                               state.get("updated"))
        return state
    return r.start()


def run(module, kube, prometheus=None, now=time.time):
    cfg = validate_params(module.params)
    kube.field_manager = FIELD_MANAGER
    started = kube.clock()
    r = Rollout(module, kube, cfg, prometheus, now)
    try:
        state = dispatch(r)
    except Superseded as exc:
        state = exc.state
        r.message = "another run changed the rollout meanwhile (now {0}); this run stopped".format(
            (state or {}).get("phase"))
    out = result(module, r.kube, r.changes, phase=(state or {}).get("phase"), step=(state or {}).get("step"),
                 release=(state or {}).get("release"), timeline=rollout.timeline(state), state=state,
                 plan=rollout.plan_view((state or {}).get("steps") or cfg["plan"]), resumed_from=r.resumed_from,
                 message=r.message or ("no rollout" if state is None else "phase {0}".format(state["phase"])),
                 virtual_service=ref(kind="VirtualService", name=cfg["virtual_service"], namespace=r.ns),
                 duration_s=round(kube.clock() - started, 3))
    if kube.check_mode and cfg["action"] not in ("status",):
        out["message"] = "check mode: " + out["message"]
    if state and state.get("phase") in ("rolled_back", "aborted") and cfg["action"] not in ("abort", "status"):
        raise MeshError("canary {0}".format(out["message"]), result=out)
    return out
