# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The istio_install runner: render, plan against the server, apply, prune, wait."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.meshops.istio.plugins.module_utils import istio
from ansible_collections.meshops.istio.plugins.module_utils.diff import normalize
from ansible_collections.meshops.istio.plugins.module_utils.errors import ApiError, InputError, WaitTimeout, ref
from ansible_collections.meshops.istio.plugins.module_utils.kube import diff_entries, is_ready, record


def validate(params):
    """Checks that need neither a tool nor the cluster."""
    istio.validate_revision(params.get("revision"))
    istio.validate_sets(params.get("set"))
    if params.get("version"):
        istio.version_tuple(params["version"])
    if params.get("operator") and params["method"] != "istioctl":
        raise InputError("operator (an IstioOperator overlay) needs method istioctl; with method helm use values")


def check_version(params, renderer, tool_version):
    wanted = params.get("version")
    if wanted and not istio.version_matches(wanted, tool_version):
        raise InputError("version {0} was asked but {1} at {2} renders Istio {3}; use the {0} {1} "
                         "(istioctl_path / helm_path / chart_version)".format(
                             wanted, renderer.tool, renderer.path, tool_version))


def install_selector(revision):
    return "{0},{1}={2}".format(istio.COMPONENT_LABEL, istio.REVISION_LABEL, istio.revision_name(revision))


def find_installed(kube, revision, kinds=istio.INSTALL_KINDS, label_selector=None):
    """Objects of this revision's install, found by Istio's own labels (one list per kind)."""
    found = []
    for api_version, kind in kinds:
        found.extend(kube.list(api_version, kind, label_selector=label_selector or install_selector(revision)))
    return found


def current_istiod(kube, revision):
    deployments = kube.list("apps/v1", "Deployment", namespace=istio.ISTIO_NAMESPACE,
                            label_selector="app=istiod,{0}={1}".format(
                                istio.REVISION_LABEL, istio.revision_name(revision)))
    return deployments[0] if deployments else None


def readiness(kube, objs, timeout, wait):
    """Wait for the install's Deployments and webhooks; returns {component: ready}."""
    ready = {}
    for obj in objs:
        meta = obj.get("metadata") or {}
        if obj.get("kind") == "Deployment":
            if wait and not kube.check_mode:
                kube.wait("apps/v1", "Deployment", meta["name"], meta.get("namespace"), timeout=timeout)
                ready[meta["name"]] = True
            else:
                live = kube.get("apps/v1", "Deployment", meta["name"], meta.get("namespace"))
                ready[meta["name"]] = bool(live and is_ready(live))
    hooks = [o for o in objs if o.get("kind") in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")]
    if hooks:
        ok = True
        for hook in hooks:
            live = kube.get(hook["apiVersion"], hook["kind"], hook["metadata"]["name"])
            ok = ok and bool(live) and all((w.get("clientConfig") or {}).get("caBundle")
                                           for w in live.get("webhooks") or [])
        ready["webhooks"] = ok
    return ready


def check_other_revisions(objs, live, kube, revision, take_over):
    """Refuse to take over objects another revision owns (a gateway rendered by both, say)."""
    mine = istio.revision_name(revision)
    taken = []
    for obj in objs:
        current = live.get(kube.key(obj))
        owner = ((current or {}).get("metadata", {}).get("labels") or {}).get(istio.REVISION_LABEL)
        if owner and owner != mine:
            taken.append("{0} (revision {1})".format(ref(obj), owner))
    if taken and not take_over:
        raise InputError("installing revision {0} would take over objects of another revision: {1}. Leave their "
                         "component out (for example ingress_gateway: false) or set take_over to move them to "
                         "revision {0}".format(mine, ", ".join(taken)))


def summary(changes, pruned):
    counts = {"created": 0, "updated": 0, "unchanged": 0, "pruned": len(pruned)}
    for change in changes:
        counts[change.action] += 1
    return counts


def present(module, kube, params):
    renderer = istio.renderer_for(module, params)
    tool_version = renderer.version()
    check_version(params, renderer, tool_version)
    revision = params.get("revision") or ""
    opts = dict(params, revision=revision)
    rendered = renderer.render(opts)
    if not rendered:
        raise InputError("rendering profile {0!r} produced no objects".format(params["profile"]))

    istiod = current_istiod(kube, revision)
    running = istio.installed_version(istiod)
    if running and not params["allow_downgrade"]:
        try:
            older = istio.version_tuple(tool_version) < istio.version_tuple(running)
        except InputError:
            older = False
        if older:
            raise InputError("Istio {0} is installed (revision {1}); installing {2} would downgrade it. "
                             "Set allow_downgrade to do so.".format(
                                 running, istio.revision_name(revision), tool_version))

    crds = [o for o in rendered if istio.is_crd(o)]
    rest = [o for o in rendered if not istio.is_crd(o) and o.get("kind") != "Namespace"]
    namespaces = [o for o in rendered if o.get("kind") == "Namespace"] + istio.namespaces_of(rest)

    # Objects the server cannot judge yet: those in namespaces this change creates, and
    # custom resources whose CRD this change creates. They are planned as created.
    live_ns = kube.live_objects(namespaces)
    new_ns = set(n["metadata"]["name"] for n in namespaces if kube.key(n) not in live_ns)
    pending = set()
    for obj in rest:
        ns = (obj.get("metadata") or {}).get("namespace")
        if ns in new_ns or not kube.served(obj["apiVersion"], obj["kind"]):
            pending.add(kube.key(obj))

    live = kube.live_objects([o for o in rest if kube.key(o) not in pending])
    check_other_revisions(rest, live, kube, revision, params["take_over"])
    rest = [istio.without_runtime_fields(o, live.get(kube.key(o))) for o in rest]
    force = params["force_conflicts"]
    live.update(live_ns)
    live.update(kube.live_objects(crds))
    changes = kube.plan(crds + namespaces + rest, force_conflicts=force, assume_absent=pending, live=live)

    wanted = set(kube.key(o) for o in rendered)
    prune = []
    if params["prune"]:
        prune = [o for o in find_installed(kube, revision) if kube.key(o) not in wanted]

    if not kube.check_mode:
        by_key = dict((kube.key(c.obj), c) for c in changes)
        first = [by_key[kube.key(o)] for o in crds + namespaces]
        applied = kube.commit(first, force_conflicts=force)
        for crd in crds:
            if by_key[kube.key(crd)].action != "unchanged":
                kube.wait(crd["apiVersion"], crd["kind"], crd["metadata"]["name"], timeout=params["wait_timeout"],
                          what="Established")
        if any(c.action == "created" for c in first):
            kube.forget_resources()
        second = [by_key[kube.key(o)] for o in rest]
        # Pending objects can be judged now that their namespace and CRDs exist.
        judged = kube.plan([c.obj for c in second if kube.key(c.obj) in pending], force_conflicts=force)
        judged = dict((kube.key(c.obj), c) for c in judged)
        second = [judged.get(kube.key(c.obj), c) for c in second]
        applied += kube.commit(second, force_conflicts=force)
        changes = applied
        for obj in prune:
            kube.delete(obj)

    counts = summary(changes, prune)
    try:
        ready = readiness(kube, rendered, params["wait_timeout"], params["wait"])
    except WaitTimeout as exc:
        # The objects were written: say so, and what, with the state the wait reached.
        exc.result.update(changed=True, counts=counts, objects=[
            record(c.obj, c.action) for c in changes if c.action != "unchanged"])
        raise
    result = {
        "changed": bool(prune) or any(c.action != "unchanged" for c in changes),
        "version": tool_version,
        "revision": istio.revision_name(revision),
        "profile": params["profile"],
        "method": params["method"],
        "readiness": ready,
        "counts": counts,
        "objects": [record(c.obj, c.action) for c in changes if c.action != "unchanged"]
        + [record(o, "pruned") for o in prune],
    }
    if module._diff:
        result["diff"] = diff_entries(changes) + [
            {"before": normalize(o), "after": {}, "before_header": "{0} (pruned)".format(ref(o)),
             "after_header": "{0} (pruned)".format(ref(o))} for o in prune]
    return result


def revision_specific(obj, revision):
    """True when the object's name carries the revision (istiod-canary, istiod-clusterrole-canary-istio-system):
    revision-specific objects Istio renders without its labels; shared ones (istio-reader-service-account)
    carry no revision in their name."""
    name = (obj.get("metadata") or {}).get("name", "")
    return bool(revision) and ("-{0}-".format(revision) in name or name.endswith("-" + revision))


def absent(module, kube, params):
    revision = params.get("revision") or ""
    targets = find_installed(kube, revision, label_selector="{0}={1}".format(
        istio.REVISION_LABEL, istio.revision_name(revision)))
    seen = set(kube.key(o) for o in targets)
    # What Istio renders for the revision without its labels (RBAC, service account): by rendering it.
    renderer = istio.renderer_for(module, params)
    for obj in renderer.render(dict(params, revision=revision)):
        if istio.is_crd(obj) or kube.key(obj) in seen:
            continue
        if revision and not revision_specific(obj, revision):
            continue
        found = kube.live_objects([obj]).get(kube.key(obj))
        if found:
            targets.append(found)
            seen.add(kube.key(found))
    if params["purge"]:
        targets += kube.list(*istio.CRD, label_selector=istio.COMPONENT_LABEL)
    # Delete workloads and webhooks before the RBAC and CRDs they need.
    order = {"MutatingWebhookConfiguration": 0, "ValidatingWebhookConfiguration": 0, "Deployment": 1,
             "CustomResourceDefinition": 9}
    targets.sort(key=lambda o: order.get(o.get("kind"), 5))
    deleted = [o for o in targets if kube.delete(o)]
    result = {
        "changed": bool(deleted),
        "revision": istio.revision_name(revision),
        "counts": {"created": 0, "updated": 0, "unchanged": 0, "pruned": len(deleted)},
        "objects": [record(o, "deleted") for o in deleted],
        "readiness": {},
    }
    if module._diff:
        result["diff"] = [{"before": normalize(o), "after": {}, "before_header": ref(o), "after_header": ref(o)}
                          for o in deleted]
    return result


def run(module, kube):
    params = module.params
    validate(params)
    if params["state"] == "absent":
        return absent(module, kube, params)
    try:
        return present(module, kube, params)
    except ApiError as exc:
        if exc.status == 403:
            exc.msg += " (the credentials in use lack an RBAC permission istio_install needs{0})".format(
                "" if kube.wrote else "; nothing was written")
            exc.args = (exc.msg,)
        raise
