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

A canary rollout (canary_shift) that is progressing, paused or promoted governs its weighted route's
destinations and mirror, its header routes and its stable and canary subsets (:func:`rollout.governs`): those
are kept as they are live (:func:`shift.defer_http`, :func:`shift.defer_subsets`), and the objects are applied
with ``force_conflicts`` (canary_shift's field manager co-owns them), so rerunning this never resets a canary.
The VirtualServices are read with one list per namespace of the declared rules and routes, for their states.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import OrderedDict

from ansible_collections.meshops.istio.plugins.module_utils import batch, ratelimit, rollout, routing, shift, validate
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
    refs = routing.declaration(problems, params, KINDS)
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


def _not_there_yet(kube, namespaces, cache):
    """In check mode, whether none of ``namespaces`` exists yet: what lives there is created by an earlier step
    that the check run only dry-ran (kube.plan's rule for objects in a missing namespace). One read each."""
    if not kube.check_mode:
        return False
    for name in (n for n in namespaces if n and ("Namespace", n) not in cache):
        cache[("Namespace", name)] = kube.get("v1", "Namespace", name) is not None
    return not any(cache[("Namespace", n)] for n in namespaces if n)


def check_cluster(module, kube, params, refs):
    """Routed subsets and Gateway credentials against the cluster; raises one InputError for all problems."""
    problems = validate.Problems()
    cache = {}
    for path, ns, host, subset in refs.routed:
        if subset in refs.subsets.get(host, ()):
            continue
        looked = {ns, _host_namespace(host)}
        if subset not in _live_subsets(kube, params, refs, looked, cache).get(host, ()):
            if _not_there_yet(kube, looked, cache):
                module.warn("check mode: namespace {0} does not exist yet, so subset {1!r} of host {2} is not checked "
                            "(an earlier step of the same run creates its DestinationRule)".format(
                                " or ".join(sorted(n for n in looked if n)), subset, host))
                continue
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


def live_objects(kube, objs):
    """Live copies of ``objs`` by key: the VirtualServices of every namespace with a declared rule or route (one
    list each: their rollout states), the rest as :meth:`kube.Kube.live_objects` reads them."""
    live = kube.live_objects([o for o in objs if o["kind"] != "VirtualService"])
    for ns in sorted(set(o["metadata"]["namespace"] for o in objs if o["kind"] in ("VirtualService",
                                                                                   "DestinationRule"))):
        for item in kube.list(routing.API_VERSION, "VirtualService", namespace=ns):
            live[kube.key(item)] = item
    return live


def defer_to_rollouts(kube, objs, live):
    """``objs`` with what governing canary rollouts own taken from the live objects; returns (objs, the keys to
    apply with force: those a rollout governs, and those an ended rollout (rolled back, aborted) still holds fields
    of, which the declaration takes back)."""
    governing, ended = {}, set()
    for key, item in live.items():
        state = rollout.read_state(item) if key[1] == "VirtualService" else None
        if state is None:
            continue
        keys = (key, (key[0], "DestinationRule", state.get("destination_rule_namespace") or key[2],
                      state.get("destination_rule")))
        for one in keys:
            if rollout.governs(state):
                governing[one] = state
            else:
                ended.add(one)
    out, forced = [], set()
    for obj in objs:
        key = kube.key(obj)
        state, have = governing.get(key), live.get(key)
        if state is not None and have is not None:
            obj = dict(obj, spec=dict(obj["spec"]))
            spec, live_spec = obj["spec"], have.get("spec") or {}
            if obj["kind"] == "VirtualService" and isinstance(spec.get("http"), list):
                spec["http"] = shift.defer_http(spec["http"], live_spec.get("http") or [], state)
            elif obj["kind"] == "DestinationRule":
                spec["subsets"] = shift.defer_subsets(spec.get("subsets"), live_spec.get("subsets"), state)
            forced.add(key)
        elif key in ended and have is not None:
            forced.add(key)
        out.append(obj)
    return out, forced


def run(module, kube):
    params = module.params
    refs = validate_params(params)
    check_cluster(module, kube, params, refs)
    objs = build(params)
    live = live_objects(kube, objs)
    objs, deferred = defer_to_rollouts(kube, objs, live)
    own = kube.plan([o for o in objs if kube.key(o) not in deferred], live=live)
    forced = kube.plan([o for o in objs if kube.key(o) in deferred], force_conflicts=True, live=live)
    doomed = stale(kube, params, objs) if params.get("prune", True) else []
    done = dict((kube.key(c.obj), c) for c in kube.commit(own) + kube.commit(forced, force_conflicts=True))
    changes = [done[kube.key(o)] for o in objs]
    by_kind = OrderedDict()
    for obj, before in doomed:  # routes first, then what they use: one kind after the other
        by_kind.setdefault(obj["kind"], []).append((obj, before))
    for group in by_kind.values():
        for (obj, before), gone in zip(group, kube.delete_all([o for o, dummy in group])):
            if gone:
                changes.append(Change(obj, "deleted", before, None))
    return result(module, kube, changes, resources=[record(o, "present") for o in objs])
