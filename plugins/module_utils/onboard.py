# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mesh_onboard runner: label namespaces for injection, restart what runs without the
sidecar (or with another revision's), verify, then mTLS and default-deny policies.

Reads are lists, one per kind and namespace (:class:`mesh.Namespace`), so the number of API calls per
namespace does not grow with the number of pods. Every write is first dry-run on the server, before
anything is written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import OrderedDict

from ansible_collections.meshops.istio.plugins.module_utils import batch, mesh, validate, workloads as wl
from ansible_collections.meshops.istio.plugins.module_utils.constants import (
    APPS, INJECTION_LABEL, REVISION_LABEL, WORKLOAD_KINDS,
)
from ansible_collections.meshops.istio.plugins.module_utils.errors import MeshError, ref
from ansible_collections.meshops.istio.plugins.module_utils.kube import Change
from ansible_collections.meshops.istio.plugins.module_utils.module import result
from ansible_collections.meshops.istio.plugins.module_utils.waiter import poll, summarize, workload_ready

meta = wl.meta


def validate_params(params):
    """The rules the argument spec cannot say (it owns types, choices and exclusivity)."""
    problems = validate.Problems()
    if not params.get("namespaces") and not (params.get("namespace_selector") or "").strip():
        problems.add("namespaces", "give the namespaces to onboard: namespaces (a non-empty list of names) or "
                                   "namespace_selector (a label selector such as team=shop)")
    if params.get("create_namespaces") and not params.get("namespaces"):
        problems.add("create_namespaces", "needs namespaces (the names to create); a namespace_selector cannot "
                                          "name namespaces that do not exist")
    for i, name in enumerate(params.get("namespaces") or []):
        mesh.onboard_namespace(problems, "namespaces[{0}]".format(i), name)
    validate.positive_int(problems, "max_concurrent_restarts", params.get("max_concurrent_restarts"))
    validate.timeout(problems, "wait_timeout", params.get("wait_timeout"))
    problems.raise_any()
    validate.revision(params.get("revision") or "")


def report(ns):
    out = OrderedDict([("labelled", ns.labelled), ("created", ns.new)])
    out["labels"] = dict((k, v) for k, v in (meta(ns.obj).get("labels") or {}).items()
                         if k in (INJECTION_LABEL, REVISION_LABEL))
    for change in ns.policies:
        out["peer_authentication" if change.obj["kind"] == "PeerAuthentication" else "authorization_policy"] = \
            change.action
    out["workloads"] = [w.report() for w in ns.workloads.values()]
    return dict(out)


class Onboarding:
    def __init__(self, module, kube, params):
        self.module, self.kube, self.params = module, kube, params
        self.revision = params.get("revision") or ""
        self.want = None  # the revision pods must run
        self.scope = []

    def warn(self, msg):
        if hasattr(self.module, "warn"):
            self.module.warn(msg)

    def workloads(self, *states):
        return [w for ns in self.scope for w in ns.workloads.values() if not states or w.state in states]

    def discover(self):
        self.want = mesh.expected_revision(self.revision, mesh.injectors(self.kube))
        found = mesh.select_namespaces(self.kube, self.params.get("namespaces"), self.params.get("namespace_selector"),
                                       self.warn, create=bool(self.params.get("create_namespaces")))
        self.scope = [mesh.Namespace(obj, new="resourceVersion" not in meta(obj)) for obj in found]
        # Nothing runs in a namespace that does not exist yet.
        batch.values(self.kube.parallel([lambda ns=ns: ns.discover(self.kube) for ns in self.scope if not ns.new]))
        for ns in self.scope:
            for work in ns.workloads.values():
                wl.classify(work, self.want)
            defaults = ["{0}/{1}".format(w.kind, w.name) for w in ns.workloads.values()
                        if w.obj is not None and w.service_account == "default"]
            if defaults:
                self.warn("namespace {0}: workloads run as the default service account; give each its own "
                          "ServiceAccount so that AuthorizationPolicies can tell them apart: {1}".format(
                              ns.name, ", ".join(defaults)))

    def plan(self):
        """Dry runs only: the labels, the restarts, and the policies."""
        labels = mesh.injection_labels(self.revision)
        # Namespaces to create, with their injection label: dry-run with the rest.
        created = [mesh.namespace_object(ns.name, labels) for ns in self.scope if ns.new]
        created = dict((meta(c.obj)["name"], c) for c in self.kube.plan(created)) if created else {}
        todo = [ns for ns in self.scope if not ns.new and not mesh.has_labels(ns.obj, labels)]
        for ns in self.scope:
            ns.label_change = created[ns.name] if ns.new else Change(ns.obj, "unchanged", ns.obj, ns.obj)
        predicted = batch.values(self.kube.parallel([
            lambda ns=ns: mesh.label_namespace(self.kube, ns.name, labels, dry_run=True) for ns in todo]))
        for ns, after in zip(todo, predicted):
            ns.label_change = Change(ns.obj, "updated", ns.obj, after)
        restarts = self.workloads(wl.RESTART)
        if restarts:
            live = dict((self.kube.key(w.obj), w.obj) for w in restarts)
            planned = self.kube.plan([wl.restart_object(w) for w in restarts], force_conflicts=True, live=live)
            for work, change in zip(restarts, planned):
                work.change = change
        wanted = []
        for ns in self.scope:
            if self.params.get("mtls_mode"):
                wanted.append(mesh.peer_authentication(ns.name, self.params["mtls_mode"]))
            if self.params.get("default_deny"):
                wanted.append(mesh.deny_all(ns.name))
        # One read per kind and namespace; objects an apply could not change are not dry-run (Kube.plan).
        # Those in namespaces this run creates cannot be dry-run yet: planned as created.
        fresh = set(ns.name for ns in self.scope if ns.new)
        new = set(self.kube.key(o) for o in wanted if meta(o)["namespace"] in fresh)
        by_ns = dict((ns.name, ns) for ns in self.scope)
        # The policies are the collection's: a field it declares that was changed by hand is taken back (force);
        # a deny-all with rules or a selector of someone else's is not the collection's and is left as it is.
        for change in self.kube.plan(wanted, assume_absent=new, force_conflicts=True) if wanted else []:
            extra = mesh.customized_deny_all(change.before) if change.obj["kind"] == "AuthorizationPolicy" else []
            if extra:
                self.warn("{0} also holds {1}, which a deny-all has not, so it may not deny all traffic; it was "
                          "left as it is".format(ref(change.before), ", ".join(extra)))
                change = Change(change.before, "unchanged", change.before, change.before)
            by_ns[meta(change.obj)["namespace"]].policies.append(change)

    def check_strict(self, predicted):
        """Refuse STRICT mTLS while pods in scope would run without the sidecar (unless force)."""
        if self.params.get("mtls_mode") != "STRICT" or self.params.get("force"):
            return
        lacking = self.lacking(predicted)
        if lacking:
            mesh.refuse_strict("mtls_mode STRICT", ["{0} ({1})".format(w.id, w.reason or "no sidecar")
                                                    for w in lacking], written=self.kube.wrote,
                               result=self.result())

    def lacking(self, predicted):
        """Workloads with pods lacking the sidecar; ``predicted`` counts planned restarts as fixed."""
        return [w for w in self.workloads()
                if not (predicted and w.state in (wl.RESTART, wl.RESTARTED)) and w.missing()]

    def label(self):
        for ns in self.scope:
            if ns.new:
                ns.label_change = self.kube.commit([ns.label_change])[0]
                ns.obj = ns.label_change.after
        todo = [ns for ns in self.scope if ns.labelled and not ns.new]
        labels = mesh.injection_labels(self.revision)
        outcomes = self.kube.parallel([lambda ns=ns: mesh.label_namespace(self.kube, ns.name, labels, dry_run=False)
                                       for ns in todo], stop_on_error=True)
        for ns, outcome in zip(todo, outcomes):
            if outcome.ran and outcome.error is None:
                ns.label_change = ns.label_change._replace(after=outcome.value)
                ns.obj = outcome.value
        batch.values(outcomes)

    def restart(self):
        """Restart the planned workloads in waves: at most max_concurrent_restarts rolling at once (their
        restarts sent together, ``concurrency`` requests in flight), each given wait_timeout seconds to roll
        out (then it is failed and its slot freed); a slot freed is refilled at the next look. Rollouts are
        followed with one list per kind and namespace rolling, per look (every 0.2 to 0.5 s)."""
        queue = self.workloads(wl.RESTART)
        limit, timeout = self.params["max_concurrent_restarts"], self.params["wait_timeout"]
        rolling = OrderedDict()

        def start():
            wave = queue[:max(0, limit - len(rolling))]
            del queue[:len(wave)]
            outcomes = self.kube.parallel([lambda w=w: self.kube.commit([w.change], force_conflicts=True)[0]
                                           for w in wave], stop_on_error=True)
            for work, outcome in zip(wave, outcomes):
                if outcome.ran and outcome.error is None:
                    work.change, work.done = outcome.value, True
                    rolling[work.id] = (work, self.kube.clock() + timeout)
            batch.values(outcomes)

        def settled():
            start()
            groups = list(OrderedDict(((w.namespace, w.kind), True) for w, dummy in rolling.values()))
            found = batch.values(self.kube.parallel([lambda g=g: self.kube.list(APPS, g[1], namespace=g[0])
                                                     for g in groups]))
            for (namespace, kind), items in zip(groups, found):
                live = dict((meta(o)["name"], o) for o in items)
                for work, deadline in [r for r in rolling.values() if (r[0].namespace, r[0].kind) == (namespace, kind)]:
                    obj = work.obj = live.get(work.name, work.obj)
                    if work.name not in live:
                        work.state, work.reason = wl.FAILED, "deleted during its rollout"
                    elif workload_ready(obj):
                        work.state = wl.RESTARTED
                    elif self.kube.clock() >= deadline:
                        work.state, work.reason = wl.FAILED, "rollout not finished after {0}s ({1})".format(
                            timeout, summarize(obj))
                    else:
                        continue
                    del rolling[work.id]
            return not queue and not rolling

        poll(settled, None, self.kube.sleep, self.kube.clock, max_interval=0.5)

    def verify(self):
        """Wait (wait_timeout) until every workload of the namespaces this run changed, or that were not
        settled yet, is rolled out with Ready pods carrying the sidecar; then mark what is not as failed."""
        def unsettled(ns):
            return [w for w in ns.workloads.values() if w.state != wl.FAILED and wl.problem(w, self.want)]

        # A namespace this run created holds nothing to verify (and an identity that may create namespaces need
        # not read pods in them).
        pending = [ns for ns in self.scope if not ns.new and (ns.touched or unsettled(ns))]
        fresh = [any(ns.touched for ns in pending)]

        def settled():
            if fresh[0]:
                batch.values(self.kube.parallel([lambda ns=ns: self.rediscover(ns) for ns in pending]))
            fresh[0] = True
            pending[:] = [ns for ns in pending if unsettled(ns)]
            return not pending

        if pending:
            poll(settled, self.params["wait_timeout"], self.kube.sleep, self.kube.clock, interval=0.5)
        for ns in pending:
            for work in unsettled(ns):
                work.state, work.reason = wl.FAILED, wl.problem(work, self.want)

    def rediscover(self, ns):
        ns.discover(self.kube, kinds=[k for k in WORKLOAD_KINDS if any(w.kind == k for w in ns.workloads.values())])
        for work in ns.workloads.values():
            if work.state is None:  # appeared during the run
                wl.classify(work, self.want)
                if work.state == wl.RESTART:
                    work.state, work.reason = wl.FAILED, "appeared during onboarding without the sidecar; " \
                        "run again to restart it"

    def result(self):
        changes = []
        for ns in self.scope:
            changes += [ns.label_change] if ns.labelled else []
            changes += [w.change for w in ns.workloads.values() if w.done]
            changes += ns.policies
        return result(self.module, self.kube, changes,
                      action=lambda c: "restarted" if c.obj.get("kind") in WORKLOAD_KINDS else c.action,
                      injection="{0}={1}".format(REVISION_LABEL, self.revision) if self.revision
                      else "{0}=enabled".format(INJECTION_LABEL),
                      revision=self.want,
                      namespaces=dict((ns.name, report(ns)) for ns in self.scope),
                      restarted=[w.id for w in self.workloads() if w.done],
                      opted_out=[w.id for w in self.workloads(wl.OPTED_OUT)],
                      missing_sidecar=[w.id for w in self.lacking(predicted=self.kube.check_mode)],
                      failed_workloads=[w.id for w in self.workloads(wl.FAILED)])

    def run(self):
        self.discover()
        self.check_strict(predicted=True)
        self.plan()
        if self.kube.check_mode:
            for work in self.workloads(wl.RESTART):
                work.state, work.done = wl.RESTARTED, True
            return self.result()
        self.label()
        self.restart()
        self.verify()
        failed = self.workloads(wl.FAILED)
        if failed:
            raise MeshError("onboarding did not complete for {0} workload(s); no PeerAuthentication or "
                            "AuthorizationPolicy was written: {1}".format(
                                len(failed), "; ".join("{0}: {1}".format(w.id, w.reason) for w in failed)),
                            result=self.result())
        self.check_strict(predicted=False)
        for ns in self.scope:
            ns.policies = self.kube.commit(ns.policies, force_conflicts=True)
        return self.result()


def run(module, kube):
    validate_params(module.params)
    onboarding = Onboarding(module, kube, module.params)
    try:
        return onboarding.run()
    except MeshError as exc:
        if not exc.result and onboarding.scope:
            exc.result = onboarding.result()
        raise
