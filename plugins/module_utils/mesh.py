# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mesh model every runner shares: namespaces and their workloads, injection labels and injectors,
the STRICT mTLS gate, and the PeerAuthentication / deny-all builders.

Reads go through :class:`kube.Kube`; nothing here writes except :func:`label_namespace`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import OrderedDict

from ansible_collections.meshops.istio.plugins.module_utils.constants import (
    APPS, DENY_ALL, INJECTION_LABEL, PEER_AUTHENTICATION, PROTECTED_NAMESPACES, REVISION_LABEL, SECURITY, SIDECAR,
    TAG_LABEL, WEBHOOKS, WORKLOAD_KINDS,
)
from ansible_collections.meshops.istio.plugins.module_utils import validate
from ansible_collections.meshops.istio.plugins.module_utils.errors import ApiError, InputError
from ansible_collections.meshops.istio.plugins.module_utils.workloads import group, matches, meta


class Namespace:
    """One namespace in scope: its live object, its workloads, and what a run plans for it."""

    def __init__(self, obj, new=False):
        self.obj = obj
        self.name = meta(obj)["name"]
        self.new = new  # created by this run (create_namespaces)
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
    def labelled(self):
        return self.label_change is not None and self.label_change.action != "unchanged"

    @property
    def touched(self):
        return self.labelled or any(w.done for w in self.workloads.values())


def onboard_namespace(problems, path, name):
    """A namespace that may be onboarded: a valid name, and not a system namespace."""
    validate.dns_label(problems, path, name)
    if name in PROTECTED_NAMESPACES:
        problems.add(path, "{0} is a system namespace and is never onboarded (system namespaces: {1})".format(
            name, ", ".join(PROTECTED_NAMESPACES)))


def select_namespaces(kube, names=None, selector=None, warn=None, create=None):
    """The live namespaces in scope, never a system one: ``names`` (all must exist, unless ``create``: then the
    missing ones come as new Namespace objects without resourceVersion; else InputError naming them, and the
    create_namespaces option when the caller has one, ``create`` False rather than None), or those a label
    ``selector`` matches (system ones skipped with a warning)."""
    warn = warn or (lambda msg: None)
    if names:
        wanted = list(OrderedDict((n, True) for n in names))
        live = dict((meta(o)["name"], o) for o in kube.list("v1", "Namespace"))
        missing = [n for n in wanted if n not in live]
        if missing and not create:
            raise InputError("namespaces: not found: {0}; create them first{1} (nothing was written)".format(
                ", ".join(missing), "" if create is None else ", or set create_namespaces"))
        return [live.get(n) or namespace_object(n) for n in wanted]
    selector = (selector or "").strip()
    try:
        found = kube.list("v1", "Namespace", label_selector=selector)
    except ApiError as exc:
        if exc.status == 400:
            raise InputError("namespace_selector {0!r} is not a valid label selector (for example team=shop "
                             "or team in (shop,pay)): {1}".format(selector, exc.msg))
        raise
    skipped = sorted(meta(o)["name"] for o in found if meta(o)["name"] in PROTECTED_NAMESPACES)
    if skipped:
        warn("namespace_selector {0!r} matches system namespaces, which are never onboarded: {1}".format(
            selector, ", ".join(skipped)))
    if not found:
        warn("namespace_selector {0!r} matches no namespace".format(selector))
    return sorted((o for o in found if meta(o)["name"] not in PROTECTED_NAMESPACES), key=lambda o: meta(o)["name"])


# -- injection ------------------------------------------------------------------------------

def injection_labels(revision):
    """The namespace labels to merge: the wanted one, and the other one removed (``None``):
    ``istio-injection`` takes precedence over ``istio.io/rev``, so only one may be set."""
    if revision:
        return OrderedDict([(REVISION_LABEL, revision), (INJECTION_LABEL, None)])
    return OrderedDict([(INJECTION_LABEL, "enabled"), (REVISION_LABEL, None)])


def namespace_object(name, labels=None):
    """A Namespace to create, with ``labels`` (a ``None`` value: left out)."""
    obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    wanted = dict((k, v) for k, v in (labels or {}).items() if v is not None)
    if wanted:
        obj["metadata"]["labels"] = wanted
    return obj


def has_labels(ns_obj, labels):
    """The namespace carries ``labels`` (a ``None`` value: does not carry that label)."""
    have = meta(ns_obj).get("labels") or {}
    return all(have.get(k) == v if v is not None else k not in have for k, v in labels.items())


def label_namespace(kube, name, labels, dry_run):
    """JSON merge patch of a namespace's labels (``None`` removes a label, which server-side apply
    cannot do for a label another field manager set). Dry run when asked and in check mode."""
    return kube.patch("v1", "Namespace", name, {"metadata": {"labels": dict(labels)}}, action="label",
                      dry_run=dry_run)


def is_injected(ns_obj):
    """The namespace is labelled for injection (istio-injection=enabled, or istio.io/rev not overridden)."""
    labels = meta(ns_obj).get("labels") or {}
    return labels.get(INJECTION_LABEL) == "enabled" or (
        REVISION_LABEL in labels and labels.get(INJECTION_LABEL) != "disabled")


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
        labels = meta(hook).get("labels") or {}
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


# -- the STRICT gate --------------------------------------------------------------------------

def is_strict(obj):
    """A PeerAuthentication that sets STRICT mTLS, as its mode or on a port."""
    spec = obj.get("spec") or {}
    return (spec.get("mtls") or {}).get("mode") == "STRICT" or any(
        (m or {}).get("mode") == "STRICT" for m in (spec.get("portLevelMtls") or {}).values())


def strict_scope(kube, obj, root_namespace):
    """The namespaces a PeerAuthentication covers: mesh-wide (root namespace, no selector) every namespace
    labelled for injection but the system ones; else its own namespace."""
    namespace = meta(obj)["namespace"]
    selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels")
    if namespace == root_namespace and not selector:
        return sorted((n for n in kube.list("v1", "Namespace")
                       if is_injected(n) and meta(n)["name"] not in PROTECTED_NAMESPACES),
                      key=lambda n: meta(n)["name"])
    found = kube.get("v1", "Namespace", namespace)
    return [found] if found else []


def lacking_sidecars(kube, obj, root_namespace):
    """Workloads in the scope of a STRICT PeerAuthentication with pods lacking the sidecar, as
    ``namespace/Kind/name (pods)``; only the pods its selector matches."""
    selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels")
    out = []
    for ns_obj in strict_scope(kube, obj, root_namespace):
        ns = Namespace(ns_obj)
        ns.discover(kube)
        for work in ns.workloads.values():
            missing = [p for p in work.missing() if matches(p, selector)]
            if missing:
                out.append("{0} ({1})".format(work.id, ", ".join(meta(p).get("name") for p in missing[:5])))
    return out


def refuse_strict(subject, lacking, written=False, result=None):
    """The one refusal of STRICT mTLS while workloads lack the sidecar: raises InputError listing them."""
    raise InputError(
        "{0} refused: these workloads have pods without the {1} sidecar, which STRICT mTLS would cut off:\n- {2}\n"
        "Onboard them (meshops.istio.mesh_onboard), or set force: true to apply STRICT anyway. {3}".format(
            subject, SIDECAR, "\n- ".join(lacking),
            "PeerAuthentication not written." if written else "Nothing was written."), result=result)


# -- policy builders ----------------------------------------------------------------------------

def object_meta(name, namespace):
    return {"name": name, "namespace": namespace}


def with_selector(spec, selector):
    if selector:
        spec["selector"] = {"matchLabels": dict(selector)}
    return spec


def peer_authentication(namespace, mode=None, name=PEER_AUTHENTICATION, selector=None, port_level=None):
    """A PeerAuthentication: ``mode`` for the namespace (or the selected workloads), ``port_level`` a mapping
    of port number to mode."""
    spec = with_selector({}, selector)
    if mode:
        spec["mtls"] = {"mode": mode}
    if port_level:
        spec["portLevelMtls"] = dict((str(p), {"mode": m}) for p, m in sorted(port_level.items()))
    return {"apiVersion": SECURITY, "kind": "PeerAuthentication", "metadata": object_meta(name, namespace),
            "spec": spec}


def deny_all(namespace, name=DENY_ALL):
    """The AuthorizationPolicy that allows nothing (ALLOW, no rules): denies every request no other policy allows.
    Action and rules are written although they are Istio's defaults (mesh_policy writes a policy without rules
    the same way, so the two never take fields from each other), so an action flipped by hand (an AUDIT, which
    opens the namespace) is put back by the next run."""
    return {"apiVersion": SECURITY, "kind": "AuthorizationPolicy", "metadata": object_meta(name, namespace),
            "spec": {"action": "ALLOW", "rules": []}}


def customized_deny_all(live):
    """What makes a live deny-all more than one (rules, a selector, a provider: someone's own policy under the
    name, left as it is), as ``spec.<field>`` names; [] for a deny-all (its action aside, which is put back)."""
    spec = (live or {}).get("spec") or {}
    return ["spec." + k for k in sorted(spec) if k not in ("action", "rules") or (k == "rules" and spec[k])]
