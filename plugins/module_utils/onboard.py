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

from ansible_collections.meshops.istio.plugins.module_utils import mesh, validate, workloads as wl
from ansible_collections.meshops.istio.plugins.module_utils.constants import (
    APPS, INJECTION_LABEL, REVISION_LABEL, WORKLOAD_KINDS,
)
from ansible_collections.meshops.istio.plugins.module_utils.diff import is_subset
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
                                       self.warn, create=self.params.get("create_namespaces"))
        self.scope = [mesh.Namespace(obj, new="resourceVersion" not in meta(obj)) for obj in found]
        for ns in self.scope:
            if ns.new:
                continue  # nothing runs in a namespace that does not exist yet
            ns.discover(self.kube)
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
        for ns in self.scope:
            if ns.new:
                ns.label_change = created[ns.name]
            elif mesh.has_labels(ns.obj, labels):
                ns.label_change = Change(ns.obj, "unchanged", ns.obj, ns.obj)
            else:
                ns.label_change = Change(ns.obj, "updated", ns.obj,
                                         mesh.label_namespace(self.kube, ns.name, labels, dry_run=True))
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
        live = {}
        fresh = [ns.name for ns in self.scope if ns.new]
        for obj in wanted:
            if meta(obj)["namespace"] in fresh:
                continue
            found = self.kube.get(obj["apiVersion"], obj["kind"], meta(obj)["name"], meta(obj)["namespace"])
            if found is not None:
                live[self.kube.key(obj)] = found
        # Objects that already hold every wanted field need no dry run: the apply would change nothing. Those
        # in namespaces this run creates cannot be dry-run yet: planned as created.
        send = [o for o in wanted if not is_subset(o, live.get(self.kube.key(o)))]
        new = set(self.kube.key(o) for o in send if meta(o)["namespace"] in [n.name for n in self.scope if n.new])
        planned = dict((self.kube.key(c.obj), c) for c in self.kube.plan(send, live=live, assume_absent=new)) \
            if send else {}
        by_ns = dict((ns.name, ns) for ns in self.scope)
        for obj in wanted:
            before = live.get(self.kube.key(obj))
            if obj["kind"] == "AuthorizationPolicy" and before is not None and before.get("spec"):
                self.warn("{0} exists with a non-empty spec, so it may not deny all traffic; it was left as "
                          "it is".format(ref(before)))
            change = planned.get(self.kube.key(obj)) or Change(obj, "unchanged", before, before)
            by_ns[meta(obj)["namespace"]].policies.append(change)

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
            elif ns.labelled:
                after = mesh.label_namespace(self.kube, ns.name, mesh.injection_labels(self.revision), dry_run=False)
                ns.label_change = ns.label_change._replace(after=after)
                ns.obj = after

    def restart(self):
        """Restart the planned workloads, at most max_concurrent_restarts rolling at once, each given
        wait_timeout seconds to roll out (then it is failed and its slot freed)."""
        queue = self.workloads(wl.RESTART)
        limit, timeout = self.params["max_concurrent_restarts"], self.params["wait_timeout"]
        rolling = OrderedDict()

        def settled():
            while queue and len(rolling) < limit:
                work = queue.pop(0)
                work.change = self.kube.commit([work.change], force_conflicts=True)[0]
                work.done = True
                rolling[work.id] = (work, self.kube.clock() + timeout)
            kinds = OrderedDict(((w.namespace, w.kind), True) for w, dummy in rolling.values())
            for namespace, kind in kinds:
                live = dict((meta(o)["name"], o) for o in self.kube.list(APPS, kind, namespace=namespace))
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

        poll(settled, None, self.kube.sleep, self.kube.clock, max_interval=1.0)

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
                for ns in pending:
                    self.rediscover(ns)
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
            ns.policies = self.kube.commit(ns.policies)
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
