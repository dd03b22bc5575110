# -*- coding: utf-8 -*-
"""Managed fields for the fake API server, written the way the real one writes them (and written here
independently of plugins/module_utils/fields.py, which reads them).

A server-side apply by manager M of object A: M's ``Apply`` entry becomes A's field set; fields M owned
before and A no longer holds are removed from the object unless another manager owns them; a field another
manager owns with a different value is a conflict (HTTP 409) unless forced, and forcing takes it over. An
update (merge patch, ``kubectl edit``) by manager U makes U own the fields it sets, and takes every field whose
value it changes away from the other managers.

The schema, reduced to what the tests need: lists named in LIST_MAPS are list-maps (``k:{...}``; a key field the
object leaves out is defaulted first, like ``protocol: TCP``), lists named in SETS are sets (``v:...``), every
other list is atomic (a CRD's default); maps are granular except ATOMIC_MAPS (``selector`` of the built-in
workloads and Services). Membership: every scalar, atomic value, empty map, null and list element is a member
of the set; a list element with fields carries ``.``, a map does not (the server's ToFieldSet); entries of the
free-form maps in FREE_FORM that are maps themselves carry ``.`` too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

LIST_MAPS = {"containers": ("name",), "initContainers": ("name",), "env": ("name",), "volumes": ("name",),
             "ports": ("containerPort", "protocol")}
KEY_DEFAULTS = {"protocol": "TCP"}
SETS = ("finalizers",)
ATOMIC_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Service")
FREE_FORM = ("labels", "annotations", "matchLabels", "data")
STRIPPED = (("f:apiVersion",), ("f:kind",), ("f:metadata",), ("f:metadata", "f:name"), ("f:metadata", "f:namespace"),
            ("f:metadata", "f:resourceVersion"), ("f:metadata", "f:managedFields"), ("f:metadata", "f:uid"),
            ("f:metadata", "f:generation"), ("f:metadata", "f:creationTimestamp"))
MISSING = object()


def _dumps(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _key_of(item, names):
    return dict((n, item.get(n, KEY_DEFAULTS.get(n))) for n in names)


def field_set(kind, obj):
    """The set of paths (tuples of fieldsV1 elements) an apply of ``obj`` owns."""
    out = set()

    def walk(value, path, names):
        if isinstance(value, dict):
            if kind in ATOMIC_KINDS and names == ("spec", "selector"):
                out.add(path)
                return
            for key, child in value.items():
                sub = path + ("f:" + key,)
                walk(child, sub, names + (key,))
                if child is None or child == {} or (names and names[-1] in FREE_FORM):
                    out.add(sub)
        elif isinstance(value, list):
            field = names[-1] if names else None
            if field in LIST_MAPS:
                for item in value:
                    sub = path + ("k:" + _dumps(_key_of(item, LIST_MAPS[field])),)
                    walk(item, sub, names)
                    out.add(sub)
            elif field in SETS:
                out.update(path + ("v:" + _dumps(item),) for item in value)
            else:
                out.add(path)
        else:
            out.add(path)

    walk(obj, (), ())
    return set(p for p in out if p not in STRIPPED)


def default_keys(value, field=None):
    """Fill in the list-map key fields an object leaves out (protocol: TCP), as the server's defaulting does."""
    if isinstance(value, dict):
        for key, child in value.items():
            default_keys(child, key)
    elif isinstance(value, list):
        for item in value:
            if field in LIST_MAPS and isinstance(item, dict):
                for name in LIST_MAPS[field]:
                    if name not in item and name in KEY_DEFAULTS:
                        item[name] = KEY_DEFAULTS[name]
            default_keys(item)


def to_v1(paths):
    tree = {}
    for path in sorted(paths):
        node = tree
        for element in path:
            node = node.setdefault(element, {})
    for path in paths:
        node = tree
        for element in path:
            node = node[element]
        if node:
            node["."] = {}
    return tree


def from_v1(tree, path=()):
    out = set()
    for key, child in (tree or {}).items():
        if key == ".":
            continue
        sub = path + (key,)
        if not child or "." in child:
            out.add(sub)
        out |= from_v1(child, sub)
    return out


def value_at(obj, path):
    node = obj
    for element in path:
        kind, rest = element[:2], element[2:]
        if kind == "f:":
            if not isinstance(node, dict) or rest not in node:
                return MISSING
            node = node[rest]
        elif kind == "k:":
            key = json.loads(rest)
            hits = [i for i in node or [] if isinstance(i, dict) and _key_of(i, key) == key] \
                if isinstance(node, list) else []
            if not hits:
                return MISSING
            node = hits[0]
        elif kind == "v:":
            value = json.loads(rest)
            return value if isinstance(node, list) and value in node else MISSING
    return node


def remove(obj, path):
    """Remove the value at ``path`` from ``obj`` (in place)."""
    parent = value_at(obj, path[:-1]) if len(path) > 1 else obj
    kind, rest = path[-1][:2], path[-1][2:]
    if kind == "f:" and isinstance(parent, dict):
        parent.pop(rest, None)
    elif kind == "k:" and isinstance(parent, list):
        key = json.loads(rest)
        parent[:] = [i for i in parent if not (isinstance(i, dict) and _key_of(i, key) == key)]
    elif kind == "v:" and isinstance(parent, list):
        value = json.loads(rest)
        parent[:] = [i for i in parent if i != value]


def merge(base, patch):
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def entries(obj):
    """{(manager, operation): set of paths} of the object's managedFields."""
    out = {}
    for entry in ((obj or {}).get("metadata") or {}).get("managedFields") or []:
        if "fieldsV1" in entry:
            out[(entry["manager"], entry["operation"])] = from_v1(entry["fieldsV1"])
    return out


def write_entries(obj, owners, api_version, stamp):
    obj["metadata"]["managedFields"] = [
        {"apiVersion": api_version, "fieldsType": "FieldsV1", "fieldsV1": to_v1(paths), "manager": manager,
         "operation": operation, "time": stamp}
        for (manager, operation), paths in sorted(owners.items()) if paths]


class Conflict(Exception):
    def __init__(self, paths):
        super(Conflict, self).__init__(paths)
        self.paths = paths


def apply(current, body, manager, force):
    """The object a server-side apply of ``body`` by ``manager`` stores, and its owners; raises Conflict."""
    kind = body.get("kind")
    applied = field_set(kind, body)
    owners = entries(current)
    mine = owners.pop((manager, "Apply"), set())
    conflicts = []
    for other, paths in owners.items():
        for path in sorted(applied & paths):
            if current is not None and value_at(current, path) != value_at(body, path):
                conflicts.append((other[0], path))
    if conflicts and not force:
        raise Conflict(conflicts)
    for other, path in conflicts:
        for key in owners:
            if key[0] == other:
                owners[key].discard(path)
    result = merge(current, body) if current is not None else copy.deepcopy(body)
    kept = applied.union(*owners.values()) if owners else set(applied)
    for path in sorted(mine - kept, key=len, reverse=True):
        if not any(p[:len(path)] == path for p in kept):
            remove(result, path)
    owners[(manager, "Apply")] = applied
    default_keys(result)
    return result, owners


def update(current, changes, manager):
    """An update by ``manager`` setting {path tuple of plain field names: value}; returns the new object and
    its owners (the manager owns what it set, and takes changed fields from the others)."""
    result = copy.deepcopy(current)
    owners = entries(current)
    for names, value in changes.items():
        node = result
        for name in names[:-1]:
            node = node.setdefault(name, {})
        before = node.get(names[-1], MISSING)
        node[names[-1]] = copy.deepcopy(value)
        path = tuple("f:" + n for n in names)
        if before != value:
            for paths in owners.values():
                paths.discard(path)
        owners.setdefault((manager, "Update"), set()).add(path)
    return result, owners
