# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Would a server-side apply change anything? Decided from the live object and its managed fields alone.

A server-side apply of object ``A`` by field manager ``M`` sets the fields of ``A`` and makes ``M`` own exactly
``A``'s field set; fields ``M`` owned before and ``A`` no longer holds are removed unless another manager owns
them. So the apply changes nothing when (1) every field of ``A`` is live with the same value (same JSON type:
``1`` is not ``1.0``, ``"80"`` is not ``80``), and (2) the field set ``M`` owns through its ``Apply`` entry in
``metadata.managedFields`` is exactly ``A``'s field set (nothing to take over, nothing to drop).

The field set is read from ``fieldsV1``: ``f:<name>`` a field of a map, ``k:<json>`` an element of a list keyed
by those fields (a list-map), ``v:<json>`` a value of a set, ``i:<n>`` an element by index, ``.`` the node itself
as a member of the set when it also has children. Which lists are list-maps, sets or atomic, and which maps are
atomic, is the schema's; without the schema it is read from the owned set itself: a list or map owned as one
leaf is atomic only when no other manager owns anything below it, and then its live value must equal the
desired one exactly (defaults inside it make the two differ, and the object is dry-run).

Whenever the answer is not certain (a null desired, an empty list desired that is not live and owned as such, a
list owned by index, a list-map key the desired element leaves to the server's defaults, another apiVersion's
field set, an object being deleted) the answer is "may change": the caller then asks the server (a dry run). :func:`why_not` says why, for tests.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

# metadata fields the API server leaves out of every field set (its stripMeta field manager).
STRIPPED_METADATA = ("name", "namespace")
# metadata fields no applied object should carry; an object that does is dry-run.
RUNTIME_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink",
                    "deletionTimestamp", "deletionGracePeriodSeconds", "generateName", "clusterName")


def _type(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, (list, tuple)):
        return "list"
    return type(value).__name__


def same(a, b):
    """Deep equality that also compares JSON types (``True`` is not ``1``, ``1`` is not ``1.0``)."""
    kind = _type(a)
    if kind != _type(b):
        return False
    if kind == "map":
        return set(a) == set(b) and all(same(v, b[k]) for k, v in a.items())
    if kind == "list":
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def applied_entry(live, manager):
    """The ``Apply`` entry of ``manager`` in the live object's managedFields (main resource), or None."""
    found = [e for e in ((live or {}).get("metadata") or {}).get("managedFields") or []
             if isinstance(e, dict) and e.get("manager") == manager and e.get("operation") == "Apply"
             and not e.get("subresource")]
    return found[0] if len(found) == 1 else None


def _children(node):
    return dict((k, v) for k, v in (node or {}).items() if k != ".")


def _path(path):
    return ".".join(p[2:] if p.startswith("f:") else "[{0}]".format(p) for p in path) or "(object)"


def builtin(api_version):
    """The kinds Kubernetes itself serves (core, ``apps``, ``*.k8s.io``...): typed objects, whose zero values
    (``""``, ``0``, ``false``) the server leaves out when it stores them (Go's omitempty)."""
    group = (api_version or "").rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


class _Walk:
    """One comparison of a desired object with a live one and the field sets of its managers."""

    def __init__(self, others, typed=False):
        self.others = others  # fieldsV1 trees of every other manager
        self.typed = typed  # a built-in kind: zero values are not stored

    def owned_by_others_below(self, path):
        for tree in self.others:
            node = tree
            for key in path:
                node = node.get(key) if isinstance(node, dict) else None
                if node is None:
                    break
            if isinstance(node, dict) and _children(node):
                return True
        return False

    def mapping(self, want, live, node, path):
        kids = _children(node)
        if not isinstance(live, dict):
            return "{0}: not a map in the live object".format(_path(path))
        odd = sorted(k for k in kids if not k.startswith("f:"))
        if odd:
            return "{0}: owned as {1}, not as the fields of a map".format(_path(path), odd[0])
        wanted = set("f:" + k for k in want)
        for key in sorted(wanted - set(kids)):
            return "{0}: not owned by the field manager (an apply would take it over)".format(_path(path + [key]))
        for key in sorted(set(kids) - wanted):
            return "{0}: owned by the field manager and no longer desired (an apply would remove it)".format(
                _path(path + [key]))
        for key in sorted(want):
            if key not in live:
                if self.typed and _type(want[key]) in ("str", "int", "bool") and not want[key] \
                        and not _children(kids["f:" + key]):
                    # Owned, yet not stored: the server left out the zero value applied (Go's omitempty); the
                    # same zero value again is left out again (had another manager removed it, meshops would own it no more).
                    continue
                return "{0}: not in the live object".format(_path(path + ["f:" + key]))
            why = self.value(want[key], live[key], kids["f:" + key], path + ["f:" + key])
            if why:
                return why
        return None

    def atomic(self, want, live, path):
        if self.owned_by_others_below(path):
            return "{0}: owned as a whole here but field by field by another manager".format(_path(path))
        if not same(want, live):
            return "{0}: the live value differs (an atomic value is replaced whole)".format(_path(path))
        return None

    def value(self, want, live, node, path):
        kids = _children(node)
        kind = _type(want)
        if kind == "map":
            if not want:
                if kids:
                    return "{0}: an empty map is desired where the manager owns fields".format(_path(path))
                return None if isinstance(live, dict) else "{0}: not a map in the live object".format(_path(path))
            return self.mapping(want, live, node, path) if kids else self.atomic(want, live, path)
        if kind == "list":
            if not want:
                if isinstance(live, list) and not live and not kids and not self.owned_by_others_below(path):
                    return None  # owned, and kept empty by the server: the same empty list keeps it so
                return "{0}: an empty list (whether the server keeps it is the schema's)".format(_path(path))
            if not isinstance(live, list):
                return "{0}: not a list in the live object".format(_path(path))
            if not kids:
                return self.atomic(want, live, path)
            prefixes = set(k[:2] for k in kids)
            if prefixes == set(["k:"]):
                return self.list_map(want, live, kids, path)
            if prefixes == set(["v:"]):
                return self.set_of(want, live, kids, path)
            return "{0}: a list owned by index ({1})".format(_path(path), sorted(kids)[0])
        if kind in ("str", "int", "float", "bool"):
            if kids:
                return "{0}: a value is desired where the manager owns sub-fields".format(_path(path))
            return None if same(want, live) else "{0}: the live value differs ({1!r} is live, {2!r} desired)".format(
                _path(path), live, want)
        return "{0}: {1} desired (left to the server)".format(_path(path), kind)

    def list_map(self, want, live, kids, path):
        keyed = []
        for key, node in kids.items():
            try:
                fields = json.loads(key[2:])
            except ValueError:
                fields = None
            if not isinstance(fields, dict) or not fields:
                return "{0}: unreadable list-map key {1}".format(_path(path), key)
            keyed.append((fields, key, node))
        names = set(keyed[0][0])
        if any(set(f) != names for f, dummy, dummy in keyed):
            return "{0}: list-map keys of different fields".format(_path(path))
        if len(want) != len(kids) or len(live) != len(want):
            return "{0}: {1} element(s) desired, {2} owned, {3} live".format(
                _path(path), len(want), len(kids), len(live))
        for i, (item, have) in enumerate(zip(want, live)):
            if not isinstance(item, dict) or not isinstance(have, dict):
                return "{0}[{1}]: not a map".format(_path(path), i)
            given = names & set(item)
            if not given:
                return "{0}[{1}]: no key field given".format(_path(path), i)
            # A key field the element leaves out is defaulted by the server (protocol: TCP). The owned element
            # it matches left it out too (it does not own it), so the same default made the same key.
            match = [(f, k) for f, k, node in keyed if all(same(f[n], item[n]) for n in given)
                     and not any("f:" + n in node for n in names - given)]
            if len(match) != 1:
                return "{0}[{1}]: key {2} is not owned by the field manager{3}".format(
                    _path(path), i, json.dumps(dict((n, item[n]) for n in given), sort_keys=True),
                    " (or the fields {0} left to the server's defaults do not tell)".format(
                        ", ".join(sorted(names - given))) if names - given else "")
            key, element = match[0]
            if not same(dict((n, have.get(n)) for n in names), key):
                return "{0}[{1}]: the live list holds another element here".format(_path(path), i)
            why = self.mapping(item, have, kids[element], path + [element])
            if why:
                return why
        return None

    def set_of(self, want, live, kids, path):
        try:
            owned = [json.loads(k[2:]) for k in kids]
        except ValueError:
            return "{0}: unreadable set value".format(_path(path))
        unmatched = list(owned)
        for item in want:
            hit = [i for i, o in enumerate(unmatched) if same(o, item)]
            if not hit:
                return "{0}: value {1!r} is not owned by the field manager".format(_path(path), item)
            unmatched.pop(hit[0])
        if unmatched:
            return "{0}: value {1!r} is owned and no longer desired".format(_path(path), unmatched[0])
        if not same(list(want), live):
            return "{0}: the live set differs".format(_path(path))
        return None


def why_not(desired, live, manager):
    """None when a server-side apply of ``desired`` by ``manager`` could neither change nor drop anything
    of ``live``; else why it may (the first reason found)."""
    if live is None:
        return "not live"
    meta = live.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return "being deleted"
    entry = applied_entry(live, manager)
    if entry is None:
        return "no single Apply entry of field manager {0} in managedFields".format(manager)
    if entry.get("apiVersion") != desired.get("apiVersion") or entry.get("fieldsType", "FieldsV1") != "FieldsV1":
        return "the field set was applied as {0}, not {1}".format(entry.get("apiVersion"), desired.get("apiVersion"))
    owned = entry.get("fieldsV1")
    if not isinstance(owned, dict):
        return "no fieldsV1 in the Apply entry"
    want_meta = dict(desired.get("metadata") or {})
    for key in RUNTIME_METADATA:
        if key in want_meta:
            return "metadata.{0} desired".format(key)
    for key in STRIPPED_METADATA:
        if not same(want_meta.pop(key, None), meta.get(key)):
            return "metadata.{0} differs".format(key)
    want = dict((k, v) for k, v in desired.items() if k not in ("apiVersion", "kind", "metadata"))
    if want_meta:
        want["metadata"] = want_meta
    tree = dict(owned)
    if "f:metadata" in tree and not _children(tree["f:metadata"]) and "metadata" not in want:
        del tree["f:metadata"]
    others = [e.get("fieldsV1") for e in meta.get("managedFields") or []
              if isinstance(e, dict) and e is not entry and isinstance(e.get("fieldsV1"), dict)]
    return _Walk(others, typed=builtin(desired.get("apiVersion"))).mapping(want, live, tree, [])


def unchanged(desired, live, manager):
    """True only when a server-side apply of ``desired`` by ``manager`` certainly changes nothing."""
    return why_not(desired, live, manager) is None
