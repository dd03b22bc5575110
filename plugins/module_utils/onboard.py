# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mesh_onboard runner: label namespaces for injection, restart what runs without the
sidecar (or with another revision's), verify, then mTLS and default-deny policies.

Reads are lists, one per kind and namespace (pods are matched to their workloads through
ownerReferences, Pod -> ReplicaSet -> Deployment), so the number of API calls per namespace
does not grow with the number of pods. Every write is first dry-run on the server, before
anything is written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import time
from collections import OrderedDict

from ansible_collections.meshops.istio.plugins.module_utils import istio
from ansible_collections.meshops.istio.plugins.module_utils.diff import is_subset
from ansible_collections.meshops.istio.plugins.module_utils.errors import ApiError, InputError, MeshError, ref
from ansible_collections.meshops.istio.plugins.module_utils.kube import (
    Change, condition, diff_entries, record, summarize, workload_ready,
)

INJECTION_LABEL = "istio-injection"
REVISION_LABEL = istio.REVISION_LABEL
TAG_LABEL = "istio.io/tag"
INJECT_KEY = "sidecar.istio.io/inject"
STATUS_ANNOTATION = "sidecar.istio.io/status"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
SIDECAR = "istio-proxy"
APPS = "apps/v1"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")
SECURITY = "security.istio.io/v1"
WEBHOOKS = ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration")
MTLS_MODES = ("PERMISSIVE", "STRICT")
PEER_AUTHENTICATION = "default"
DENY_ALL = "deny-all"
# Never onboarded: the control planes' own namespaces.
PROTECTED_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease", istio.ISTIO_NAMESPACE)
NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Values of sidecar.istio.io/inject that ask for injection (Istio's own rule); any other
# non-empty value opts out.
INJECT_YES = ("y", "yes", "true", "on")

# Workload states.
INJECTED, RESTARTED, OPTED_OUT, UNMANAGED, FAILED = "injected", "restarted", "opted_out", "unmanaged", "failed"
RESTART = "pending"  # restart planned; RESTARTED once rolled out (in check mode: at once)


# -- input ----------------------------------------------------------------------

def validate(params):
    """Every check on the options alone; raises InputError naming the field and what it accepts."""
    names = params.get("namespaces")
    selector = (params.get("namespace_selector") or "").strip()
    if names and selector:
        raise InputError("namespaces and namespace_selector are mutually exclusive: give one of them")
    if not names and not selector:
        raise InputError("give the namespaces to onboard: namespaces (a non-empty list of names) or "
                         "namespace_selector (a label selector such as team=shop)")
    for name in names or []:
        if not isinstance(name, str) or len(name) > 63 or not NAME_RE.match(name):
            raise InputError("namespaces: {0!r} is not a namespace name (lowercase letters, digits and dashes, "
                             "starting and ending with a letter or digit, at most 63 characters)".format(name))
        if name in PROTECTED_NAMESPACES:
            raise InputError("namespaces: {0} is a system namespace and is never onboarded (system namespaces: "
                             "{1})".format(name, ", ".join(PROTECTED_NAMESPACES)))
    istio.validate_revision(params.get("revision") or "")
    mode = params.get("mtls_mode")
    if mode is not None and mode not in MTLS_MODES:
        raise InputError("mtls_mode {0!r} is not valid: use one of {1}, or null to leave mTLS as it is".format(
            mode, ", ".join(MTLS_MODES)))
    for field in ("max_concurrent_restarts", "wait_timeout"):
        value = params.get(field)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError("{0} must be a whole number of 1 or more, not {1!r}".format(field, value))


def injection_labels(revision):
    """The namespace labels to merge: the wanted one, and the other one removed (``None``):
    ``istio-injection`` takes precedence over ``istio.io/rev``, so only one may be set."""
    if revision:
        return OrderedDict([(REVISION_LABEL, revision), (INJECTION_LABEL, None)])
    return OrderedDict([(INJECTION_LABEL, "enabled"), (REVISION_LABEL, None)])


def injectors(kube):
    """(revisions, {tag: revision}) of the sidecar injector webhooks, or None when they may not be read."""
    try:
        hooks = kube.list(*WEBHOOKS, label_selector=REVISION_LABEL)
    except ApiError as exc:
        if exc.status in (401, 403):
            return None
        raise
    revisions, tags = set(), {}
    for hook in hooks:
        labels = (hook.get("metadata") or {}).get("labels") or {}
        if labels.get(TAG_LABEL):
            tags[labels[TAG_LABEL]] = labels[REVISION_LABEL]
        else:
            revisions.add(labels[REVISION_LABEL])
    return revisions, tags


def expected_revision(revision, found):
    """The control-plane revision whose sidecars the namespace's pods must run, or None when any
    will do (the injector webhooks could not be read). Raises InputError when nothing would inject."""
    if found is None:
        return revision or None
    revisions, tags = found
    installed = "installed revisions: {0}; tags: {1}".format(
        ", ".join(sorted(revisions)) or "none",
        ", ".join("{0} -> {1}".format(t, r) for t, r in sorted(tags.items())) or "none")
    if not revisions and not tags:
        raise InputError("no Istio sidecar injector is installed (no MutatingWebhookConfiguration labelled "
                         "{0}); install Istio first".format(REVISION_LABEL))
    if revision:
        if revision in tags:
            return tags[revision]
        if revision in revisions:
            return revision
        raise InputError("revision {0!r} has no sidecar injector in the cluster ({1}); install that revision "
                         "first or use one of these".format(revision, installed))
    if "default" in tags:
        return tags["default"]
    if "default" in revisions:
        return "default"
    raise InputError("injection with {0}=enabled needs Istio's default revision or a default tag, and there is "
                     "none ({1}); set revision".format(INJECTION_LABEL, installed))


# -- pods and workloads ------------------------------------------------------------

def meta(obj):
    return (obj or {}).get("metadata") or {}


def controller_of(obj):
    for owner in meta(obj).get("ownerReferences") or []:
        if owner.get("controller"):
            return owner
    return None


def active(pod):
    """Pods that count: not terminating, not finished."""
    return not meta(pod).get("deletionTimestamp") and (pod.get("status") or {}).get("phase") not in (
        "Succeeded", "Failed")


def has_sidecar(pod):
    spec = pod.get("spec") or {}
    return any(c.get("name") == SIDECAR for c in (spec.get("containers") or []) + (spec.get("initContainers") or []))


def pod_revision(pod):
    """The revision that injected the pod: from sidecar.istio.io/status, else the istio.io/rev label."""
    status = (meta(pod).get("annotations") or {}).get(STATUS_ANNOTATION)
    if status:
        try:
            found = json.loads(status).get("revision")
            if found:
                return found
        except (ValueError, AttributeError):
            pass
    return (meta(pod).get("labels") or {}).get(REVISION_LABEL)


def pod_ready(pod):
    return condition(pod, "Ready") == "True"


def opt_out(obj_meta):
    """Why a pod (template) opts out of injection, or None. Like Istio: the label wins over the annotation."""
    labels, annotations = obj_meta.get("labels") or {}, obj_meta.get("annotations") or {}
    value = labels.get(INJECT_KEY) if INJECT_KEY in labels else annotations.get(INJECT_KEY)
    if value is not None and str(value).strip() and str(value).strip().lower() not in INJECT_YES:
        return "{0}={1} on its pods".format(INJECT_KEY, value)
    return None


class Workload:
    """A Deployment, StatefulSet or DaemonSet (``obj`` set), or the owner of pods the module cannot
    restart (a Job, a bare Pod, ...: ``obj`` None), with its active pods."""

    def __init__(self, namespace, kind, name, obj=None):
        self.namespace, self.kind, self.name, self.obj = namespace, kind, name, obj
        self.pods = []
        self.state = None
        self.reason = None
        self.change = None  # the planned (then applied) restart
        self.done = False  # restarted (in check mode: would be)

    @property
    def id(self):
        return "{0}/{1}/{2}".format(self.namespace, self.kind, self.name)

    @property
    def template(self):
        return ((self.obj or {}).get("spec") or {}).get("template") or {}

    @property
    def service_account(self):
        if self.obj is not None:
            spec = self.template.get("spec") or {}
        else:
            spec = (self.pods[0].get("spec") or {}) if self.pods else {}
        return spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"

    def stale(self, revision):
        """Active pods without the sidecar, or with another revision's."""
        return [p for p in self.pods if not has_sidecar(p)
                or (revision is not None and pod_revision(p) not in (None, revision))]

    def missing(self):
        return [p for p in self.pods if not has_sidecar(p)]

    def report(self):
        out = OrderedDict([("kind", self.kind), ("name", self.name), ("state", self.state),
                           ("pods", len(self.pods)), ("service_account", self.service_account)])
        if self.reason:
            out["reason"] = self.reason
        return dict(out)


def group(namespace, pods, replicasets, workloads):
    """Workloads of a namespace with their active pods: Pod -> ReplicaSet -> Deployment, or the pod's
    own controller, by ownerReferences. Returns an OrderedDict keyed by (kind, name)."""
    rs_owner = {}
    for rs in replicasets:
        owner = controller_of(rs)
        if owner and owner.get("kind") == "Deployment":
            rs_owner[meta(rs).get("name")] = owner.get("name")
    found = OrderedDict()
    for kind in WORKLOAD_KINDS:
        for obj in sorted(workloads.get(kind) or [], key=lambda o: meta(o).get("name")):
            found[(kind, meta(obj)["name"])] = Workload(namespace, kind, meta(obj)["name"], obj)
    for pod in sorted(pods, key=lambda p: meta(p).get("name")):
        if not active(pod):
            continue
        owner = controller_of(pod)
        if owner is None:
            key = ("Pod", meta(pod).get("name"))
        elif owner.get("kind") == "ReplicaSet" and owner.get("name") in rs_owner:
            key = ("Deployment", rs_owner[owner["name"]])
        else:
            key = (owner.get("kind"), owner.get("name"))
        if key not in found:
            found[key] = Workload(namespace, key[0], key[1])
        found[key].pods.append(pod)
    return found


def classify(work, revision):
    """What onboarding does with a workload: state injected, opted_out, unmanaged, failed or restart."""
    if work.obj is None:
        opted = [opt_out(meta(p)) for p in work.pods]
        if work.pods and all(opted):
            work.state, work.reason = OPTED_OUT, opted[0]
        elif work.stale(revision):
            work.state = UNMANAGED
            work.reason = "{0} of {1} pods without the {2} sidecar of revision {3}; not owned by a Deployment, " \
                "StatefulSet or DaemonSet: recreate them to inject them".format(
                    len(work.stale(revision)), len(work.pods), SIDECAR, revision or "any")
        else:
            work.state = INJECTED
        return
    template = work.template
    why = opt_out(meta(template))
    if why:
        work.state, work.reason = OPTED_OUT, why
        return
    if (template.get("spec") or {}).get("hostNetwork"):
        work.state, work.reason = OPTED_OUT, "hostNetwork pods are never injected"
        return
    if not work.stale(revision):
        work.state = INJECTED
        return
    spec = work.obj.get("spec") or {}
    strategy = (spec.get("updateStrategy") or {}).get("type")
    if work.kind == "Deployment" and spec.get("paused"):
        work.state, work.reason = FAILED, "the Deployment is paused: resume it so that a restart can roll out"
    elif work.kind in ("StatefulSet", "DaemonSet") and strategy == "OnDelete":
        work.state, work.reason = FAILED, "updateStrategy OnDelete: a restart replaces no pod; delete its pods"
    else:
        work.state = RESTART


def problem(work, revision):
    """What keeps a workload from being onboarded now (rollout, readiness, sidecars), or None."""
    if work.obj is not None and not workload_ready(work.obj):
        return "rollout not finished ({0})".format(summarize(work.obj))
    not_ready = [meta(p).get("name") for p in work.pods if not pod_ready(p)]
    if not_ready:
        return "{0} of {1} pods not Ready: {2}".format(len(not_ready), len(work.pods), ", ".join(not_ready[:5]))
    if work.state in (INJECTED, RESTART, RESTARTED):
        stale = work.stale(revision)
        if stale:
            return "{0} of {1} pods without the {2} sidecar of revision {3}: {4}".format(
                len(stale), len(work.pods), SIDECAR, revision or "any",
                ", ".join(meta(p).get("name") for p in stale[:5]))
    return None


class Namespace:
    """One namespace in scope: its live object, workloads and planned changes."""

    def __init__(self, obj):
        self.obj = obj
        self.name = meta(obj)["name"]
        self.workloads = OrderedDict()
        self.label_change = None
        self.policies = []

    def discover(self, kube, kinds=WORKLOAD_KINDS):
        """One list per kind: pods, ReplicaSets, and the workload kinds."""
        pods = kube.list("v1", "Pod", namespace=self.name)
        replicasets = kube.list(APPS, "ReplicaSet", namespace=self.name)
        objs = dict((kind, kube.list(APPS, kind, namespace=self.name)) for kind in kinds)
        found = group(self.name, pods, replicasets, objs)
        # Keep what this run decided for each workload; take the fresh objects and pods.
        for key, work in found.items():
            old = self.workloads.get(key)
            if old is not None:
                work.state, work.reason, work.change, work.done = old.state, old.reason, old.change, old.done
        self.workloads = found

    @property
    def touched(self):
        labelled = self.label_change is not None and self.label_change.action != "unchanged"
        return labelled or any(w.done for w in self.workloads.values())

    def report(self):
        out = OrderedDict([("labelled", self.label_change is not None and self.label_change.action != "unchanged")])
        out["labels"] = dict((k, v) for k, v in (meta(self.obj).get("labels") or {}).items()
                             if k in (INJECTION_LABEL, REVISION_LABEL))
        for change in self.policies:
            out["peer_authentication" if change.obj["kind"] == "PeerAuthentication" else "authorization_policy"] = \
                change.action
        out["workloads"] = [w.report() for w in self.workloads.values()]
        return dict(out)


# -- writes -----------------------------------------------------------------------

def patch_labels(kube, name, labels, dry_run):
    """JSON merge patch of a namespace's labels (``None`` removes a label, which server-side apply
    cannot do for a label another field manager set). Dry run when asked and in check mode."""
    return kube.patch("v1", "Namespace", name, {"metadata": {"labels": dict(labels)}}, action="label",
                      dry_run=dry_run)


def restart_object(work, stamp):
    """What ``kubectl rollout restart`` changes: the pod template's restartedAt annotation."""
    if (meta(work.template).get("annotations") or {}).get(RESTARTED_AT) == stamp:
        # restarted within this very second already: a finer stamp still changes the template
        stamp = stamp[:-1] + ".{0:06d}Z".format(int(time.time() * 1000000) % 1000000)
    return {"apiVersion": APPS, "kind": work.kind,
            "metadata": {"name": work.name, "namespace": work.namespace},
            "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}


def policy_objects(namespace, mtls_mode, default_deny):
    objs = []
    if mtls_mode:
        objs.append({"apiVersion": SECURITY, "kind": "PeerAuthentication",
                     "metadata": {"name": PEER_AUTHENTICATION, "namespace": namespace},
                     "spec": {"mtls": {"mode": mtls_mode}}})
    if default_deny:
        objs.append({"apiVersion": SECURITY, "kind": "AuthorizationPolicy",
                     "metadata": {"name": DENY_ALL, "namespace": namespace}, "spec": {}})
    return objs


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# -- the run ---------------------------------------------------------------------------

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

    # -- discovery -----------------------------------------------------------------

    def namespaces(self):
        names = self.params.get("namespaces")
        if names:
            wanted = list(OrderedDict((n, True) for n in names))
            live = dict((meta(o)["name"], o) for o in self.kube.list("v1", "Namespace"))
            missing = [n for n in wanted if n not in live]
            if missing:
                raise InputError("namespaces: not found: {0}; create them first (nothing was written)".format(
                    ", ".join(missing)))
            return [live[n] for n in wanted]
        selector = self.params["namespace_selector"].strip()
        try:
            found = self.kube.list("v1", "Namespace", label_selector=selector)
        except ApiError as exc:
            if exc.status == 400:
                raise InputError("namespace_selector {0!r} is not a valid label selector (for example team=shop "
                                 "or team in (shop,pay)): {1}".format(selector, exc.msg))
            raise
        skipped = sorted(meta(o)["name"] for o in found if meta(o)["name"] in PROTECTED_NAMESPACES)
        if skipped:
            self.warn("namespace_selector {0!r} matches system namespaces, which are never onboarded: {1}".format(
                selector, ", ".join(skipped)))
        if not found:
            self.warn("namespace_selector {0!r} matches no namespace".format(selector))
        return sorted((o for o in found if meta(o)["name"] not in PROTECTED_NAMESPACES),
                      key=lambda o: meta(o)["name"])

    def discover(self):
        self.want = expected_revision(self.revision, injectors(self.kube))
        self.scope = [Namespace(obj) for obj in self.namespaces()]
        for ns in self.scope:
            ns.discover(self.kube)
            for work in ns.workloads.values():
                classify(work, self.want)
            defaults = ["{0}/{1}".format(w.kind, w.name) for w in ns.workloads.values()
                        if w.obj is not None and w.service_account == "default"]
            if defaults:
                self.warn("namespace {0}: workloads run as the default service account; give each its own "
                          "ServiceAccount so that AuthorizationPolicies can tell them apart: {1}".format(
                              ns.name, ", ".join(defaults)))

    # -- planning (dry runs only) -----------------------------------------------------

    def plan(self):
        labels = injection_labels(self.revision)
        for ns in self.scope:
            have = meta(ns.obj).get("labels") or {}
            if all(have.get(k) == v if v is not None else k not in have for k, v in labels.items()):
                ns.label_change = Change(ns.obj, "unchanged", ns.obj, ns.obj)
            else:
                predicted = patch_labels(self.kube, ns.name, labels, dry_run=True)
                ns.label_change = Change(ns.obj, "updated", ns.obj, predicted)

        stamp = now_rfc3339()
        restarts = self.workloads(RESTART)
        if restarts:
            live = dict((self.kube.key(w.obj), w.obj) for w in restarts)
            planned = self.kube.plan([restart_object(w, stamp) for w in restarts], force_conflicts=True, live=live)
            for work, change in zip(restarts, planned):
                work.change = change

        mode, deny = self.params.get("mtls_mode"), self.params.get("default_deny")
        wanted = [o for ns in self.scope for o in policy_objects(ns.name, mode, deny)]
        if wanted:
            live = {}
            for obj in wanted:
                found = self.kube.get(obj["apiVersion"], obj["kind"], obj["metadata"]["name"],
                                      obj["metadata"]["namespace"])
                if found is not None:
                    live[self.kube.key(obj)] = found
            # Objects that already hold every wanted field need no dry run: the apply would change nothing.
            send = [o for o in wanted if not is_subset(o, live.get(self.kube.key(o)))]
            planned = dict((self.kube.key(c.obj), c) for c in self.kube.plan(send, live=live)) if send else {}
            by_ns = dict((ns.name, ns) for ns in self.scope)
            for obj in wanted:
                key = self.kube.key(obj)
                before = live.get(key)
                if obj["kind"] == "AuthorizationPolicy" and before is not None and before.get("spec"):
                    self.warn("{0} exists with a non-empty spec, so it may not deny all traffic; it was left as "
                              "it is".format(ref(before)))
                change = planned.get(key) or Change(obj, "unchanged", before, before)
                by_ns[obj["metadata"]["namespace"]].policies.append(change)

    def check_strict(self, predicted):
        """Refuse STRICT mTLS while pods in scope would run without the sidecar (unless force)."""
        if self.params.get("mtls_mode") != "STRICT" or self.params.get("force"):
            return
        lacking = self.lacking(predicted)
        if lacking:
            raise InputError(
                "mtls_mode STRICT refused: these workloads have pods without the {0} sidecar, which STRICT mTLS "
                "would cut off: {1}. Onboard them, or set force: true to apply STRICT anyway. {2}".format(
                    SIDECAR, "; ".join("{0} ({1})".format(w.id, w.reason or "no sidecar") for w in lacking),
                    "Nothing was written." if not self.kube.wrote else "PeerAuthentication not written."),
                result=self.result())

    def lacking(self, predicted):
        """Workloads with pods lacking the sidecar; ``predicted`` counts planned restarts as fixed."""
        out = []
        for work in self.workloads():
            if predicted and work.state in (RESTART, RESTARTED):
                continue
            if work.missing():
                out.append(work)
        return out

    # -- writing ----------------------------------------------------------------------

    def label(self):
        for ns in self.scope:
            if ns.label_change.action != "unchanged":
                after = patch_labels(self.kube, ns.name, injection_labels(self.revision), dry_run=False)
                ns.label_change = ns.label_change._replace(after=after)
                ns.obj = after

    def restart(self):
        """Restart the planned workloads, at most max_concurrent_restarts rolling at once, each given
        wait_timeout seconds to roll out (then it is failed and its slot freed)."""
        queue = self.workloads(RESTART)
        limit, timeout = self.params["max_concurrent_restarts"], self.params["wait_timeout"]
        rolling = OrderedDict()
        interval = 0.2
        while queue or rolling:
            while queue and len(rolling) < limit:
                work = queue.pop(0)
                work.change = self.kube.commit([work.change], force_conflicts=True)[0]
                work.done = True
                rolling[work.id] = (work, self.kube.clock() + timeout)
                interval = 0.2
            groups = OrderedDict()
            for work, deadline in rolling.values():
                groups.setdefault((work.namespace, work.kind), []).append((work, deadline))
            for (namespace, kind), members in groups.items():
                live = dict((meta(o)["name"], o) for o in self.kube.list(APPS, kind, namespace=namespace))
                for work, deadline in members:
                    obj = live.get(work.name)
                    if obj is not None:
                        work.obj = obj
                    if obj is None:
                        work.state, work.reason = FAILED, "deleted during its rollout"
                    elif workload_ready(obj):
                        work.state = RESTARTED
                    elif self.kube.clock() >= deadline:
                        work.state, work.reason = FAILED, "rollout not finished after {0}s ({1})".format(
                            timeout, summarize(obj))
                    else:
                        continue
                    del rolling[work.id]
            if rolling:
                self.kube.sleep(interval)
                interval = min(interval * 1.5, 1.0)

    def verify(self):
        """Wait (wait_timeout) until every workload of the namespaces this run changed, or that were not
        settled yet, is rolled out with Ready pods carrying the sidecar; then mark what is not as failed."""
        def unsettled(ns):
            return [w for w in ns.workloads.values() if w.state != FAILED and problem(w, self.want)]

        pending = [ns for ns in self.scope if ns.touched or unsettled(ns)]
        deadline = self.kube.clock() + self.params["wait_timeout"]
        interval = 0.5
        first = True
        while pending:
            if not first or any(ns.touched for ns in pending):
                for ns in pending:
                    kinds = [k for k in WORKLOAD_KINDS if any(w.kind == k for w in ns.workloads.values())]
                    ns.discover(self.kube, kinds=kinds)
                    for work in ns.workloads.values():
                        if work.state is None:  # appeared during the run
                            classify(work, self.want)
                            if work.state == RESTART:
                                work.state, work.reason = FAILED, "appeared during onboarding without the sidecar; " \
                                    "run again to restart it"
            first = False
            pending = [ns for ns in pending if unsettled(ns)]
            left = deadline - self.kube.clock()
            if not pending or left <= 0:
                break
            self.kube.sleep(min(interval, left))
            interval = min(interval * 1.5, 2.0)
        for ns in pending:
            for work in unsettled(ns):
                work.state, work.reason = FAILED, problem(work, self.want)

    def write_policies(self):
        for ns in self.scope:
            ns.policies = self.kube.commit(ns.policies)

    # -- result -----------------------------------------------------------------------

    def changes(self):
        out = []
        for ns in self.scope:
            if ns.label_change is not None and ns.label_change.action != "unchanged":
                out.append(ns.label_change)
            out.extend(w.change for w in ns.workloads.values() if w.done)
            out.extend(c for c in ns.policies if c.action != "unchanged")
        return out

    def result(self):
        changes = self.changes()
        restarted = [w.id for w in self.workloads() if w.done]
        objects = []
        for change in changes:
            action = "restarted" if change.obj.get("kind") in WORKLOAD_KINDS else change.action
            objects.append(record(change.obj, action))
        out = {
            "changed": self.kube.wrote or (self.kube.check_mode and bool(changes)),
            "injection": "{0}={1}".format(REVISION_LABEL, self.revision) if self.revision
            else "{0}=enabled".format(INJECTION_LABEL),
            "revision": self.want,
            "namespaces": dict((ns.name, ns.report()) for ns in self.scope),
            "restarted": restarted,
            "opted_out": [w.id for w in self.workloads(OPTED_OUT)],
            "missing_sidecar": [w.id for w in self.lacking(predicted=self.kube.check_mode)],
            "failed_workloads": [w.id for w in self.workloads(FAILED)],
            "objects": objects,
        }
        if getattr(self.module, "_diff", False):
            out["diff"] = diff_entries(changes)
        return out

    def run(self):
        self.discover()
        self.check_strict(predicted=True)
        self.plan()
        if self.kube.check_mode:
            for work in self.workloads(RESTART):
                work.state, work.done = RESTARTED, True
            return self.result()
        self.label()
        self.restart()
        self.verify()
        failed = self.workloads(FAILED)
        if failed:
            raise MeshError("onboarding did not complete for {0} workload(s); no PeerAuthentication or "
                            "AuthorizationPolicy was written: {1}".format(
                                len(failed), "; ".join("{0}: {1}".format(w.id, w.reason) for w in failed)),
                            result=self.result())
        self.check_strict(predicted=False)
        self.write_policies()
        return self.result()


def run(module, kube):
    params = module.params
    validate(params)
    onboarding = Onboarding(module, kube, params)
    try:
        return onboarding.run()
    except MeshError as exc:
        if not exc.result and onboarding.scope:
            exc.result = onboarding.result()
        if isinstance(exc, ApiError) and exc.status == 403:
            exc.msg += " (the credentials in use lack an RBAC permission mesh_onboard needs)"
            exc.args = (exc.msg,)
        raise
