# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The istio_install runner: render (:mod:`render`), plan against the server, apply, prune, wait."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.meshops.istio.plugins.module_utils import batch, iop, render, validate, waiter
from ansible_collections.meshops.istio.plugins.module_utils.constants import (
    APPS, COMPONENT_LABEL, CRD, ISTIO_NAMESPACE, REVISION_LABEL,
)
from ansible_collections.meshops.istio.plugins.module_utils.errors import InputError, WaitTimeout, ref
from ansible_collections.meshops.istio.plugins.module_utils.kube import Change
from ansible_collections.meshops.istio.plugins.module_utils.module import record, result


def validate_params(params):
    """Checks that need neither a tool nor the cluster: every problem by field path, mesh_config, values and
    the operator overlay against Istio's own schema (:mod:`iop`)."""
    validate.revision(params.get("revision"))
    render.validate_sets(params.get("set"))
    if params.get("version"):
        render.version_tuple(params["version"])
    if params.get("operator") and params["method"] != "istioctl":
        raise InputError("operator (an IstioOperator overlay) needs method istioctl; with method helm use values")
    problems = validate.Problems()
    validate.timeout(problems, "wait_timeout", params.get("wait_timeout"))
    iop.check_mesh_config(problems, "mesh_config", params.get("mesh_config") or {})
    iop.check_values(problems, "values", params.get("values") or {}, top_level_free=params.get("method") == "helm")
    if params.get("operator") is not None:
        iop.check_operator(problems, "operator", params["operator"], params.get("revision") or "")
    problems.raise_any()


def check_version(params, renderer, tool_version):
    wanted = params.get("version")
    if wanted and not render.version_matches(wanted, tool_version):
        raise InputError("version {0} was asked but {1} at {2} renders Istio {3}; use the {0} {1} "
                         "(istioctl_path / helm_path / chart_version)".format(
                             wanted, renderer.tool, renderer.path, tool_version))


def install_selector(revision):
    return "{0},{1}={2}".format(COMPONENT_LABEL, REVISION_LABEL, render.revision_name(revision))


def find_installed(kube, revision, kinds=render.INSTALL_KINDS, label_selector=None):
    """Objects of this revision's install, found by Istio's own labels (one list per kind)."""
    selector = label_selector or install_selector(revision)
    lists = batch.values(kube.parallel([lambda a=a, k=k: kube.list(a, k, label_selector=selector) for a, k in kinds]))
    return [obj for items in lists for obj in items]


def current_istiod(kube, revision):
    deployments = kube.list(APPS, "Deployment", namespace=ISTIO_NAMESPACE,
                            label_selector="app=istiod,{0}={1}".format(
                                REVISION_LABEL, render.revision_name(revision)))
    return deployments[0] if deployments else None


def readiness(kube, objs, timeout, wait):
    """Wait for the install's Deployments and webhooks; returns {component: ready}."""
    ready = {}
    for obj in objs:
        meta = obj.get("metadata") or {}
        if obj.get("kind") == "Deployment":
            if wait and not kube.check_mode:
                waiter.wait(kube, APPS, "Deployment", meta["name"], meta.get("namespace"), timeout=timeout)
                ready[meta["name"]] = True
            else:
                live = kube.get(APPS, "Deployment", meta["name"], meta.get("namespace"))
                ready[meta["name"]] = bool(live and waiter.is_ready(live))
    hooks = [o for o in objs if o.get("kind") in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")]
    if hooks:
        ready["webhooks"] = all(waiter.webhooks_ready(kube.get(h["apiVersion"], h["kind"], h["metadata"]["name"]))
                                for h in hooks)
    return ready


def check_other_revisions(objs, live, kube, revision, take_over):
    """Refuse to take over objects another revision owns (a gateway rendered by both, say)."""
    mine = render.revision_name(revision)
    taken = []
    for obj in objs:
        current = live.get(kube.key(obj))
        owner = ((current or {}).get("metadata", {}).get("labels") or {}).get(REVISION_LABEL)
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
    renderer = render.renderer_for(module, params)
    tool_version = renderer.version()
    check_version(params, renderer, tool_version)
    revision = params.get("revision") or ""
    opts = dict(params, revision=revision)
    rendered = renderer.render(opts)
    if not rendered:
        raise InputError("rendering profile {0!r} produced no objects".format(params["profile"]))

    istiod = current_istiod(kube, revision)
    running = render.installed_version(istiod)
    if running and not params["allow_downgrade"]:
        try:
            older = render.version_tuple(tool_version) < render.version_tuple(running)
        except InputError:
            older = False
        if older:
            raise InputError("Istio {0} is installed (revision {1}); installing {2} would downgrade it. "
                             "Set allow_downgrade to do so.".format(
                                 running, render.revision_name(revision), tool_version))

    crds = [o for o in rendered if render.is_crd(o)]
    rest = [o for o in rendered if not render.is_crd(o) and o.get("kind") != "Namespace"]
    namespaces = [o for o in rendered if o.get("kind") == "Namespace"] + render.namespaces_of(rest)

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
    rest = [render.without_runtime_fields(o, live.get(kube.key(o))) for o in rest]
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
        batch.values(kube.parallel([
            lambda c=crd: waiter.wait(kube, c["apiVersion"], c["kind"], c["metadata"]["name"],
                                      timeout=params["wait_timeout"], what="Established")
            for crd in crds if by_key[kube.key(crd)].action != "unchanged"]))
        if any(c.action == "created" for c in first):
            kube.forget_resources()
        second = [by_key[kube.key(o)] for o in rest]
        # Pending objects can be judged now that their namespace and CRDs exist.
        judged = kube.plan([c.obj for c in second if kube.key(c.obj) in pending], force_conflicts=force)
        judged = dict((kube.key(c.obj), c) for c in judged)
        second = [judged.get(kube.key(c.obj), c) for c in second]
        applied += kube.commit(second, force_conflicts=force)
        changes = applied
        kube.delete_all(prune)

    counts = summary(changes, prune)
    try:
        ready = readiness(kube, rendered, params["wait_timeout"], params["wait"])
    except WaitTimeout as exc:
        # The objects were written: say so, and what, with the state the wait reached.
        exc.result.update(changed=True, counts=counts, objects=[
            record(c.obj, c.action) for c in changes if c.action != "unchanged"])
        raise
    return result(module, kube, changes + [Change(o, "pruned", o, None) for o in prune],
                  version=tool_version, revision=render.revision_name(revision), profile=params["profile"],
                  method=params["method"], readiness=ready, counts=counts)


def revision_specific(obj, revision):
    """True when the object's name carries the revision (istiod-canary, istiod-clusterrole-canary-istio-system):
    revision-specific objects Istio renders without its labels; shared ones (istio-reader-service-account)
    carry no revision in their name."""
    name = (obj.get("metadata") or {}).get("name", "")
    return bool(revision) and ("-{0}-".format(revision) in name or name.endswith("-" + revision))


def absent(module, kube, params):
    revision = params.get("revision") or ""
    targets = find_installed(kube, revision, label_selector="{0}={1}".format(
        REVISION_LABEL, render.revision_name(revision)))
    seen = set(kube.key(o) for o in targets)
    # What Istio renders for the revision without its labels (RBAC, service account): by rendering it.
    renderer = render.renderer_for(module, params)
    objs = renderer.render(dict(params, revision=revision))
    rest = [o for o in objs if not render.is_crd(o) and kube.key(o) not in seen
            and (not revision or revision_specific(o, revision))]
    live = kube.live_objects(rest)
    for obj in rest:
        if kube.key(obj) in live and kube.key(obj) not in seen:
            targets.append(live[kube.key(obj)])
            seen.add(kube.key(obj))
    if params["purge"]:
        # Istio's CRDs: those the renderer renders (recent charts leave out Istio's install labels), and any
        # other labelled as part of an Istio install.
        names = set(o["metadata"]["name"] for o in objs if render.is_crd(o))
        targets += [c for c in kube.list(*CRD) if c["metadata"]["name"] in names
                    or COMPONENT_LABEL in (c["metadata"].get("labels") or {})]
    # Delete workloads and webhooks before the RBAC and CRDs they need.
    order = {"MutatingWebhookConfiguration": 0, "ValidatingWebhookConfiguration": 0, "Deployment": 1,
             "CustomResourceDefinition": 9}
    deleted = []
    for group in batch.phases(targets, lambda o: order.get(o.get("kind"), 5)):
        deleted += [o for o, gone in zip(group, kube.delete_all(group)) if gone]
    return result(module, kube, [Change(o, "deleted", o, None) for o in deleted],
                  revision=render.revision_name(revision), readiness={},
                  counts={"created": 0, "updated": 0, "unchanged": 0, "pruned": len(deleted)})


def run(module, kube):
    params = module.params
    validate_params(params)
    if params["state"] == "absent":
        return absent(module, kube, params)
    return present(module, kube, params)
