# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mtls_verify runner: read the scope once (one list per kind, whatever the number of pods or
namespaces), build the mTLS matrix (:mod:`matrix`), add evidence from Prometheus (:mod:`evidence`), the root
certificate check (:mod:`certs`) and ``istioctl analyze`` (:mod:`analyze`), and judge it all
(:mod:`findings`). Reads only: nothing is ever written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import tempfile
from collections import OrderedDict

from ansible_collections.meshops.istio.plugins.module_utils import (
    analyze, certs, evidence, findings as fx, matrix, mesh, peers, rollout, validate,
)
from ansible_collections.meshops.istio.plugins.module_utils.constants import (
    APPS, INJECTION_LABEL, ISTIO_NAMESPACE, NETWORKING, PROTECTED_NAMESPACES, REVISION_LABEL, SECURITY,
)
from ansible_collections.meshops.istio.plugins.module_utils.errors import (
    ApiError, CommandError, InputError, KindNotServed, MeshError, PrometheusError,
)
from ansible_collections.meshops.istio.plugins.module_utils.module import result
from ansible_collections.meshops.istio.plugins.module_utils.prometheus import Prometheus, check_options

try:
    import yaml
except ImportError:  # pragma: no cover - checked by the module wrapper
    yaml = None

meta = matrix.meta


def validate_params(params):
    problems = validate.Problems()
    for i, name in enumerate(params.get("namespaces") or []):
        validate.dns_label(problems, "namespaces[{0}]".format(i), name)
    window = params.get("evidence_window")
    if not isinstance(window, str) or not evidence.WINDOW_RE.match(window):
        problems.add("evidence_window", "{0!r} is not a Prometheus range such as 30s, 10m or 1h".format(window))
    if params.get("ca_root_cert") and not certs.certificates(params["ca_root_cert"]):
        problems.add("ca_root_cert", "holds no PEM certificate (-----BEGIN CERTIFICATE----- ...)")
    for i, rule in enumerate(params.get("analyze_suppress") or []):
        if not isinstance(rule, str) or not analyze.SUPPRESS_RE.match(rule):
            problems.add("analyze_suppress[{0}]".format(i), "{0!r} is not a code (IST0133) or a code and the "
                         "object it is about (IST0133=EnvoyFilter shop/rate-limit; * matches anything)".format(rule))
    for field in ("root_namespace", "istio_namespace"):
        if params.get(field):
            validate.dns_label(problems, field, params[field])
    check_options(problems, params)
    problems.raise_any()


def scope(module, kube, params):
    """The namespaces in scope: given by name, by label selector, or (neither) every namespace labelled for
    injection, system namespaces left out."""
    if params.get("namespaces") or (params.get("namespace_selector") or "").strip():
        return mesh.select_namespaces(kube, names=params.get("namespaces"), selector=params.get("namespace_selector"),
                                      warn=module.warn)
    return sorted((n for n in kube.list("v1", "Namespace", page_size=None)
                   if mesh.is_injected(n) and meta(n)["name"] not in PROTECTED_NAMESPACES), key=lambda n: meta(n)["name"])


def mesh_config(kube, istio_namespace):
    """(rootNamespace, enableAutoMtls) of the installed mesh config, Istio's defaults when unreadable."""
    try:
        found = kube.get("v1", "ConfigMap", "istio", istio_namespace)
    except ApiError as exc:
        if exc.status in (401, 403):
            return ISTIO_NAMESPACE, True
        raise
    config = {}
    if found and yaml is not None:
        try:
            config = yaml.safe_load((found.get("data") or {}).get("mesh") or "") or {}
        except yaml.YAMLError:
            config = {}
    if not isinstance(config, dict):
        config = {}
    return config.get("rootNamespace") or ISTIO_NAMESPACE, config.get("enableAutoMtls", True) is not False


class Reader:
    """One list per kind: cluster-wide for several namespaces, in the namespace (and the root or istiod
    namespace where needed) for one. Objects come back by namespace, only those of ``keep``."""

    def __init__(self, kube, names, extra):
        self.kube, self.names = kube, names
        self.keep = set(names) | set(extra)
        self.single = len(names) == 1
        self.extra = [n for n in OrderedDict((e, 1) for e in extra) if n not in names]

    def list(self, api_version, kind, extra=False, **kwargs):
        where = self.names + (self.extra if extra else []) if self.single else [None]
        items = []
        for ns in where:
            items.extend(self.kube.list(api_version, kind, namespace=ns, page_size=None, **kwargs))
        out = OrderedDict()
        for item in items:
            ns = meta(item).get("namespace")
            if ns in self.keep:
                out.setdefault(ns, []).append(item)
        return out


def revisions(namespaces, injectors):
    """{namespace: expected revision (None: any)} and {namespace: problem} of the injected namespaces."""
    wanted, problems = {}, {}
    for ns in namespaces:
        labels = meta(ns).get("labels") or {}
        if not mesh.is_injected(ns):
            continue
        rev = None if labels.get(INJECTION_LABEL) == "enabled" else labels.get(REVISION_LABEL)
        try:
            wanted[meta(ns)["name"]] = mesh.expected_revision(rev, injectors)
        except InputError as exc:
            problems[meta(ns)["name"]] = exc.msg
    return wanted, problems


def read(module, kube, params, namespaces):
    names = [meta(n)["name"] for n in namespaces]
    istio_ns = params.get("istio_namespace") or ISTIO_NAMESPACE
    root_ns, auto_mtls = mesh_config(kube, istio_ns)
    root_ns = params.get("root_namespace") or root_ns
    reader = Reader(kube, names, [root_ns, istio_ns])
    try:
        pas = reader.list(SECURITY, "PeerAuthentication", extra=True)
        drs = reader.list(NETWORKING, "DestinationRule", extra=True)
        vss = reader.list(NETWORKING, "VirtualService")
    except KindNotServed as exc:
        raise InputError("{0} (Istio's CRDs are not installed: install Istio first)".format(exc.msg))
    wanted, problems = revisions(namespaces, mesh.injectors(kube))
    snap = matrix.Snapshot(
        namespaces, reader.list("v1", "Pod"), reader.list(APPS, "ReplicaSet"), reader.list("v1", "Service"),
        [p for ns in pas.values() for p in ns], drs, root_ns, wanted, auto_mtls)
    cms = reader.list("v1", "ConfigMap", extra=True, field_selector="metadata.name=" + certs.CONFIGMAP)
    roots = dict((ns, [c for c in found if meta(c).get("name") == certs.CONFIGMAP][0]) for ns, found in cms.items()
                 if any(meta(c).get("name") == certs.CONFIGMAP for c in found))
    return snap, problems, roots, vss, istio_ns


def observe(module, params, rows, names, found):
    """Evidence from Prometheus, attached to the rows; returns the evidence part of the result."""
    if not params.get("prometheus_url"):
        return None
    promql = evidence.query(names, params["evidence_window"])
    out = OrderedDict([("window", params["evidence_window"]), ("query", promql), ("pairs", [])])
    try:
        samples = Prometheus.from_params(params).query(promql)
    except PrometheusError as exc:
        found.note("evidence", "no evidence: {0}".format(exc.msg))
        module.warn("mtls_verify: no mTLS evidence: {0}".format(exc.msg))
        out["error"] = exc.msg
        return out
    folded = evidence.fold(samples, set(names))
    evidence.attach(rows, folded)
    out["pairs"] = evidence.pairs(folded)
    if not folded:
        found.note("evidence", "Prometheus has no request of a workload in scope over the last {0}: no evidence, "
                               "either way".format(params["evidence_window"]))
    return out


def trust(params, roots, names, istio_ns, found):
    """Compare every namespace's istio-ca-root-cert with the reference root; the root_cert part of the result."""
    if params.get("ca_root_cert"):
        reference, source = certs.certificates(params["ca_root_cert"]), "given in ca_root_cert"
    else:
        reference = certs.bundle(roots.get(istio_ns)) or []
        source = "istiod publishes in {0}".format(istio_ns)
        if not reference:
            found.note("root_cert", "no istio-ca-root-cert in {0} to compare with: only checked that every namespace "
                                    "has one".format(istio_ns))
    missing, mismatched = certs.compare(reference, roots, names)
    shown = "{0} ({1})".format(certs.fingerprint(reference[0]), source) if reference else source
    found.root_cert(missing, mismatched, shown)
    return OrderedDict([("reference", [certs.fingerprint(c) for c in reference]), ("source", source),
                        ("missing", missing), ("mismatched", mismatched)])


def kubeconfig_for(module, params, tmp):
    """The kubeconfig path istioctl should use (a dict kubeconfig written to ``tmp``), or None."""
    config = params.get("kubeconfig")
    if isinstance(config, dict):
        path = os.path.join(tmp, "kubeconfig")
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as handle:
            handle.write(json.dumps(config))
        return path
    return config or None


def lint(module, params, names, found):
    """istioctl analyze over the scope; the analyze part of the result."""
    if not params.get("analyze"):
        return OrderedDict([("ran", False), ("messages", 0)])
    istioctl = module.get_bin_path(params.get("istioctl_path") or "istioctl")
    if not istioctl:
        if params.get("istioctl_path"):
            raise InputError("istioctl not found at {0}; fix istioctl_path or set analyze: false".format(
                params["istioctl_path"]))
        found.note("analyze", "istioctl is not on PATH: istioctl analyze did not run (set istioctl_path)")
        return OrderedDict([("ran", False), ("messages", 0)])
    if params.get("host") and not params.get("kubeconfig"):
        found.note("analyze", "istioctl analyze needs a kubeconfig (host/api_key connections are not passed on)")
        return OrderedDict([("ran", False), ("messages", 0)])
    tmp = tempfile.mkdtemp(prefix="mtls-verify-")
    try:
        messages = analyze.run(module, istioctl, names, kubeconfig_for(module, params, tmp), params.get("context"))
    except CommandError as exc:
        found.note("analyze", exc.msg)
        module.warn("mtls_verify: {0}".format(exc.msg))
        return OrderedDict([("ran", False), ("messages", 0), ("error", exc.msg)])
    finally:
        for name in os.listdir(tmp):
            os.remove(os.path.join(tmp, name))
        os.rmdir(tmp)
    kept, gone = analyze.split(messages, params.get("analyze_suppress"))
    found.analyzed(kept)
    return OrderedDict([("ran", True), ("messages", len(kept)), ("suppressed", gone)])


def canaries(vss):
    out = []
    for ns, items in vss.items():
        for vs in items:
            state = rollout.read_state(vs)
            if state is not None:
                out.append(OrderedDict([
                    ("namespace", ns), ("name", meta(vs).get("name")), ("phase", state.get("phase")),
                    ("stable", state.get("stable")), ("canary", state.get("canary")), ("step", state.get("step")),
                    ("steps", [s.get("weight") for s in state.get("steps") or [] if isinstance(s, dict)]),
                    ("timeline", rollout.timeline(state))]))
    return out


def namespace_report(namespaces, ns_views, snap, items):
    out = []
    for ns in namespaces:
        name, labels = meta(ns)["name"], meta(ns).get("labels") or {}
        views = ns_views.get(name) or []
        pods = [p for v in views for p in v.pods]
        decision = peers.namespace_decision(snap.peer_authentications, name, snap.root_namespace)
        out.append(OrderedDict([
            ("name", name), ("injected", mesh.is_injected(ns)),
            ("injection", dict((k, v) for k, v in labels.items() if k in (INJECTION_LABEL, REVISION_LABEL))),
            ("revision", snap.revisions.get(name)), ("workloads", len(views)), ("pods", len(pods)),
            ("with_sidecar", sum(v.with_sidecar for v in views)),
            ("sidecars_ready", sum(v.with_sidecar - len(v.unready) for v in views)),
            ("mode", decision.mode), ("policy", decision.policy),
            ("findings", sum(1 for f in items if f["namespace"] == name))]))
    return out


def run(module, kube):
    params = module.params
    validate_params(params)
    namespaces = scope(module, kube, params)
    names = [meta(n)["name"] for n in namespaces]
    snap, problems, roots, vss, istio_ns = read(module, kube, params, namespaces)
    ns_views = matrix.views(snap)
    outcomes = matrix.clients(snap, ns_views)
    rows = matrix.rows(ns_views, outcomes)
    found = fx.Findings(params["expect"])
    found.namespaces([(n, mesh.is_injected(o), problems.get(n)) for n, o in zip(names, namespaces)])
    strict_hosts = OrderedDict((h, 1) for r in rows if r["effective"] == "STRICT" for h in r["services"])
    found.sidecars(ns_views, set(n for n, o in zip(names, namespaces) if mesh.is_injected(o)), list(strict_hosts))
    found.servers(rows)
    found.clients(outcomes)
    found.shadowed(ns_views)
    root_cert = trust(params, roots, names, istio_ns, found)
    seen = observe(module, params, rows, names, found)
    if seen is not None:
        found.evidence(rows, params["evidence_window"])
    linted = lint(module, params, names, found)
    enabled = [c for c in fx.CHECKS if (c != "evidence" or seen is not None) and (c != "analyze" or params["analyze"])]
    failing = fx.failing(found.items, params["fail_on"])
    out = result(module, kube, [], passed=not failing, expect=params["expect"],
                 scope=OrderedDict([("namespaces", names), ("root_namespace", snap.root_namespace),
                                    ("auto_mtls", snap.auto_mtls)]),
                 summary=fx.summary(found.items), checks=fx.checks(found, enabled), findings=found.items,
                 namespaces=namespace_report(namespaces, ns_views, snap, found.items), matrix=rows,
                 tls_check=matrix.tls_check(ns_views, outcomes), root_cert=root_cert, evidence=seen,
                 analyze=linted, canaries=canaries(vss))
    if failing:
        raise MeshError("mtls_verify: {0} finding(s) at or above fail_on={1} in {2} namespace(s):\n- {3}".format(
            len(failing), params["fail_on"], len(names), "\n- ".join(
                "[{0}] {1}: {2}".format(f["severity"], f["code"], f["message"]) for f in failing[:20])), result=out)
    return out
