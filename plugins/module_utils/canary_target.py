# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a canary rollout targets, checked before its first write: the named route of the VirtualService and its
destination to the stable subset, the stable and canary subsets of the DestinationRule (added or relabelled
when their labels are given), the canary's match rules within the route's own, and a Ready pod of the Service
behind each subset (a subset that selects none is where 503s come from). Every problem is raised at once, and
nothing is written when there is one."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.meshops.istio.plugins.module_utils import analysis, shift
from ansible_collections.meshops.istio.plugins.module_utils import validate as v
from ansible_collections.meshops.istio.plugins.module_utils.errors import InputError
from ansible_collections.meshops.istio.plugins.module_utils.routing import fqdn
from ansible_collections.meshops.istio.plugins.module_utils.waiter import pod_ready


def route_name(cfg, ns, http):
    """The route to shift: ``cfg['route']``, else the VirtualService's one named catch-all route."""
    name = cfg.get("route")
    if not name:
        name, why = shift.default_route(http)
        if not name:
            raise InputError("route: VirtualService {0}/{1} has no single named catch-all route ({2}); name the "
                             "route to shift (route); nothing was written".format(ns, cfg["virtual_service"], why))
    return name


def target(cfg, ns, http, subsets, dr_name, state):
    """``(target, route, matches, new subsets or None, subsets before or None, {subset: labels})`` of a new
    rollout; raises InputError naming every problem."""
    problems = v.Problems()
    name = route_name(cfg, ns, http)
    dummy, route = shift.find_route(http, name)
    stable, canary = cfg["stable_subset"], cfg["canary_subset"]
    if route is None:
        raise InputError("route: VirtualService {0}/{1} has no HTTP route named {2!r} (it has {3}); nothing was "
                         "written".format(ns, cfg["virtual_service"], name, [r.get("name") for r in http]))
    entry = shift.stable_destination(route, stable)
    if entry is None:
        problems.add("stable_subset", "route {0!r} sends nothing to subset {1!r}; route it there first".format(
            name, stable))
    header = shift.header_route_name(name)
    if shift.find_route(http, header)[1] is not None and header not in ((state or {}).get("header_routes") or []):
        problems.add("route", "VirtualService {0}/{1} has a route named {2!r} already (the name of the canary's header "
                              "route)".format(ns, cfg["virtual_service"], header))
    matches, conflicts = shift.combine_matches(route.get("match"), cfg["match"])
    for key in conflicts:
        problems.add("match", "{0!r} is matched differently by route {1!r} itself".format(key, name))
    new, before, labels = list(subsets), None, {}
    for key, subset_name in (("stable_labels", stable), ("canary_labels", canary)):
        live = shift.subset(new, subset_name)
        want = cfg.get(key)
        if want and (live is None or live.get("labels") != want):
            before = list(subsets)
            new = shift.subsets_with(new, subset_name, want)
        elif live is None:
            problems.add(key, "DestinationRule {0}/{1} has no subset {2!r}; define it, or give {3}".format(
                ns, dr_name, subset_name, key))
        labels[subset_name] = want or (live or {}).get("labels") or {}
    problems.raise_any()
    out = {"route": name, "stable": stable, "canary": canary, "host": entry["destination"].get("host"),
           "destination_rule": dr_name, "destination_rule_namespace": ns, "canary_labels": labels[canary],
           "header_routes": [header] if matches else []}
    return out, route, matches, new if before is not None else None, before, labels


def service_of(host, ns):
    """(name, namespace) of the Kubernetes Service a route's host names."""
    full = fqdn(host, ns)
    parts = full.split(".") if isinstance(full, str) else []
    if len(parts) != 5 or not full.endswith(".svc.cluster.local"):
        raise InputError("host {0!r} is not a Kubernetes Service (<name>.<namespace>.svc.cluster.local); nothing "
                         "was written".format(host))
    return parts[0], parts[1]


def ready_pods(kube, cfg, ns, host, labels):
    """``(metric labels, problems)``: the labels of the canary's metric series, and a :class:`validate.Problems`
    naming each subset (``labels``: subset name -> pod labels) that selects no Ready pod of the Service. One GET
    of the Service, one list of its pods."""
    name, namespace = service_of(host, ns)
    svc = kube.get("v1", "Service", name, namespace)
    if svc is None:
        raise InputError("Service {0}/{1} (host {2}) does not exist; nothing was written".format(namespace, name, host))
    selector = (svc.get("spec") or {}).get("selector") or {}
    pods = kube.list("v1", "Pod", namespace=namespace, label_selector=",".join(
        "{0}={1}".format(k, val) for k, val in sorted(selector.items())) or None)
    problems, revisions = v.Problems(), set()
    for subset_name, want in sorted(labels.items()):
        ready = [p for p in pods if pod_ready(p) and not (p.get("metadata") or {}).get("deletionTimestamp")
                 and all(((p.get("metadata") or {}).get("labels") or {}).get(k) == x for k, x in want.items())]
        if not ready:
            problems.add("canary_subset" if subset_name == cfg["canary_subset"] else "stable_subset",
                         "subset {0!r} ({1}) selects no Ready pod of Service {2}/{3}: routing to it would fail with "
                         "503".format(subset_name, want, namespace, name))
        elif subset_name == cfg["canary_subset"]:
            revisions.update(analysis.canonical_revision(p["metadata"].get("labels") or {}) for p in ready)
    return analysis.metric_labels(name, namespace, sorted(revisions)[0] if revisions else "latest",
                                  cfg["analysis"]["metric_labels"]), problems
