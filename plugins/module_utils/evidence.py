# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""mTLS evidence from Istio's request metrics: per service pair over a window, the share of requests the
server saw over mutual TLS (``istio_requests_total{reporter="destination"}``, label
``connection_security_policy``: ``mutual_tls`` or ``none``).

One query for the whole scope (:func:`query`), folded by :func:`fold`; :func:`attach` puts each destination
workload's evidence on its matrix rows. No data is no evidence, never a finding. Pure functions.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import re
from collections import OrderedDict

BY = ("source_workload", "source_workload_namespace", "destination_workload", "destination_workload_namespace",
      "connection_security_policy")
WINDOW_RE = re.compile(r"^[1-9][0-9]*(s|m|h|d)$")
# Above this many namespaces the query is not filtered by namespace (the URL would grow); the samples are.
MAX_FILTERED = 100


def query(namespaces, window):
    """The one PromQL query: requests per pair and connection security over ``window`` (such as 10m)."""
    where = 'reporter="destination"'
    if namespaces and len(namespaces) <= MAX_FILTERED:
        where += ', destination_workload_namespace=~"{0}"'.format("|".join(sorted(namespaces)))
    return "sum by ({0}) (increase(istio_requests_total{{{1}}}[{2}]))".format(", ".join(BY), where, window)


def fold(samples, namespaces=None):
    """``{(namespace, workload): {"requests", "mtls", "plaintext", "sources": {(ns, workload): {...}}}}`` of
    the samples of :func:`query` whose destination is in ``namespaces`` (all when None)."""
    out = OrderedDict()
    for labels, value in sorted(samples, key=lambda s: sorted(s[0].items())):
        if value is None or math.isnan(value) or value <= 0:
            continue
        dest = (labels.get("destination_workload_namespace") or "unknown", labels.get("destination_workload") or
                "unknown")
        if namespaces is not None and dest[0] not in namespaces:
            continue
        src = (labels.get("source_workload_namespace") or "unknown", labels.get("source_workload") or "unknown")
        kind = "mtls" if labels.get("connection_security_policy") == "mutual_tls" else "plaintext"
        entry = out.setdefault(dest, {"requests": 0.0, "mtls": 0.0, "plaintext": 0.0, "sources": OrderedDict()})
        pair = entry["sources"].setdefault(src, {"requests": 0.0, "mtls": 0.0, "plaintext": 0.0})
        for target in (entry, pair):
            target["requests"] += value
            target[kind] += value
    return out


def share(entry):
    return round(entry["mtls"] / entry["requests"], 4) if entry["requests"] else None


def summary(entry):
    """What a row shows: requests, mTLS share, plaintext requests and the sources (rounded counts)."""
    return OrderedDict([
        ("requests", int(round(entry["requests"]))), ("mtls_share", share(entry)),
        ("plaintext", int(round(entry["plaintext"]))),
        ("sources", [OrderedDict([("source", "{0}/{1}".format(*src)), ("requests", int(round(p["requests"]))),
                                  ("mtls_share", share(p)), ("plaintext", int(round(p["plaintext"])))])
                     for src, p in entry["sources"].items()])])


def pairs(folded):
    """Every observed pair, for the result: source, destination, requests, mTLS share."""
    out = []
    for dest, entry in folded.items():
        for src, pair in entry["sources"].items():
            out.append(OrderedDict([("source", "{0}/{1}".format(*src)), ("destination", "{0}/{1}".format(*dest)),
                                    ("requests", int(round(pair["requests"]))), ("mtls_share", share(pair)),
                                    ("plaintext", int(round(pair["plaintext"])))]))
    return out


def owner(rows_of_namespace, workload):
    """The matrix workload (``Kind/name``) Istio's ``destination_workload`` names: the same name (a
    Deployment's, a bare pod's), else the longest workload name that the metric's name starts with followed by
    a dash (a pod named after its workload)."""
    names = OrderedDict((r["workload"].split("/", 1)[1], r["workload"]) for r in rows_of_namespace)
    if workload in names:
        return names[workload]
    hits = sorted((n for n in names if n.startswith(workload + "-")), key=len)
    return names[hits[0]] if hits else None


def attach(rows, folded):
    """Set each row's ``evidence`` from the folded samples; returns the destinations that matched no row."""
    by_ns = OrderedDict()
    for row in rows:
        by_ns.setdefault(row["namespace"], []).append(row)
    unmatched = []
    for (ns, workload), entry in folded.items():
        target = owner(by_ns.get(ns) or [], workload)
        if target is None:
            unmatched.append("{0}/{1}".format(ns, workload))
            continue
        for row in by_ns[ns]:
            if row["workload"] == target:
                row["evidence"] = summary(entry)
    return unmatched
