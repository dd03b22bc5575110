# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The workload model: pods, the workloads that own them, and what a pod says about its sidecar.

Pods are matched to their workloads through ownerReferences (Pod -> ReplicaSet -> Deployment, or the pod's
own controller), so one list per kind and namespace describes a whole namespace. Pure functions over
objects already read; no API calls.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time
from collections import OrderedDict

from ansible_collections.meshops.istio.plugins.module_utils.constants import (
    APPS, INJECT_KEY, INJECT_YES, RESTARTED_AT, REVISION_LABEL, SIDECAR, STATUS_ANNOTATION, WORKLOAD_KINDS,
)
from ansible_collections.meshops.istio.plugins.module_utils.waiter import pod_ready, summarize, workload_ready

# Workload states.
INJECTED, RESTARTED, OPTED_OUT, UNMANAGED, FAILED = "injected", "restarted", "opted_out", "unmanaged", "failed"
RESTART = "pending"  # restart planned; RESTARTED once rolled out (in check mode: at once)


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
    """The pod runs istio-proxy (as a container, or as a native sidecar: an init container)."""
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


def opt_out(obj_meta):
    """Why a pod (template) opts out of injection, or None. Like Istio: the label wins over the annotation."""
    labels, annotations = obj_meta.get("labels") or {}, obj_meta.get("annotations") or {}
    value = labels.get(INJECT_KEY) if INJECT_KEY in labels else annotations.get(INJECT_KEY)
    if value is not None and str(value).strip() and str(value).strip().lower() not in INJECT_YES:
        return "{0}={1} on its pods".format(INJECT_KEY, value)
    return None


def sidecar_ready(pod):
    """The istio-proxy container reports Ready (as a container or a native sidecar); without a status for it,
    the pod's own Ready condition."""
    status = pod.get("status") or {}
    for entry in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        if entry.get("name") == SIDECAR:
            return bool(entry.get("ready"))
    return pod_ready(pod)


# What a pod of a namespace labelled for injection says about its sidecar (mtls_verify's findings).
SIDECAR_OK, SIDECAR_MISSING, SIDECAR_OPTED_OUT, SIDECAR_OTHER_REVISION = "ok", "missing", "opted_out", "other_revision"


def sidecar_state(pod, revision):
    """``(state, reason)``: ``ok``; ``missing`` (not injected: created before the label, or the injector
    failed); ``opted_out`` (``sidecar.istio.io/inject`` says no, or hostNetwork); ``other_revision`` (injected
    by another control plane revision than ``revision``; None accepts any)."""
    if not has_sidecar(pod):
        why = opt_out(meta(pod))
        if why:
            return SIDECAR_OPTED_OUT, why
        if (pod.get("spec") or {}).get("hostNetwork"):
            return SIDECAR_OPTED_OUT, "hostNetwork pods are never injected"
        return SIDECAR_MISSING, "no {0} container".format(SIDECAR)
    found = pod_revision(pod)
    if revision is not None and found not in (None, revision):
        return SIDECAR_OTHER_REVISION, "injected by revision {0}, not {1}".format(found, revision)
    return SIDECAR_OK, None


def matches(pod, selector):
    """The pod carries every label of ``selector`` (matchLabels)."""
    labels = meta(pod).get("labels") or {}
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def pod_report(pods):
    """``pods`` (names of the active pods), ``not_ready`` (``name (phase)`` of those not Ready) and
    ``without_sidecar`` (names of those without istio-proxy)."""
    live = [p for p in pods or [] if active(p)]
    return {
        "pods": [meta(p).get("name") for p in live],
        "not_ready": ["{0} ({1})".format(meta(p).get("name"), (p.get("status") or {}).get("phase") or "?")
                      for p in live if not pod_ready(p)],
        "without_sidecar": [meta(p).get("name") for p in live if not has_sidecar(p)],
    }


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


def restart_object(work, stamp=None):
    """What ``kubectl rollout restart`` changes: the pod template's restartedAt annotation."""
    stamp = stamp or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if (meta(work.template).get("annotations") or {}).get(RESTARTED_AT) == stamp:
        # restarted within this very second already: a finer stamp still changes the template
        stamp = stamp[:-1] + ".{0:06d}Z".format(int(time.time() * 1000000) % 1000000)
    return {"apiVersion": APPS, "kind": work.kind,
            "metadata": {"name": work.name, "namespace": work.namespace},
            "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
