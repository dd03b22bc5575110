# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a canary rollout does to a VirtualService's HTTP routes and a DestinationRule's subsets, as pure
functions of the live lists and the rollout state (:mod:`rollout`).

* The *weighted route* (a named HTTP route) gets, per step, its stable and canary destinations with the step's
  weights (and a mirror to the canary when the step asks for one); every other field of it stays.
* The *header routes* (one route named ``<route>-canary``, the canary's ``match`` rules combined with the
  weighted route's own) send matching requests to the canary for the whole rollout; they are always placed
  directly ahead of the weighted route.
* Rollback puts back the weighted route's routing fields as they were before the rollout (when that was all
  to stable; otherwise only the stable destination) and removes the header routes unless told to keep them;
  promotion leaves 100% on the canary, or with ``finalize`` moves the stable subset's labels to the canary's
  and puts the original routing back.
* :func:`defer_http` and :func:`defer_subsets` are how mesh_traffic leaves a governing rollout's fields alone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

# The fields of the weighted route a rollout owns (its destinations and the mirror to the canary).
ROUTING_KEYS = ("route", "mirror", "mirrorPercentage", "mirrors")
HEADER_SUFFIX = "-canary"


def header_route_name(route):
    return route + HEADER_SUFFIX


def find_route(http, name):
    """(index, route) of the HTTP route called ``name``, or (None, None)."""
    for i, rule in enumerate(http or []):
        if isinstance(rule, dict) and rule.get("name") == name:
            return i, rule
    return None, None


def default_route(http):
    """The name of the one HTTP route without ``match`` (the catch-all), or None when there is none or more.
    Returns (name, reason) where reason says why there is none."""
    catch_all = [r for r in http or [] if isinstance(r, dict) and not r.get("match")]
    if len(catch_all) != 1:
        return None, "it has {0} HTTP routes without match".format(len(catch_all))
    if not catch_all[0].get("name"):
        return None, "its route without match has no name"
    return catch_all[0]["name"], None


def destinations(route):
    entries = (route or {}).get("route") or []
    return [d for d in entries if isinstance(d, dict) and isinstance(d.get("destination"), dict)]


def stable_destination(route, stable):
    """The weighted route's destination entry to the stable subset, or None."""
    for entry in destinations(route):
        if entry["destination"].get("subset") == stable:
            return entry
    return None


def routing(route):
    """The routing fields of a route (what the rollout owns), as a dict."""
    return dict((k, copy.deepcopy(route[k])) for k in ROUTING_KEYS if k in (route or {}))


def all_stable(original, stable):
    """True when routing fields send everything to the stable subset (no mirror, every weight elsewhere 0)."""
    if any(k in original for k in ("mirror", "mirrors", "mirrorPercentage")):
        return False
    entries = original.get("route") or []
    return bool(entries) and all(
        e.get("destination", {}).get("subset") == stable or (len(entries) > 1 and e.get("weight", 0) == 0)
        for e in entries)


def canary_destination(stable_entry, canary):
    dest = copy.deepcopy(stable_entry["destination"])
    dest["subset"] = canary
    return dest


def weighted(state, weight, mirror=None):
    """The routing fields of a step: stable ``100 - weight``, canary ``weight``, and a mirror of ``mirror``%."""
    stable_entry = stable_destination(state["original"], state["stable"]) or {
        "destination": {"host": state["host"], "subset": state["stable"]}}
    stable_dest = copy.deepcopy(stable_entry["destination"])
    canary_dest = canary_destination(stable_entry, state["canary"])
    out = {"route": [{"destination": stable_dest, "weight": 100 - weight},
                     {"destination": canary_dest, "weight": weight}]}
    if mirror:
        out["mirror"] = copy.deepcopy(canary_dest)
        out["mirrorPercentage"] = {"value": mirror}
    return out


def stable_only(state):
    """The routing fields of a rollback: the original ones when they were all to stable, else stable alone."""
    original = state["original"]
    if all_stable(original, state["stable"]):
        return copy.deepcopy(original)
    entry = stable_destination(original, state["stable"]) or {
        "destination": {"host": state["host"], "subset": state["stable"]}}
    return {"route": [{"destination": copy.deepcopy(entry["destination"])}]}


def combine_matches(route_matches, canary_matches):
    """The canary's match rules within the weighted route's own (Istio ORs the list and ANDs within an entry):
    every pair merged; returns (matches, conflicts) where conflicts name fields both set differently."""
    if not route_matches:
        return copy.deepcopy(canary_matches), []
    out, conflicts = [], []
    for own in route_matches:
        for extra in canary_matches:
            merged = copy.deepcopy(own)
            for key, value in extra.items():
                if key == "headers" and isinstance(merged.get("headers"), dict):
                    merged["headers"] = dict(merged["headers"], **copy.deepcopy(value))
                elif key in merged and merged[key] != value:
                    conflicts.append(key)
                else:
                    merged[key] = copy.deepcopy(value)
            out.append(merged)
    return out, sorted(set(conflicts))


def header_route(weighted_route, state, matches):
    """The header route: the weighted route's settings, the combined matches, 100% to the canary."""
    out = dict((k, copy.deepcopy(v)) for k, v in weighted_route.items() if k not in ROUTING_KEYS + ("name", "match"))
    stable_entry = stable_destination(state["original"], state["stable"]) or {
        "destination": {"host": state["host"], "subset": state["stable"]}}
    out["name"] = header_route_name(state["route"])
    out["match"] = matches
    out["route"] = [{"destination": canary_destination(stable_entry, state["canary"])}]
    return out


def http_with(http, state, fields, matches=None):
    """The HTTP routes with the weighted route's routing ``fields`` and, when ``matches`` is given, the header
    route directly ahead of it (any earlier header routes of the rollout removed)."""
    owned = set(state.get("header_routes") or [])
    out = []
    for rule in http:
        if isinstance(rule, dict) and rule.get("name") in owned:
            continue
        if isinstance(rule, dict) and rule.get("name") == state["route"]:
            rule = dict((k, v) for k, v in rule.items() if k not in ROUTING_KEYS)
            rule.update(copy.deepcopy(fields))
            if matches:
                out.append(header_route(rule, state, matches))
        out.append(copy.deepcopy(rule))
    return out


def subsets_with(subsets, name, labels):
    """The subsets with ``name`` selecting ``labels`` (changed in place of the old one, or appended)."""
    out, found = [], False
    for subset in subsets or []:
        subset = copy.deepcopy(subset)
        if isinstance(subset, dict) and subset.get("name") == name:
            subset["labels"] = dict(labels)
            found = True
        out.append(subset)
    if not found:
        out.append({"name": name, "labels": dict(labels)})
    return out


def subset(subsets, name):
    for item in subsets or []:
        if isinstance(item, dict) and item.get("name") == name:
            return item
    return None


# -- mesh_traffic and a governing rollout -------------------------------------------------------------


def defer_http(declared, live, state):
    """A declared VirtualService's HTTP routes with what a governing rollout owns taken from the live ones: the
    weighted route's routing fields and the header routes ahead of it. Unchanged when the declaration has no
    route of that name or the live object lost it."""
    live_index, live_route = find_route(live, state.get("route"))
    if live_route is None or find_route(declared, state.get("route"))[1] is None:
        return declared
    owned = list(state.get("header_routes") or [])
    live_headers = [r for r in live[:live_index] if isinstance(r, dict) and r.get("name") in owned]
    out = []
    for rule in declared:
        if isinstance(rule, dict) and rule.get("name") in owned:
            continue
        if isinstance(rule, dict) and rule.get("name") == state.get("route"):
            out.extend(copy.deepcopy(live_headers))
            rule = dict((k, v) for k, v in rule.items() if k not in ROUTING_KEYS)
            rule.update(routing(live_route))
        out.append(copy.deepcopy(rule))
    return out


def defer_subsets(declared, live, state):
    """A declared DestinationRule's subsets with the rollout's stable and canary subsets as they are live
    (replacing the declared ones of those names, the others appended)."""
    names = [state.get("stable"), state.get("canary")]
    live_named = dict((s.get("name"), s) for s in live or [] if isinstance(s, dict) and s.get("name") in names)
    out, seen = [], set()
    for item in declared or []:
        name = item.get("name") if isinstance(item, dict) else None
        if name in live_named:
            out.append(copy.deepcopy(live_named[name]))
            seen.add(name)
        else:
            out.append(copy.deepcopy(item))
    for name in names:
        if name in live_named and name not in seen:
            out.append(copy.deepcopy(live_named[name]))
    return out
