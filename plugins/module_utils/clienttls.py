# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client-side TLS: what a sidecar client sends to a service port, by Istio's rules, and whether the server
takes it.

* Which DestinationRule: the client's own namespace first (a rule with a ``workloadSelector`` matching the
  client's pods before one without), then the service's namespace, then the root namespace, each rule
  visible to the client through ``exportTo`` (none: everywhere; ``.``: its own namespace). Within a namespace
  an exact host beats a wildcard, a longer wildcard a shorter one, and the oldest rule a younger one.
* Which TLS settings: ``trafficPolicy.tls``, overridden by the ``portLevelSettings`` entry of the service
  port, by the subset's ``trafficPolicy.tls``, and by the subset's port-level entry (istiod's
  ``MergeTrafficPolicy`` order). ``tls`` given without a ``mode`` is ``DISABLE`` (the field's default).
* Auto mTLS (the mesh config's ``enableAutoMtls``, on by default): without TLS settings a client sends Istio
  mTLS to endpoints that run the sidecar, unless the server's mode is ``DISABLE``; plaintext otherwise.
  ``DISABLE`` sends plaintext, ``SIMPLE``/``MUTUAL`` TLS with certificates of their own, ``ISTIO_MUTUAL``
  Istio mTLS, whatever the server is.
* The verdict against the server (:mod:`peers`): a STRICT sidecar refuses plaintext and TLS that is not Istio
  mTLS; a DISABLE sidecar, or a pod without one, cannot take Istio mTLS; PERMISSIVE takes all.

Pure functions over objects already read; no API calls.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.meshops.istio.plugins.module_utils.errors import ref
from ansible_collections.meshops.istio.plugins.module_utils.peers import DISABLE, STRICT, age
from ansible_collections.meshops.istio.plugins.module_utils.routing import fqdn
from ansible_collections.meshops.istio.plugins.module_utils.workloads import meta

SIMPLE, MUTUAL, ISTIO_MUTUAL = "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"
AUTO = "auto"  # no TLS settings: auto mTLS decides
# What the client sends.
MTLS, PLAINTEXT, TLS = "mTLS", "plaintext", "TLS"
OK, CONFLICT = "OK", "CONFLICT"


def spec(obj):
    return (obj or {}).get("spec") or {}


def host_match(pattern, host):
    """How specifically a DestinationRule host (fully qualified) matches a service host: a sort key (higher is
    more specific), or None when it does not match."""
    if not isinstance(pattern, str):
        return None
    if pattern == host:
        return (2, len(pattern))
    if pattern == "*":
        return (1, 0)
    if pattern.startswith("*.") and host.endswith(pattern[1:]):
        return (1, len(pattern))
    return None


def exported_to(obj, client_namespace):
    """The rule is visible to clients of ``client_namespace``."""
    if meta(obj).get("namespace") == client_namespace:
        return True
    targets = spec(obj).get("exportTo") or ["*"]
    return "*" in targets or client_namespace in targets


def workload_selected(obj, client_labels):
    """None for a rule without ``workloadSelector``; else whether it selects a client with ``client_labels``
    (None: a client of unknown labels, which a selecting rule does not apply to)."""
    sel = (spec(obj).get("workloadSelector") or {}).get("matchLabels") or {}
    if not sel:
        return None
    return client_labels is not None and all(client_labels.get(k) == v for k, v in sel.items())


def best(rules, host, client_namespace, client_labels=None):
    """The rule of one namespace that applies to ``host`` for a client of ``client_namespace``, or None."""
    ranked = []
    for obj in rules or []:
        where = meta(obj).get("namespace")
        selected = workload_selected(obj, client_labels)
        if selected is False or (selected and where != client_namespace):
            continue
        if not exported_to(obj, client_namespace):
            continue
        match = host_match(fqdn(spec(obj).get("host"), where), host)
        if match is not None:
            ranked.append(((1 if selected else 0,) + match, obj))
    if not ranked:
        return None
    top = max(key for key, dummy in ranked)
    return sorted((obj for key, obj in ranked if key == top), key=age)[0]


def resolve(rules_by_namespace, host, client_namespace, service_namespace, root_namespace, client_labels=None):
    """The DestinationRule a client of ``client_namespace`` uses for ``host``, or None: client namespace, then
    the service's, then the root namespace."""
    seen = []
    for where in (client_namespace, service_namespace, root_namespace):
        if where in seen:
            continue
        seen.append(where)
        found = best(rules_by_namespace.get(where), host, client_namespace, client_labels)
        if found is not None:
            return found
    return None


def _port_level(policy, port):
    for entry in (policy or {}).get("portLevelSettings") or []:
        if isinstance(entry, dict) and ((entry.get("port") or {}).get("number")) == port and "tls" in entry:
            return entry
    return None


def tls_settings(rule, port, subset=None):
    """``(tls, field)``: the TLS settings ``rule`` gives the service port ``port`` (and ``subset``), in
    istiod's merge order, and the field that set them; ``(None, None)`` without any."""
    if rule is None:
        return None, None
    tls, field = None, None
    top = spec(rule).get("trafficPolicy") or {}
    if "tls" in top:
        tls, field = top.get("tls"), "trafficPolicy.tls"
    entry = _port_level(top, port)
    if entry is not None:
        tls, field = entry.get("tls"), "trafficPolicy.portLevelSettings[{0}].tls".format(port)
    for item in spec(rule).get("subsets") or []:
        if isinstance(item, dict) and item.get("name") == subset:
            policy = item.get("trafficPolicy") or {}
            if "tls" in policy:
                tls, field = policy.get("tls"), "subsets[{0}].trafficPolicy.tls".format(subset)
            entry = _port_level(policy, port)
            if entry is not None:
                tls, field = entry.get("tls"), "subsets[{0}].trafficPolicy.portLevelSettings[{1}].tls".format(
                    subset, port)
    return (tls if tls is not None else None), field


def tls_mode(tls):
    """The client TLS mode of settings: ``auto`` without any, else their mode (``DISABLE`` when not given)."""
    if tls is None:
        return AUTO
    return (tls.get("mode") if isinstance(tls, dict) else None) or DISABLE


def subsets_with_tls(rule, port):
    """Names of the rule's subsets whose own settings change TLS for ``port``."""
    out = []
    for item in spec(rule).get("subsets") or []:
        if not isinstance(item, dict) or not item.get("name"):
            continue
        policy = item.get("trafficPolicy") or {}
        if "tls" in policy or _port_level(policy, port) is not None:
            out.append(item["name"])
    return out


def subset_labels(rule, subset):
    for item in spec(rule).get("subsets") or []:
        if isinstance(item, dict) and item.get("name") == subset:
            return dict(item.get("labels") or {})
    return {}


def sends(mode, server_sidecar, server_mode, auto_mtls=True):
    """What a sidecar client with client TLS ``mode`` (:func:`tls_mode`) sends to one endpoint."""
    if mode == AUTO:
        return MTLS if auto_mtls and server_sidecar and server_mode != DISABLE else PLAINTEXT
    if mode == ISTIO_MUTUAL:
        return MTLS
    if mode in (SIMPLE, MUTUAL):
        return TLS
    return PLAINTEXT


def verdict(what, server_sidecar, server_mode):
    """``(OK or CONFLICT, why)`` of a client sending ``what`` to an endpoint."""
    if not server_sidecar:
        if what == MTLS:
            return CONFLICT, "Istio mTLS towards a pod without the sidecar: nothing terminates it, the calls fail"
        return OK, None
    if server_mode == STRICT and what == PLAINTEXT:
        return CONFLICT, "plaintext towards a STRICT sidecar: refused (HTTP 503 upstream connect errors)"
    if server_mode == STRICT and what == TLS:
        return CONFLICT, "TLS with certificates of its own towards a STRICT sidecar, which wants Istio mTLS: refused"
    if server_mode == DISABLE and what == MTLS:
        return CONFLICT, "Istio mTLS towards a sidecar with mTLS DISABLE: it expects plaintext, the calls fail"
    return OK, None


def describe(mode, what):
    """The CLIENT column of ``istioctl authn tls-check``: the DestinationRule's mode, or auto with its result."""
    return "auto ({0})".format(what) if mode == AUTO else mode


def rule_ref(rule):
    return ref(rule) if rule is not None else None
