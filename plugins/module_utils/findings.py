# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The findings of mtls_verify and its checks in ``linkerd check`` style.

A finding is something wrong with the mesh: a code, a severity (``error``: breaks calls or breaks the
expectation; ``warning``: works, but not as it should; ``info``), the check it belongs to, a message naming the
objects involved, and a hint. One cause is one finding: a policy that leaves ten ports open is one finding
listing them; a pod without the sidecar is reported as such, not again for each port it serves.

What kept the module from checking something (istioctl missing, Prometheus unreachable) is no finding: it is a
note that turns its check to ``warn``. Pure functions.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import OrderedDict

from ansible_collections.meshops.istio.plugins.module_utils import clienttls as ct, workloads as wl
from ansible_collections.meshops.istio.plugins.module_utils.constants import FAIL_ON
from ansible_collections.meshops.istio.plugins.module_utils.errors import ref

ERROR, WARNING, INFO = "error", "warning", "info"
# The modes weaker than each expectation (VERIFY_EXPECT).
WEAKER = {"STRICT": ("PERMISSIVE", "DISABLE"), "PERMISSIVE": ("DISABLE",), "ANY": ()}
CHECKS = OrderedDict([
    ("injection", "namespaces in scope are labelled for injection, with an injector for their revision"),
    ("sidecars", "every pod runs the istio-proxy sidecar"),
    ("revision", "sidecars run the revision their namespace asks for"),
    ("ready", "sidecars are Ready"),
    ("server_mtls", "servers enforce the expected mTLS mode"),
    ("client_tls", "DestinationRules agree with the servers' mTLS"),
    ("policies", "no PeerAuthentication is shadowed by an older one"),
    ("root_cert", "namespaces hold istiod's root certificate"),
    ("evidence", "the traffic observed is mutual TLS"),
    ("analyze", "istioctl analyze reports nothing"),
])
MTLS_HINT = ("set STRICT with a PeerAuthentication (meshops.istio.mesh_policy peer_authentications, or "
             "mesh_onboard mtls_mode: STRICT)")


def _few(items, most=5):
    items = list(items)
    return ", ".join(items[:most]) + (" and {0} more".format(len(items) - most) if len(items) > most else "")


class Findings:
    """Collects findings, and notes on checks that could not run fully."""

    def __init__(self, expect="STRICT"):
        self.expect = expect
        self.items = []
        self.notes = OrderedDict()

    def add(self, code, severity, check, message, objects=(), namespace=None, hint=None):
        self.items.append(OrderedDict([
            ("code", code), ("severity", severity), ("check", check), ("namespace", namespace),
            ("message", message), ("objects", list(objects)), ("hint", hint)]))

    def note(self, check, message):
        self.notes.setdefault(check, []).append(message)

    # -- namespaces and sidecars -----------------------------------------------------------------------

    def namespaces(self, facts):
        """``facts``: per namespace ``(name, injected, injector problem or None)``."""
        for name, injected, problem in facts:
            if not injected:
                self.add("namespace_not_injected", ERROR if self.expect != "ANY" else WARNING, "injection",
                         "Namespace {0} is not labelled for injection: its pods run without the sidecar and take "
                         "plaintext".format(name), ["Namespace " + name], name,
                         "label it istio-injection=enabled (or istio.io/rev) and restart its workloads "
                         "(meshops.istio.mesh_onboard does both)")
            elif problem:
                self.add("no_injector", ERROR, "injection", "Namespace {0}: {1}".format(name, problem),
                         ["Namespace " + name], name, "install that revision, or label the namespace for one that "
                                                      "is installed")

    def sidecars(self, ns_views, injected, strict_hosts):
        """Pods without the sidecar, opted out, on another revision, or with a sidecar not Ready."""
        calls = " and its calls to the STRICT servers in scope ({0}) fail".format(_few(strict_hosts, 3)) \
            if strict_hosts else ""
        for ns, found in ns_views.items():
            for view in found:
                what = "{0} {1}/{2}".format(view.kind, ns, view.name)
                by_state = OrderedDict()
                for pod, state, reason in view.states:
                    by_state.setdefault(state, []).append((pod, reason))
                if ns in injected and by_state.get(wl.SIDECAR_MISSING):
                    pods = [p for p, r in by_state[wl.SIDECAR_MISSING]]
                    self.add("sidecar_missing", ERROR, "sidecars", "{0}: {1} of {2} pods run without the istio-proxy "
                             "sidecar ({3}): they take plaintext{4}".format(
                                 what, len(pods), len(view.pods), _few(pods), calls), [what], ns,
                             "restart the workload so the injector adds the sidecar (meshops.istio.mesh_onboard "
                             "restarts exactly those lacking it)")
                if ns in injected and by_state.get(wl.SIDECAR_OPTED_OUT):
                    pods = [p for p, r in by_state[wl.SIDECAR_OPTED_OUT]]
                    self.add("sidecar_opted_out", ERROR if self.expect == "STRICT" else WARNING, "sidecars",
                             "{0}: {1} of {2} pods opted out of injection ({3}; {4}): they take plaintext{5}".format(
                                 what, len(pods), len(view.pods), by_state[wl.SIDECAR_OPTED_OUT][0][1], _few(pods),
                                 calls), [what], ns, "remove the opt-out (sidecar.istio.io/inject) and restart it, "
                                                     "or move it out of the mesh's namespaces")
                if by_state.get(wl.SIDECAR_OTHER_REVISION):
                    pods = [p for p, r in by_state[wl.SIDECAR_OTHER_REVISION]]
                    self.add("sidecar_other_revision", WARNING, "revision", "{0}: {1} pods {2} ({3})".format(
                        what, len(pods), by_state[wl.SIDECAR_OTHER_REVISION][0][1], _few(pods)), [what], ns,
                        "restart the workload to move it to its namespace's revision")
                if view.unready:
                    self.add("sidecar_not_ready", ERROR, "ready", "{0}: the istio-proxy sidecar of {1} of {2} pods is "
                             "not Ready ({3})".format(what, len(view.unready), len(view.pods), _few(view.unready)),
                             [what], ns, "look at the pods' events and the istio-proxy logs (istiod reachable? "
                                         "certificate issued?)")

    # -- mTLS ------------------------------------------------------------------------------------

    def servers(self, rows):
        """Ports whose sidecar takes plaintext where the expectation says otherwise, one finding per deciding
        policy (Istio's default: one per namespace)."""
        weaker = WEAKER[self.expect]
        groups = OrderedDict()
        for row in rows:
            if row["effective"] in weaker:
                key = row["policy"] or "default:" + row["namespace"]
                groups.setdefault(key, []).append(row)
        for key, hits in groups.items():
            ports = ["{0}/{1}:{2}".format(r["namespace"], r["workload"], r["port"] or "*") for r in hits]
            modes = "/".join(OrderedDict((r["effective"], 1) for r in hits))
            ns = hits[0]["namespace"]
            if key.startswith("default:"):
                why = "no PeerAuthentication applies to them in namespace {0}, and Istio's default is PERMISSIVE".format(
                    ns)
                objects = ["Namespace " + ns]
            else:
                why = "{0} sets {1}{2}".format(key, modes, " on port {0}".format(hits[0]["port"])
                                               if hits[0]["scope"] == "workload-port" else "")
                objects = [key]
            self.add("server_accepts_plaintext", ERROR, "server_mtls", "{0}: {1} port(s) take plaintext where {2} is "
                     "expected: {3}".format(why, len(hits), self.expect, _few(ports)), objects, ns, MTLS_HINT)

    def clients(self, outcomes):
        """DestinationRules whose TLS settings break or weaken calls, one finding per rule and problem."""
        groups = OrderedDict()
        for view, port, entry in outcomes:
            rule, mode = entry["destination_rule"], entry["tls"]
            if rule is None or mode == ct.AUTO:
                continue
            server = view.decisions.get(port, view.decision).mode if view.sidecar else "NO_SIDECAR"
            if entry["status"] == ct.CONFLICT:
                code = {ct.PLAINTEXT: "dr_disables_tls", ct.TLS: "dr_overrides_tls"}.get(
                    entry["sends"], "dr_mtls_to_plaintext")
            elif entry["sends"] == ct.PLAINTEXT and view.sidecar and server == "PERMISSIVE":
                code = "dr_disables_tls"
            else:
                continue
            hit = groups.setdefault((rule, code), {"lines": OrderedDict(), "conflict": False, "entry": entry})
            hit["conflict"] = hit["conflict"] or entry["status"] == ct.CONFLICT
            line = "{0}{1} ({2}) -> {3}/{4}/{5}:{6} {7}".format(
                entry["host_port"], " subset " + entry["subset"] if entry["subset"] else "", entry["clients"],
                view.namespace, view.kind, view.name, port, server)
            hit["lines"][line] = entry["why"]
        for (rule, code), hit in groups.items():
            entry = hit["entry"]
            first_why = next(w for w in hit["lines"].values() if w) if hit["conflict"] else \
                "the traffic goes in plaintext although the server takes mTLS"
            self.add(code, ERROR if hit["conflict"] else WARNING, "client_tls",
                     "{0} sets tls.mode {1} ({2}): {3}: {4}".format(
                         rule, entry["tls"], entry["field"], first_why, _few(hit["lines"], 4)),
                     [rule], rule.split(" ", 1)[1].split("/")[0],
                     "remove the tls settings (auto mTLS picks Istio mTLS towards sidecars) or set ISTIO_MUTUAL"
                     if code != "dr_mtls_to_plaintext" else
                     "towards a server without the sidecar or with mTLS DISABLE, use tls.mode DISABLE (or none)")

    def shadowed(self, ns_views):
        seen = OrderedDict()
        for found in ns_views.values():
            for view in found:
                for loser, winner in view.found.shadowed if view.found else ():
                    seen[(ref(loser), ref(winner))] = view.namespace
        for (loser, winner), ns in seen.items():
            self.add("peer_authentication_shadowed", WARNING, "policies", "{0} is ignored: {1} applies to the same "
                     "workloads at the same scope and is older (Istio applies the oldest)".format(loser, winner),
                     [loser, winner], ns, "merge them into one PeerAuthentication")

    # -- trust, evidence, analyze -----------------------------------------------------------------------

    def root_cert(self, missing, mismatched, source):
        if missing:
            self.add("root_cert_missing", ERROR, "root_cert", "no istio-ca-root-cert ConfigMap (or no certificate "
                     "in it) in namespace(s) {0}: their sidecars cannot verify their peers".format(_few(missing)),
                     ["ConfigMap {0}/istio-ca-root-cert".format(n) for n in missing], missing[0],
                     "istiod writes it into every namespace it watches: check istiod's logs and discoverySelectors")
        if mismatched:
            self.add("root_cert_mismatch", ERROR, "root_cert", "the istio-ca-root-cert of namespace(s) {0} lacks the "
                     "root certificate {1}: mTLS with workloads of other namespaces fails".format(
                         _few(mismatched), source),
                     ["ConfigMap {0}/istio-ca-root-cert".format(n) for n in mismatched], mismatched[0],
                     "after a CA change, let istiod rewrite the ConfigMaps and restart the workloads")

    def evidence(self, rows, window):
        done = set()
        for row in rows:
            ev = row.get("evidence")
            key = (row["namespace"], row["workload"])
            if not ev or not ev["plaintext"] or key in done:
                continue
            done.add(key)
            sources = [s["source"] for s in ev["sources"] if s["plaintext"]]
            now = " It is STRICT now: calls from clients without a sidecar fail." if row["effective"] == "STRICT" \
                else ""
            self.add("plaintext_observed", ERROR if self.expect == "STRICT" else WARNING, "evidence",
                     "{0}/{1} received {2} of {3} requests in plaintext over the last {4} (from {5}).{6}".format(
                         row["namespace"], row["workload"], ev["plaintext"], ev["requests"], window, _few(sources),
                         now), ["{0} {1}/{2}".format(row["workload"].split("/")[0], row["namespace"],
                                                     row["workload"].split("/", 1)[1])], row["namespace"],
                     "give those clients the sidecar, then set STRICT")

    def analyzed(self, messages):
        for msg in messages:
            self.add(msg["code"], msg["severity"], "analyze", "{0}: {1}".format(msg["origin"], msg["message"]),
                     [msg["origin"]], msg["namespace"], msg.get("documentation_url"))


def checks(found, enabled):
    """The checks, each ``ok``, ``warn`` (warnings, or could not run fully) or ``fail`` (errors), with the hint
    of its first finding (or note); ``enabled`` names the checks that ran."""
    out = []
    for name, title in CHECKS.items():
        if name not in enabled:
            continue
        mine = [f for f in found.items if f["check"] == name]
        notes = found.notes.get(name) or []
        errors = [f for f in mine if f["severity"] == ERROR]
        warnings = [f for f in mine if f["severity"] == WARNING]
        status = "fail" if errors else "warn" if warnings or notes else "ok"
        first = (errors or warnings or [None])[0]
        out.append(OrderedDict([("name", name), ("title", title), ("status", status),
                                ("findings", len(mine)), ("hint", first["hint"] if first else (
                                    notes[0] if notes else None)), ("notes", notes)]))
    return out


def failing(items, fail_on):
    """The findings that fail the task under ``fail_on`` (one of FAIL_ON)."""
    if fail_on not in FAIL_ON or fail_on == "never":
        return []
    levels = (ERROR,) if fail_on == "error" else (ERROR, WARNING)
    return [f for f in items if f["severity"] in levels]


def summary(items):
    return OrderedDict((sev, sum(1 for f in items if f["severity"] == sev)) for sev in (ERROR, WARNING, INFO))
