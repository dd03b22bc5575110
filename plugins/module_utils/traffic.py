# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mesh_traffic runner: keep the cluster's traffic objects of one owner equal to a declared set.

1. Validate every object on the options alone (:mod:`routing`, :mod:`ratelimit`), every problem named by its
   field path, before any API call.
2. Check what needs the cluster: every routed subset exists in a DestinationRule for its host (declared here
   or live), every Gateway credential Secret exists in the namespace of the workload the Gateway selects
   (a warning when it selects none).
3. Build the objects, labelled ``meshops.istio/owner=<owner>``, and :meth:`kube.Kube.plan` them all (every
   object dry-run on the server, istiod's webhook included); then :meth:`kube.Kube.commit`.
4. Prune: objects of this owner's label (one list per kind) that the set no longer declares are deleted,
   routes before the rules and hosts they use; ``prune: false`` keeps them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import OrderedDict

from ansible_collections.meshops.istio.plugins.module_utils import batch, ratelimit, routing, validate
from ansible_collections.meshops.istio.plugins.module_utils.constants import OWNER_LABEL
from ansible_collections.meshops.istio.plugins.module_utils.kube import Change
from ansible_collections.meshops.istio.plugins.module_utils.module import record, result

# option, kind, validator; api version per kind
KINDS = routing.KINDS + (("rate_limits", ratelimit.KIND, ratelimit.validate_rate_limit),)
API_VERSIONS = dict([(kind, routing.API_VERSION) for dummy, kind, dummy in routing.KINDS]
                    + [(ratelimit.KIND, ratelimit.API_VERSION)])
SVC_SUFFIX = ".svc.cluster.local"


def validate_params(params):
    """Every check on the options alone; returns the :class:`routing.References` left to the cluster."""
    problems = validate.Problems()
    refs = routing.References()
    owner = params.get("owner")
    if not isinstance(owner, str) or not owner or len(owner) > 63 or not validate.LABEL_VALUE_RE.match(owner):
        problems.add("owner", "{0!r} is not a valid label value (letters, digits, '-', '_' and '.', starting and "
                              "ending with a letter or digit, at most 63 characters)".format(owner))
    seen = {}
    for field, kind, check in KINDS:
        for i, item in enumerate(params.get(field) or []):
            path = "{0}[{1}]".format(field, i)
            if validate.named_item(problems, path, item, kind, seen):
                check(problems, path, item, refs)
    problems.raise_any()
    return refs


def owned_meta(item, owner):
    return {"name": item["name"], "namespace": item["namespace"], "labels": {OWNER_LABEL: owner}}


def build(params):
    """The objects of the set, in the order they are written."""
    owner = params["owner"]
    objs = []
    for field, kind, dummy in routing.KINDS:
        for item in params.get(field) or []:
            objs.append({"apiVersion": routing.API_VERSION, "kind": kind, "metadata": owned_meta(item, owner),
                         "spec": item["spec"]})
    for item in params.get("rate_limits") or []:
        obj = ratelimit.envoy_filter(item)
        obj["metadata"] = owned_meta(item, owner)
        objs.append(obj)
    return objs


def _host_namespace(host):
    if isinstance(host, str) and host.endswith(SVC_SUFFIX) and host.count(".") == 4:
        return host.split(".")[1]
    return None


def _live_subsets(kube, params, refs, namespaces, cache):
    """host fqdn -> subset names of the live DestinationRules in ``namespaces`` that stay after this run
    (not replaced by a declared one, not pruned)."""
    out = {}
    for ns in sorted(n for n in namespaces if n):
        if ns not in cache:
            cache[ns] = kube.list(routing.API_VERSION, "DestinationRule", namespace=ns)
        for dr in cache[ns]:
            meta = dr.get("metadata") or {}
            if (ns, meta.get("name")) in refs.declared:
                continue
            if params.get("prune", True) and (meta.get("labels") or {}).get(OWNER_LABEL) == params["owner"]:
                continue
            spec = dr.get("spec") or {}
            out.setdefault(routing.fqdn(spec.get("host"), ns), set()).update(
                s.get("name") for s in spec.get("subsets") or [] if isinstance(s, dict))
    return out


def check_cluster(module, kube, params, refs):
    """Routed subsets and Gateway credentials against the cluster; raises one InputError for all problems."""
    problems = validate.Problems()
    cache = {}
    for path, ns, host, subset in refs.routed:
        if subset in refs.subsets.get(host, ()):
            continue
        looked = {ns, _host_namespace(host)}
        if subset not in _live_subsets(kube, params, refs, looked, cache).get(host, ()):
            problems.add(path, "subset {0!r} of host {1} is defined in no DestinationRule (neither in "
                               "destination_rules nor live in namespace {2})".format(
                                   subset, host, " or ".join(sorted(n for n in looked if n))))
    for path, ns, selector, credentials in refs.gateways:
        if not isinstance(selector, dict) or not selector:
            continue
        labels = ",".join("{0}={1}".format(k, val) for k, val in sorted(selector.items()))
        pods = kube.list("v1", "Pod", label_selector=labels)
        places = sorted(set((p.get("metadata") or {}).get("namespace") for p in pods))
        if not places:
            module.warn("{0} (a Gateway in {1}): selector {2} matches no workload's pods, so no gateway serves "
                        "it".format(path, ns, labels))
            continue
        for cpath, name in credentials:
            for place in places:
                if kube.get("v1", "Secret", name, place) is None:
                    problems.add(cpath, "Secret {0!r} does not exist in namespace {1}, where the gateway workload "
                                        "the selector {2} matches runs; create it there".format(name, place, labels))
    problems.raise_any()


def stale(kube, params, objs):
    """Objects labelled with this owner that ``objs`` no longer holds: routes first, then what they use."""
    keep = set(kube.key(o) for o in objs)
    selector = "{0}={1}".format(OWNER_LABEL, params["owner"])
    kinds = [kind for dummy, kind, dummy in reversed(KINDS)]
    found = batch.values(kube.parallel([lambda k=k: kube.list(API_VERSIONS[k], k, label_selector=selector)
                                        for k in kinds]))
    out = []
    for kind, items in zip(kinds, found):
        for live in items:
            meta = live.get("metadata") or {}
            obj = {"apiVersion": API_VERSIONS[kind], "kind": kind,
                   "metadata": {"name": meta.get("name"), "namespace": meta.get("namespace")}}
            if kube.key(obj) not in keep:
                out.append((obj, live))
    return out


def run(module, kube):
    params = module.params
    refs = validate_params(params)
    check_cluster(module, kube, params, refs)
    objs = build(params)
    changes = kube.plan(objs)
    doomed = stale(kube, params, objs) if params.get("prune", True) else []
    changes = kube.commit(changes)
    by_kind = OrderedDict()
    for obj, before in doomed:  # routes first, then what they use: one kind after the other
        by_kind.setdefault(obj["kind"], []).append((obj, before))
    for group in by_kind.values():
        for (obj, before), gone in zip(group, kube.delete_all([o for o, dummy in group])):
            if gone:
                changes.append(Change(obj, "deleted", before, None))
    return result(module, kube, changes, resources=[record(o, "present") for o in objs])
