# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mTLS matrix of mtls_verify: for every workload and port in scope, the server's mode and the policy that
decided it (:mod:`peers`), its sidecars (:mod:`workloads`), and what each group of clients in scope sends it
(:mod:`clienttls`); plus the rows of ``istioctl authn tls-check``.

Built from one :class:`Snapshot` of objects already read (one list per kind); no API calls.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import OrderedDict

from ansible_collections.meshops.istio.plugins.module_utils import clienttls as ct, peers, workloads as wl
from ansible_collections.meshops.istio.plugins.module_utils.constants import SIDECAR
from ansible_collections.meshops.istio.plugins.module_utils.routing import fqdn

meta = wl.meta
# Ports of Istio's own (the sidecar's admin, inbound/outbound capture, HBONE, health, DNS and metrics ports):
# never intercepted, so never governed by a PeerAuthentication.
ISTIO_PORTS = frozenset((15000, 15001, 15004, 15006, 15008, 15009, 15020, 15021, 15053, 15090))


class Snapshot:
    """What one run read: namespaces in scope and, by namespace, their pods, ReplicaSets and Services; the
    PeerAuthentications and DestinationRules of the scope and of the root namespace; per namespace the revision
    its pods must run (None: any)."""

    def __init__(self, namespaces, pods, replicasets, services, peer_authentications, destination_rules,
                 root_namespace, revisions=None, auto_mtls=True):
        self.namespaces = namespaces
        self.pods, self.replicasets, self.services = pods, replicasets, services
        self.peer_authentications = peer_authentications
        self.destination_rules = destination_rules  # {namespace: [rules]}
        self.root_namespace = root_namespace
        self.revisions = revisions or {}
        self.auto_mtls = auto_mtls
        self.scope_names = [meta(n)["name"] for n in namespaces]
        self.scope_index = dict((ns, i) for i, ns in enumerate(self.scope_names))
        self._hosts = None
        # PeerAuthentications by namespace, so each workload looks at its namespace's and the root namespace's only
        self.policies_by_namespace = {}
        for obj in peer_authentications:
            self.policies_by_namespace.setdefault(meta(obj).get("namespace"), []).append(obj)

    def policies_for(self, namespace):
        return (self.policies_by_namespace.get(namespace) or []) + (
            self.policies_by_namespace.get(self.root_namespace) or [] if namespace != self.root_namespace else [])

    def rule_namespaces(self, host):
        """The namespaces with a DestinationRule whose host (exact or wildcard) matches ``host``."""
        if self._hosts is None:
            exact, wild = {}, []
            for ns, items in self.destination_rules.items():
                for rule in items:
                    name = fqdn(ct.spec(rule).get("host"), ns)
                    if isinstance(name, str) and name.startswith("*"):
                        wild.append((name, ns))
                    else:
                        exact.setdefault(name, set()).add(ns)
            self._hosts = (exact, wild)
        exact, wild = self._hosts
        return set(exact.get(host) or ()) | set(ns for name, ns in wild if ct.host_match(name, host))


class View:
    """A workload in scope: its pods, their sidecar states, its ports and their decisions."""

    def __init__(self, namespace, work, revision):
        self.namespace, self.kind, self.name = namespace, work.kind, work.name
        self.pods = work.pods
        self.labels = dict(meta(work.pods[0]).get("labels") or {}) if work.pods else {}
        self.states = [(meta(p).get("name"),) + wl.sidecar_state(p, revision) for p in work.pods]
        self.unready = [meta(p).get("name") for p in work.pods if wl.has_sidecar(p) and not wl.sidecar_ready(p)]
        self.with_sidecar = sum(1 for p in work.pods if wl.has_sidecar(p))
        self.ports = OrderedDict()  # container port (or None) -> ["host:port", ...]
        self.decision = peers.DEFAULT_DECISION
        self.decisions = {}
        self.found = None

    @property
    def id(self):
        return "{0}/{1}/{2}".format(self.namespace, self.kind, self.name)

    @property
    def sidecar(self):
        """All pods run the sidecar (a workload partly without is reported by its pods' states)."""
        return bool(self.pods) and self.with_sidecar > 0


def _container_port(pods, target):
    """A Service's targetPort as a number (a name resolved through the pods' container ports)."""
    if isinstance(target, int) or (isinstance(target, str) and target.isdigit()):
        return int(target)
    for pod in pods:
        for container in (pod.get("spec") or {}).get("containers") or []:
            for port in container.get("ports") or []:
                if port.get("name") == target and port.get("containerPort"):
                    return int(port["containerPort"])
    return None


def _selects(service, view):
    """The Service selects the workload's pods (their labels are the first pod's: a workload's pods share their
    template's labels)."""
    sel = (service.get("spec") or {}).get("selector") or {}
    return bool(sel) and all(view.labels.get(k) == v for k, v in sel.items())


def host_of(service):
    return "{0}.{1}.svc.cluster.local".format(meta(service).get("name"), meta(service).get("namespace"))


def attach_ports(view, services):
    """Fill ``view.ports``: the container ports its Services target (with ``host:port`` of each), then the
    container ports it declares that no Service targets; ``None`` (all ports) when it has neither."""
    for svc in services:
        if not _selects(svc, view):
            continue
        for port in (svc.get("spec") or {}).get("ports") or []:
            if port.get("protocol", "TCP") != "TCP" or not port.get("port"):
                continue
            target = _container_port(view.pods, port.get("targetPort", port["port"]))
            if target is None or target in ISTIO_PORTS:
                continue
            view.ports.setdefault(target, []).append("{0}:{1}".format(host_of(svc), port["port"]))
    for pod in view.pods[:1]:
        for container in (pod.get("spec") or {}).get("containers") or []:
            if container.get("name") == SIDECAR:
                continue
            for port in container.get("ports") or []:
                number = port.get("containerPort")
                if number and number not in ISTIO_PORTS and port.get("protocol", "TCP") == "TCP":
                    view.ports.setdefault(int(number), [])
    if not view.ports:
        view.ports[None] = []


def views(snap):
    """``{namespace: [View]}`` of every namespace in scope, decisions made."""
    out = OrderedDict()
    for ns_obj in snap.namespaces:
        name = meta(ns_obj)["name"]
        groups = wl.group(name, snap.pods.get(name) or [], snap.replicasets.get(name) or [], {})
        found = []
        for work in groups.values():
            if not work.pods:
                continue
            view = View(name, work, snap.revisions.get(name))
            attach_ports(view, snap.services.get(name) or [])
            view.decision, view.decisions, view.found = peers.effective(
                snap.policies_for(name), name, view.labels, list(view.ports), snap.root_namespace)
            found.append(view)
        out[name] = found
    return out


def effective_mode(view, port):
    """What the port enforces: the decided mode, or ``NO_SIDECAR`` when its pods run none."""
    return view.decisions.get(port, view.decision).mode if view.sidecar else "NO_SIDECAR"


def _names(namespaces, most=3, total=None):
    total = len(namespaces) if total is None else total
    shown = ", ".join(namespaces[:most])
    return shown + (" and {0} more".format(total - most) if total > most else "")


def client_groups(snap, host, service_namespace):
    """``[(label, count, rule)]``: the groups of client namespaces in scope that use one DestinationRule (or
    none) for ``host``, with how many namespaces each holds; a rule selecting client workloads makes a group of
    its own."""
    rules = snap.destination_rules
    # Clients of namespaces without a rule that could be for the host all get the same answer when the service's
    # and the root namespace's rules are exported everywhere: resolved once, and the namespaces are counted, not
    # visited (a scope of N namespaces and M services costs M resolutions, not N x M).
    shared = all("*" in (ct.spec(r).get("exportTo") or ["*"]) for where in (service_namespace, snap.root_namespace)
                 for r in rules.get(where) or [])
    special = snap.rule_namespaces(host) | {service_namespace}
    names = snap.scope_names
    visit = sorted((snap.scope_index[ns] for ns in special if ns in snap.scope_index)) if shared else range(len(names))
    groups = []  # each: label (None: by rule), visited namespaces, count, rule, first index, counts unvisited

    def group_of(rule, index):
        for entry in groups:
            if entry["label"] is None and ct.rule_ref(entry["rule"]) == ct.rule_ref(rule):
                return entry
        groups.append({"label": None, "visited": [], "count": 0, "rule": rule, "first": index, "common": False})
        return groups[-1]

    if shared and len(visit) < len(names):
        first = next(i for i, ns in enumerate(names) if ns not in special)
        entry = group_of(ct.resolve(rules, host, names[first], service_namespace, snap.root_namespace), first)
        entry["count"], entry["common"] = len(names) - len(visit), True
    for i in visit:
        ns = names[i]
        entry = group_of(ct.resolve(rules, host, ns, service_namespace, snap.root_namespace), i)
        entry["visited"].append(ns)
        entry["count"] += 1
        entry["first"] = min(entry["first"], i)
        for sel_rule in rules.get(ns) or []:
            sel = (ct.spec(sel_rule).get("workloadSelector") or {}).get("matchLabels")
            if sel and ct.best([sel_rule], host, ns, sel) is not None:
                groups.append({"label": "clients in {0} matching {1}".format(ns, ",".join(
                    "{0}={1}".format(k, v) for k, v in sorted(sel.items()))), "visited": [ns], "count": 1,
                    "rule": sel_rule, "first": i, "common": False})
    out = []
    for entry in sorted(groups, key=lambda g: g["first"]):
        label = entry["label"]
        if label is None and len(groups) == 1:
            label = "clients in scope"
        elif label is None:
            members = entry["visited"] + (_unvisited(names, special, entry["first"], 3) if entry["common"] else [])
            label = "clients in " + _names(sorted(members, key=lambda n: snap.scope_index[n]), total=entry["count"])
        out.append((label, entry["count"], entry["rule"]))
    return out


def _unvisited(names, special, start, most):
    """Up to ``most`` namespaces from ``start`` on that are not ``special`` (those the common group counted)."""
    out = []
    for ns in names[start:]:
        if len(out) >= most:
            break
        if ns not in special:
            out.append(ns)
    return out


def service_ports(snap, ns_views):
    """``[(service, port number, target container port, [View])]`` of the scope's Services."""
    out = []
    for ns, found in ns_views.items():
        for svc in snap.services.get(ns) or []:
            ends = [v for v in found if _selects(svc, v)]
            for port in (svc.get("spec") or {}).get("ports") or []:
                target = _container_port([v.pods[0] for v in ends], port.get("targetPort", port.get("port")))
                if ends and target is not None and target not in ISTIO_PORTS and port.get("protocol", "TCP") == "TCP":
                    out.append((svc, port["port"], target, ends))
    return out


def clients(snap, ns_views):
    """Every client outcome: ``(view, port, entry)`` with ``entry`` an OrderedDict (host_port, clients: the
    group's label, client_namespaces: how many, destination_rule, field, subset, tls, sends, status, why)."""
    out = []
    for svc, number, target, ends in service_ports(snap, ns_views):
        host, svc_ns = host_of(svc), meta(svc).get("namespace")
        for label, count, rule in client_groups(snap, host, svc_ns):
            for subset in [None] + ct.subsets_with_tls(rule, number):
                tls, field = ct.tls_settings(rule, number, subset)
                mode = ct.tls_mode(tls)
                picked = ct.subset_labels(rule, subset) if subset else {}
                for view in ends:
                    if picked and not all(view.labels.get(k) == v for k, v in picked.items()):
                        continue
                    server = view.decisions.get(target, view.decision)
                    what = ct.sends(mode, view.sidecar, server.mode, snap.auto_mtls)
                    status, why = ct.verdict(what, view.sidecar, server.mode)
                    out.append((view, target, OrderedDict([
                        ("host_port", "{0}:{1}".format(host, number)), ("clients", label),
                        ("client_namespaces", count), ("destination_rule", ct.rule_ref(rule)),
                        ("field", field), ("subset", subset), ("tls", mode), ("sends", what),
                        ("status", status), ("why", why)])))
    return out


def rows(ns_views, outcomes):
    """The matrix: one row per workload and port."""
    by_port = {}
    for view, port, entry in outcomes:
        by_port.setdefault((view.id, port), []).append(dict(entry))
    out = []
    for found in ns_views.values():
        for view in found:
            for port, hosts in view.ports.items():
                decision = view.decisions.get(port, view.decision)
                out.append(OrderedDict([
                    ("namespace", view.namespace), ("workload", "{0}/{1}".format(view.kind, view.name)),
                    ("port", port), ("services", hosts), ("mode", decision.mode),
                    ("effective", effective_mode(view, port)), ("policy", decision.policy), ("scope", decision.scope),
                    ("pods", len(view.pods)), ("with_sidecar", view.with_sidecar),
                    ("ready", len(view.pods) - len(view.unready)),
                    ("clients", by_port.get((view.id, port), [])), ("evidence", None)]))
    return out


def uniq(items):
    """The distinct items, in order, joined by /."""
    return "/".join(OrderedDict((i, 1) for i in items))


def tls_check(ns_views, outcomes):
    """The columns users knew from ``istioctl authn tls-check``: one line per host:port and client group."""
    lines = OrderedDict()
    for view, port, entry in outcomes:
        key = (entry["host_port"], entry["clients"], entry["destination_rule"], entry["subset"])
        line = lines.setdefault(key, {"modes": [], "policies": [], "status": ct.OK, "sends": []})
        decision = view.decisions.get(port, view.decision)
        line["modes"].append(effective_mode(view, port))
        line["policies"].append(decision.policy or "default (PERMISSIVE)")
        line["sends"].append(entry["sends"])
        line["tls"] = entry["tls"]
        if entry["status"] == ct.CONFLICT:
            line["status"] = ct.CONFLICT
    out = []
    for (host_port, label, rule, subset), line in lines.items():
        out.append(OrderedDict([
            ("host_port", host_port), ("status", line["status"]), ("server", uniq(line["modes"])),
            ("client", "/".join(ct.describe(line["tls"], s) for s in OrderedDict((s, 1) for s in line["sends"]))),
            ("authn_policy", uniq(line["policies"])),
            ("destination_rule", "{0}{1}".format(rule or "-", " (subset {0})".format(subset) if subset else "")),
            ("clients", label)]))
    return out
