# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mesh_policy runner: validate every security object, build the Istio objects, gate STRICT mTLS on
sidecars, then apply them all through :meth:`kube.Kube.plan` / :meth:`kube.Kube.commit` (every object
dry-run on the server before anything is written; nothing written when nothing changes).

Validation runs on the options alone and collects every problem, each named by its field path
(``authorization_policies[1].rules[0].from[0].principals[2]``), before any API call. A mesh-wide
PeerAuthentication that moves to STRICT from anything but PERMISSIVE is staged: PERMISSIVE is written
first, then STRICT, both after the STRICT gate and the server's dry runs accepted the whole batch.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.meshops.istio.plugins.module_utils import mesh, validate
from ansible_collections.meshops.istio.plugins.module_utils.constants import (
    REQUIRE_JWT_SUFFIX, ROOT_NAMESPACE, SECURITY,
)
from ansible_collections.meshops.istio.plugins.module_utils.errors import ref
from ansible_collections.meshops.istio.plugins.module_utils.kube import Change
from ansible_collections.meshops.istio.plugins.module_utils.module import record, result
from ansible_collections.meshops.istio.plugins.module_utils.security import KINDS, require_jwt_policy


def validate_params(params):
    """Every check on the options alone; raises one InputError listing every problem by field path.

    With ``state: absent`` only names and namespaces are checked.
    """
    problems = validate.Problems()
    absent = params.get("state") == "absent"
    seen = {}
    for field, dummy, dummy, check, dummy in KINDS:
        for i, item in enumerate(params.get(field) or []):
            path = "{0}[{1}]".format(field, i)
            if validate.named_item(problems, path, item, field, seen) and not absent:
                check(problems, path, item, params)
    if not any(params.get(k[0]) for k in KINDS):
        problems.add("options", "give at least one of {0}".format(", ".join(k[0] for k in KINDS)))
    problems.raise_any()


def build(params):
    """The Istio objects, in the order they are applied."""
    objs = []
    for field, dummy, dummy, dummy, builder in KINDS:
        for item in params.get(field) or []:
            objs.append(builder(item))
            if field == "request_authentications" and item.get("require_jwt", True):
                objs.append(require_jwt_policy(item))
    return objs


def refs(params):
    """Kind and name of every object the options name (for state absent)."""
    objs = []
    for field, api_version, kind, dummy, dummy in KINDS:
        for item in params.get(field) or []:
            objs.append({"apiVersion": api_version, "kind": kind, "metadata": mesh.object_meta(
                item["name"], item["namespace"])})
            if field == "request_authentications" and item.get("require_jwt", True):
                objs.append({"apiVersion": SECURITY, "kind": "AuthorizationPolicy", "metadata": mesh.object_meta(
                    item["name"] + REQUIRE_JWT_SUFFIX, item["namespace"])})
    return objs


def check_strict(kube, params, changes):
    """Refuse STRICT PeerAuthentications that would be created or changed while pods in their scope lack the
    sidecar (unless force or strict_gate false)."""
    if not params.get("strict_gate", True) or params.get("force"):
        return
    refused = []
    for change in changes:
        if change.obj["kind"] != "PeerAuthentication" or change.action == "unchanged" or not mesh.is_strict(change.obj):
            continue
        lacking = mesh.lacking_sidecars(kube, change.obj, params.get("root_namespace") or ROOT_NAMESPACE)
        if lacking:
            refused.append("{0}: {1}".format(ref(change.obj), "; ".join(lacking)))
    if refused:
        mesh.refuse_strict("STRICT mTLS", refused)


def staging(changes, root_namespace):
    """The PERMISSIVE step a mesh-wide PeerAuthentication takes before it moves to STRICT from anything but
    PERMISSIVE (or from nothing)."""
    steps = []
    for change in changes:
        obj, before = change.obj, ((change.before or {}).get("spec") or {}).get("mtls") or {}
        spec = obj.get("spec") or {}
        if (obj["kind"] == "PeerAuthentication" and obj["metadata"]["namespace"] == root_namespace
                and not spec.get("selector") and (spec.get("mtls") or {}).get("mode") == "STRICT"
                and change.action != "unchanged" and before.get("mode") != "PERMISSIVE"):
            steps.append(mesh.peer_authentication(root_namespace, "PERMISSIVE", name=obj["metadata"]["name"]))
    return steps


def present(module, kube, params):
    objs = build(params)
    if params.get("validate_only"):
        return {"changed": False, "objects": [], "resources": [record(o, "valid") for o in objs],
                "definitions": objs}
    # The policies are the collection's: a field it declares that was changed by hand (kubectl edit or patch
    # made another manager its owner) is taken back, so a rerun restores what was declared.
    changes = kube.plan(objs, force_conflicts=True)
    check_strict(kube, params, changes)
    steps = staging(changes, params.get("root_namespace") or ROOT_NAMESPACE)
    if steps:
        kube.commit(kube.plan(steps, force_conflicts=True), force_conflicts=True)
    changes = kube.commit(changes, force_conflicts=True)
    return result(module, kube, changes, resources=[record(o, "present") for o in objs])


def absent(module, kube, params):
    objs = refs(params)
    if params.get("validate_only"):
        return {"changed": False, "objects": [], "resources": [record(o, "valid") for o in objs]}
    live = kube.live_objects(objs)
    doomed = [o for o in objs if kube.key(o) in live]
    deleted = [Change(obj, "deleted", live[kube.key(obj)], None)
               for obj, gone in zip(doomed, kube.delete_all(doomed)) if gone]
    return result(module, kube, deleted, resources=[record(o, "absent") for o in objs])


def run(module, kube):
    params = module.params
    validate_params(params)
    if params.get("state") == "absent":
        return absent(module, kube, params)
    return present(module, kube, params)
