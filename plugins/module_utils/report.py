# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mesh report in Markdown, from an mtls_verify result (the filter ``meshops.istio.mesh_report_markdown``),
and what the HTML report (:mod:`report_html`) shares with it: the sections, the labels, the escaping.

Every value from the cluster is untrusted (names, annotation text, analyzer messages): Markdown cells are
escaped so that neither a ``|`` nor HTML nor link syntax survives. The output depends only on the result (no
time stamp), so writing it again for an unchanged mesh changes nothing. Pure functions.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

REQUIRED = ("matrix", "findings", "checks", "namespaces")
CHECK_MARKS = {"ok": "ok", "warn": "warn", "fail": "FAIL"}
MODE_LABELS = {"STRICT": "STRICT", "PERMISSIVE": "PERMISSIVE", "DISABLE": "DISABLE", "NO_SIDECAR": "no sidecar"}
MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def check_result(result):
    """Raise ValueError unless ``result`` looks like what mtls_verify returns."""
    if not isinstance(result, dict) or any(key not in result for key in REQUIRED):
        raise ValueError("expects the registered result of meshops.istio.mtls_verify (with {0})".format(
            ", ".join(REQUIRED)))


def text(value):
    """Any value as one line of text."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(text(v) for v in value)
    return " ".join(str(value).split())


def md(value):
    """A Markdown table cell: one line, Markdown syntax escaped, HTML characters as entities."""
    out = text(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return MD_SPECIAL.sub(r"\\\1", out)


def percent(value):
    return "" if value is None else "{0:.1f}%".format(value * 100)


def port_name(row):
    return "*" if row.get("port") is None else str(row["port"])


def sidecars(row):
    return "{0}/{1}".format(row.get("with_sidecar", 0), row.get("pods", 0))


def clients_summary(row):
    """``auto (mTLS) OK; DISABLE via DestinationRule x CONFLICT``: what the row's client groups send."""
    parts = []
    for entry in row.get("clients") or []:
        how = "auto" if entry.get("tls") == "auto" else "{0} ({1}{2})".format(
            entry.get("tls"), entry.get("destination_rule"), ", subset " + entry["subset"] if entry.get("subset") else "")
        parts.append("{0}: {1} {2} {3}".format(entry.get("clients"), how, entry.get("sends"), entry.get("status")))
    return "; ".join(parts)


def evidence_summary(row):
    ev = row.get("evidence")
    if not ev:
        return ""
    return "{0} mTLS of {1} requests{2}".format(percent(ev.get("mtls_share")), ev.get("requests"),
                                                ", {0} plaintext".format(ev["plaintext"]) if ev.get("plaintext") else "")


def verdict(result):
    """``failed`` (the task failed, or there are errors), ``warnings``, or ``passed``."""
    summary = result.get("summary") or {}
    if not result.get("passed", True) or summary.get("error"):
        return "failed"
    return "warnings" if summary.get("warning") else "passed"


def headline(result):
    summary = result.get("summary") or {}
    return "{0}: {1} error(s), {2} warning(s), {3} info; expect {4}; {5} namespace(s)".format(
        verdict(result).upper() if verdict(result) == "failed" else verdict(result), summary.get("error", 0), summary.get("warning", 0), summary.get("info", 0),
        result.get("expect", "STRICT"), len(result.get("namespaces") or []))


def suppressed(result):
    """The istioctl analyze messages analyze_suppress left out, as one line (empty when none)."""
    gone = (result.get("analyze") or {}).get("suppressed") or []
    return "istioctl analyze messages suppressed (analyze_suppress): " + "; ".join(text(g) for g in gone) if gone \
        else ""


def table(headers, rows):
    out = ["| " + " | ".join(md(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        out.append("| " + " | ".join(md(c) for c in row) + " |")
    return out


def markdown(result, title="Mesh report"):
    """The whole report as Markdown."""
    check_result(result)
    lines = ["# " + md(title), "", "**" + md(headline(result)) + "**", ""]
    lines += ["## Checks", ""]
    for check in result["checks"]:
        lines.append("- [{0}] {1}{2}".format(CHECK_MARKS.get(check.get("status"), md(check.get("status"))),
                                             md(check.get("title")),
                                             " - " + md(check.get("hint")) if check.get("status") != "ok" and
                                             check.get("hint") else ""))
    if suppressed(result):
        lines += ["", md(suppressed(result))]
    lines += ["", "## Findings", ""]
    if result["findings"]:
        lines += table(("severity", "code", "namespace", "message", "objects", "hint"), [
            (f.get("severity"), f.get("code"), f.get("namespace"), f.get("message"), f.get("objects"), f.get("hint"))
            for f in result["findings"]])
    else:
        lines.append("None.")
    lines += ["", "## Namespaces", ""]
    lines += table(("namespace", "injection", "revision", "workloads", "sidecars", "ready", "mTLS", "policy",
                    "findings"), [
        (n.get("name"), ", ".join("{0}={1}".format(k, v) for k, v in sorted((n.get("injection") or {}).items()))
         or "not injected", n.get("revision") or "", n.get("workloads"),
         "{0}/{1}".format(n.get("with_sidecar"), n.get("pods")), n.get("sidecars_ready"), n.get("mode"),
         n.get("policy") or "default", n.get("findings")) for n in result["namespaces"]])
    lines += ["", "## mTLS matrix", ""]
    lines += table(("namespace", "workload", "port", "services", "mode", "decided by", "sidecars", "clients",
                    "evidence"), [
        (r.get("namespace"), r.get("workload"), port_name(r), r.get("services"),
         MODE_LABELS.get(r.get("effective"), r.get("effective")),
         "{0} ({1})".format(r.get("policy") or "Istio's default", r.get("scope")), sidecars(r), clients_summary(r),
         evidence_summary(r)) for r in result["matrix"]])
    lines += ["", "## tls-check", ""]
    lines += table(("HOST:PORT", "STATUS", "SERVER", "CLIENT", "AUTHN POLICY", "DESTINATION RULE", "CLIENTS"), [
        (t.get("host_port"), t.get("status"), t.get("server"), t.get("client"), t.get("authn_policy"),
         t.get("destination_rule"), t.get("clients")) for t in result.get("tls_check") or []])
    for canary in result.get("canaries") or []:
        lines += ["", "## Canary {0}/{1} ({2})".format(md(canary.get("namespace")), md(canary.get("name")),
                                                       md(canary.get("phase"))), ""]
        lines += table(("step", "weight", "result", "success rate", "p99 ms", "requests", "at", "reason"), [
            (e.get("step"), e.get("weight"), e.get("result"), percent(e.get("success_rate")), e.get("p99_ms"),
             e.get("requests"), e.get("at"), e.get("reason")) for e in canary.get("timeline") or []])
    evidence = result.get("evidence")
    if evidence:
        lines += ["", "## Evidence (last {0})".format(md(evidence.get("window"))), ""]
        if evidence.get("error"):
            lines.append("No evidence: " + md(evidence["error"]))
        elif evidence.get("pairs"):
            lines += table(("source", "destination", "requests", "mTLS", "plaintext"), [
                (p.get("source"), p.get("destination"), p.get("requests"), percent(p.get("mtls_share")),
                 p.get("plaintext")) for p in evidence["pairs"]])
        else:
            lines.append("No request in the window.")
    return "\n".join(lines) + "\n"
