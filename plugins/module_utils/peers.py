# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server-side mTLS: the mode a workload's sidecar enforces on each port, and which PeerAuthentication
decided it, by Istio's rules (``ComposePeerAuthentication`` in istiod; the PeerAuthentication reference):

* three scopes: mesh (the root namespace, no selector), namespace (its namespace, no selector) and workload
  (its namespace, a selector matching the pod's labels); a selector of no labels is no selector, and a
  workload selector in the root namespace is ignored;
* the narrowest scope that sets a mode wins; ``UNSET`` (or no ``mtls`` at all) inherits from the scope above;
  with nothing set the mode is ``PERMISSIVE``;
* several policies of one scope: the oldest (creationTimestamp) wins; the others are returned as shadowed;
* ``portLevelMtls`` counts only on the workload policy (the one that won): it keys the workload's port (the
  container port, not the Service port); ``UNSET`` there inherits the workload's mode.

Pure functions over objects already read; no API calls.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

from ansible_collections.meshops.istio.plugins.module_utils.errors import ref
from ansible_collections.meshops.istio.plugins.module_utils.workloads import meta

STRICT, PERMISSIVE, DISABLE, UNSET = "STRICT", "PERMISSIVE", "DISABLE", "UNSET"
# Scopes, narrowest last.
DEFAULT, MESH, NAMESPACE, WORKLOAD, PORT = "default", "mesh", "namespace", "workload", "workload-port"


class Decision(namedtuple("Decision", "mode policy scope")):
    """A mode, the PeerAuthentication that decided it (``Kind namespace/name``, None for Istio's default)
    and the scope it was decided at."""

    __slots__ = ()

    @property
    def accepts_plaintext(self):
        return self.mode != STRICT


DEFAULT_DECISION = Decision(PERMISSIVE, None, DEFAULT)


def age(obj):
    """Sort key: oldest first (Istio's rule for several policies of one scope), then by namespace and name."""
    m = meta(obj)
    return (m.get("creationTimestamp") or "", m.get("namespace") or "", m.get("name") or "")


def selector(obj):
    return dict((((obj.get("spec") or {}).get("selector") or {}).get("matchLabels")) or {})


def mode(mtls):
    """The mode of an ``mtls`` mapping: ``UNSET`` when it is missing or says nothing."""
    value = (mtls or {}).get("mode") if isinstance(mtls, dict) else None
    return value if value in (STRICT, PERMISSIVE, DISABLE) else UNSET


def port_modes(obj):
    """``{port number: mode}`` of a policy's ``portLevelMtls`` (keys may be strings in YAML)."""
    out = {}
    for port, mtls in ((obj.get("spec") or {}).get("portLevelMtls") or {}).items():
        try:
            out[int(port)] = mode(mtls)
        except (TypeError, ValueError):
            continue
    return out


class Applicable(namedtuple("Applicable", "mesh namespace workload shadowed")):
    """The policies that apply to one pod, one per scope (or None), and those of a scope that lost to an
    older one (``shadowed``: ``[(loser, winner)]``)."""

    __slots__ = ()


def applicable(policies, namespace, labels, root_namespace):
    """Which PeerAuthentications apply to a pod of ``namespace`` with ``labels``."""
    won = {MESH: None, NAMESPACE: None, WORKLOAD: None}
    shadowed = []
    labels = labels or {}
    for obj in sorted(policies or [], key=age):
        where = meta(obj).get("namespace")
        sel = selector(obj)
        if not sel:
            scope = MESH if where == root_namespace else NAMESPACE if where == namespace else None
        elif where == namespace and where != root_namespace and all(labels.get(k) == v for k, v in sel.items()):
            scope = WORKLOAD
        else:
            scope = None
        if scope is None:
            continue
        if won[scope] is None:
            won[scope] = obj
        else:
            shadowed.append((obj, won[scope]))
    return Applicable(won[MESH], won[NAMESPACE], won[WORKLOAD], shadowed)


def decide(found):
    """The workload-level :class:`Decision` of an :class:`Applicable`."""
    decision = DEFAULT_DECISION
    for scope, obj in ((MESH, found.mesh), (NAMESPACE, found.namespace), (WORKLOAD, found.workload)):
        if obj is not None:
            value = mode((obj.get("spec") or {}).get("mtls"))
            if value != UNSET:
                decision = Decision(value, ref(obj), scope)
    return decision


def decide_port(found, port, workload_decision=None):
    """The :class:`Decision` for one workload port: the workload policy's ``portLevelMtls`` entry when it
    sets a mode, else the workload's decision."""
    base = workload_decision or decide(found)
    if found.workload is not None and port is not None:
        value = port_modes(found.workload).get(int(port), UNSET)
        if value != UNSET:
            return Decision(value, ref(found.workload), PORT)
    return base


def effective(policies, namespace, labels, ports, root_namespace):
    """``(workload decision, {port: decision}, applicable)`` for a pod of ``namespace`` with ``labels``
    serving ``ports`` (container port numbers; None entries ignored)."""
    found = applicable(policies, namespace, labels, root_namespace)
    base = decide(found)
    return base, dict((p, decide_port(found, p, base)) for p in ports if p is not None), found


def namespace_decision(policies, namespace, root_namespace):
    """The mode a namespace's workloads get unless a workload policy says otherwise."""
    return decide(applicable([p for p in policies or [] if not selector(p)], namespace, {}, root_namespace))


def unused_port_levels(found, ports):
    """Ports of the winning workload policy's ``portLevelMtls`` that the workload does not serve."""
    if found.workload is None:
        return []
    served = set(int(p) for p in ports if p is not None)
    return sorted(p for p in port_modes(found.workload) if p not in served)
