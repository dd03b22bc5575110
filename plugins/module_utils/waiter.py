# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Readiness predicates and the one polling loop.

Every wait of the collection is :func:`poll`: a check called at growing intervals (0.2 s growing by half
up to a cap) until it says done or the deadline passes. The clock and the sleep are the
:class:`kube.Kube`'s, so tests drive time with a fake clock.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.meshops.istio.plugins.module_utils.errors import WaitTimeout, ref


def poll(check, timeout, sleep, clock, interval=0.2, max_interval=2.0):
    """Call ``check()`` until it returns something true, then return that; when ``timeout`` seconds have
    passed, return its last (false) answer. ``timeout`` None polls until ``check`` says done."""
    deadline = None if timeout is None else clock() + timeout
    while True:
        done = check()
        if done:
            return done
        left = None if deadline is None else deadline - clock()
        if left is not None and left <= 0:
            return done
        sleep(interval if left is None else min(interval, left))
        interval = min(interval * 1.5, max_interval)


def wait(kube, api_version, kind, name, namespace=None, ready=None, timeout=300, what="ready"):
    """Poll the object until ``ready(obj)`` (default :func:`is_ready`); :class:`WaitTimeout` past
    ``timeout``, carrying the last state seen in ``result['object']``. Skipped in check mode (None)."""
    if kube.check_mode:
        return None
    ready = ready or is_ready
    seen = {}

    def check():
        seen["obj"] = kube.get(api_version, kind, name, namespace)
        return seen["obj"] is not None and ready(seen["obj"])

    if poll(check, timeout, kube.sleep, kube.clock):
        return seen["obj"]
    raise WaitTimeout("Timed out after {0}s waiting for {1} to be {2}; last state: {3}".format(
        timeout, ref(kind=kind, name=name, namespace=namespace), what, summarize(seen["obj"])),
        result={"object": seen["obj"]})


def condition(obj, ctype):
    """The status ('True', 'False', 'Unknown') of condition ``ctype``, or None."""
    for cond in ((obj or {}).get("status") or {}).get("conditions") or []:
        if cond.get("type") == ctype:
            return cond.get("status")
    return None


def workload_ready(obj):
    """Deployment / StatefulSet / DaemonSet rolled out: observed, updated and available."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    meta = obj.get("metadata") or {}
    if status.get("observedGeneration", 0) < meta.get("generation", 0):
        return False
    if obj.get("kind") == "DaemonSet":
        want = status.get("desiredNumberScheduled", 0)
        return status.get("updatedNumberScheduled", 0) == want and status.get("numberAvailable", 0) == want
    want = spec.get("replicas", 1)
    return (status.get("updatedReplicas", 0) == want and status.get("readyReplicas", 0) == want
            and status.get("replicas", 0) == want
            and (obj.get("kind") == "StatefulSet" or status.get("availableReplicas", 0) == want))


def pod_ready(pod):
    return condition(pod, "Ready") == "True"


def is_ready(obj):
    """Readiness by kind: workloads rolled out, CRDs Established, Pods Ready, else a Ready condition
    when the object has one, else existence."""
    kind = obj.get("kind")
    if kind in ("Deployment", "StatefulSet", "DaemonSet"):
        return workload_ready(obj)
    if kind == "CustomResourceDefinition":
        return condition(obj, "Established") == "True"
    if kind == "Pod":
        return pod_ready(obj)
    found = condition(obj, "Ready")
    return found is None or found == "True"


def webhooks_ready(obj):
    """A webhook configuration whose every webhook has its CA bundle (istiod patches them in)."""
    return bool(obj) and all((w.get("clientConfig") or {}).get("caBundle") for w in obj.get("webhooks") or [])


def summarize(obj):
    """A short account of an object's state for timeout messages."""
    if obj is None:
        return "not found"
    status = obj.get("status") or {}
    keys = ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "phase")
    parts = ["{0}={1}".format(k, status[k]) for k in keys if k in status]
    for cond in status.get("conditions") or []:
        parts.append("{0}={1}".format(cond.get("type"), cond.get("status")))
    return ", ".join(parts) or "no status"
