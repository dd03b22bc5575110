# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Before/after comparison of Kubernetes objects that ignores what the server alone moves."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

# metadata fields the server sets or bumps on its own.
SERVER_METADATA = ("resourceVersion", "generation", "managedFields", "creationTimestamp",
                   "uid", "selfLink")
# annotations controllers write; they are not part of what anyone applied.
SERVER_ANNOTATIONS = ("deployment.kubernetes.io/revision",
                      "kubectl.kubernetes.io/last-applied-configuration")


def normalize(obj):
    """A copy of ``obj`` without server-managed fields and without ``status``.

    ``None`` (the object does not exist) stays ``None``.
    """
    if obj is None:
        return None
    out = copy.deepcopy(obj)
    out.pop("status", None)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        for key in SERVER_METADATA:
            meta.pop(key, None)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            for key in SERVER_ANNOTATIONS:
                annotations.pop(key, None)
            if not annotations:
                meta.pop("annotations", None)
    return out


def differs(before, after):
    """True when ``before`` and ``after`` differ in anything but server-managed fields."""
    return normalize(before) != normalize(after)


def object_diff(before, after, header=None):
    """An Ansible ``diff`` entry (before/after) for one object, or None if they are equal."""
    nb, na = normalize(before), normalize(after)
    if nb == na:
        return None
    entry = {"before": nb or {}, "after": na or {}}
    if header:
        entry["before_header"] = entry["after_header"] = header
    return entry


def is_subset(wanted, have):
    """True when every field of ``wanted`` is present in ``have`` with the same value.

    Lists must match in length and element by element (Kubernetes lists are
    replaced or merged by key; both treat a different length as a change).
    """
    if isinstance(wanted, dict):
        if not isinstance(have, dict):
            return False
        return all(k in have and is_subset(v, have[k]) for k, v in wanted.items())
    if isinstance(wanted, list):
        if not isinstance(have, list) or len(wanted) != len(have):
            return False
        return all(is_subset(w, h) for w, h in zip(wanted, have))
    return wanted == have
