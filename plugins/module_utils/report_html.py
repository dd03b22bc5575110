# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mesh report as one self-contained HTML page (the filter ``meshops.istio.mesh_report_html``): inline CSS
and SVG, no script, no external asset, and a Content-Security-Policy that forbids both anyway. Every value from
the cluster is HTML-escaped. Sections as in :mod:`report`; canaries get an SVG chart of their weights and
measured success rate per step. Pure functions."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from html import escape

from ansible_collections.meshops.istio.plugins.module_utils import report as rp

CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
header{background:#1d2b4a;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}
main{padding:8px 28px 28px}section{background:#fff;border-radius:8px;box-shadow:0 1px 3px #0002;margin:18px 0;
padding:14px 18px}h2{font-size:17px;margin:4px 0 10px}table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e3e6eb;vertical-align:top}th{background:#eef1f5}
.badge{display:inline-block;border-radius:10px;padding:1px 9px;font-weight:600;font-size:12px;margin-right:6px}
.passed{background:#1f9d55;color:#fff}.failed{background:#d0342c;color:#fff}.warnings{background:#e0a800}
.error,.fail,.CONFLICT{color:#b4231b;font-weight:600}.warning,.warn{color:#9a6500;font-weight:600}
.ok,.OK{color:#1f7a45;font-weight:600}.info{color:#44607f}
.mode{display:inline-block;border-radius:4px;padding:1px 7px;font-weight:600;font-size:12px}
.m-STRICT{background:#d4f3df;color:#135c33}.m-PERMISSIVE{background:#fff0c2;color:#7a5200}
.m-DISABLE{background:#fde0dc;color:#9b1c13}.m-NO_SIDECAR{background:#e4e6ea;color:#3c4350}
tr.row-STRICT td:first-child{border-left:4px solid #2fb36a}tr.row-PERMISSIVE td:first-child{border-left:4px solid #e0a800}
tr.row-DISABLE td:first-child{border-left:4px solid #d0342c}tr.row-NO_SIDECAR td:first-child{border-left:4px solid #8a919e}
.bar{background:#e4e6ea;border-radius:3px;height:8px;width:90px;display:inline-block;vertical-align:middle}
.bar span{display:block;height:8px;border-radius:3px;background:#2fb36a}.muted{color:#6b7383}
ul.checks{list-style:none;padding:0;margin:0}ul.checks li{padding:3px 0}code{font-size:12px}
"""
MARKS = {"ok": "\u2714", "warn": "\u203c", "fail": "\u2716"}
MODE_COLORS = (("STRICT", "#2fb36a"), ("PERMISSIVE", "#e0a800"), ("DISABLE", "#d0342c"), ("NO_SIDECAR", "#8a919e"))
RESULT_COLORS = {"pass": "#1f9d55", "fail": "#d0342c", "no_data": "#8a919e", "skipped": "#8a919e"}


def e(value):
    return escape(rp.text(value), quote=True)


def cells(values):
    return "".join("<td>{0}</td>".format(v) for v in values)


def table(headers, rows, row_classes=None):
    head = "".join("<th>{0}</th>".format(e(h)) for h in headers)
    body = "".join("<tr{0}>{1}</tr>".format(' class="{0}"'.format(escape(row_classes[i], quote=True))
                                            if row_classes else "", cells(r)) for i, r in enumerate(rows))
    return "<table><thead><tr>{0}</tr></thead><tbody>{1}</tbody></table>".format(head, body)


def mode(value):
    key = value if value in rp.MODE_LABELS else "DISABLE"
    return '<span class="mode m-{0}">{1}</span>'.format(key, e(rp.MODE_LABELS.get(value, value)))


def mode_bar(rows):
    """An SVG bar of the matrix's ports by effective mode, with a legend."""
    total = len(rows) or 1
    x, parts, legend = 0.0, [], []
    for key, color in MODE_COLORS:
        count = sum(1 for r in rows if r.get("effective") == key)
        if count:
            width = 600.0 * count / total
            parts.append('<rect x="{0:.1f}" y="0" width="{1:.1f}" height="18" fill="{2}"/>'.format(x, width, color))
            x += width
            legend.append("{0} {1}".format(count, rp.MODE_LABELS[key]))
    return ('<svg class="modes" width="600" height="18" viewBox="0 0 600 18" role="img" aria-label="{0}">{1}</svg>'
            '<div class="muted">{0}</div>').format(e(", ".join(legend) or "no port in scope"), "".join(parts))


def canary_chart(canary):
    """Weights (bars, left axis) and measured success rate (line, right axis) of each analysed step."""
    steps = canary.get("timeline") or []
    width, height, left, right, top, bottom = 640, 240, 46, 54, 16, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    rates = [s.get("success_rate") for s in steps if isinstance(s.get("success_rate"), (int, float))]
    floor = min([0.9] + [int(r * 20) / 20.0 for r in rates])
    slot = plot_w / float(max(len(steps), 1))
    out = ['<svg class="canary" width="{0}" height="{1}" viewBox="0 0 {0} {1}" role="img" aria-label="canary '
           '{2}">'.format(width, height, e("{0}/{1}".format(canary.get("namespace"), canary.get("name"))))]
    for frac in (0, 0.5, 1):
        y = top + plot_h * (1 - frac)
        out.append('<line x1="{0}" y1="{1:.1f}" x2="{2}" y2="{1:.1f}" stroke="#e3e6eb"/>'.format(left, y, left + plot_w))
        out.append('<text x="{0}" y="{1:.1f}" font-size="11" text-anchor="end" fill="#3d6fb6">{2:.0f}%</text>'.format(
            left - 6, y + 4, frac * 100))
        out.append('<text x="{0}" y="{1:.1f}" font-size="11" fill="#1f7a45">{2:.1f}%</text>'.format(
            left + plot_w + 6, y + 4, (floor + (1 - floor) * frac) * 100))
    points = []
    for i, step in enumerate(steps):
        cx = left + slot * (i + 0.5)
        weight = step.get("weight") if isinstance(step.get("weight"), (int, float)) else 0
        bar_h = plot_h * max(0, min(weight, 100)) / 100.0
        out.append('<rect x="{0:.1f}" y="{1:.1f}" width="{2:.1f}" height="{3:.1f}" fill="#9db8e3"/>'.format(
            cx - slot * 0.3, top + plot_h - bar_h, slot * 0.6, bar_h))
        out.append('<text x="{0:.1f}" y="{1}" font-size="11" text-anchor="middle">{2}</text>'.format(
            cx, height - 18, e("step {0}: {1}%".format(step.get("step"), weight))))
        rate = step.get("success_rate")
        if isinstance(rate, (int, float)):
            cy = top + plot_h * (1 - (max(rate, floor) - floor) / (1 - floor))
            points.append((cx, cy, step.get("result")))
    if len(points) > 1:
        out.append('<polyline fill="none" stroke="#1f7a45" stroke-width="2" points="{0}"/>'.format(
            " ".join("{0:.1f},{1:.1f}".format(x, y) for x, y, dummy in points)))
    for x, y, result in points:
        out.append('<circle cx="{0:.1f}" cy="{1:.1f}" r="4.5" fill="{2}"/>'.format(
            x, y, RESULT_COLORS.get(result, "#8a919e")))
    out.append('<text x="{0}" y="{1}" font-size="11" fill="#6b7383">bars: weight to {2} (left axis); line: success '
               'rate (right axis)</text>'.format(left, height - 3, e(canary.get("canary") or "canary")))
    out.append("</svg>")
    return "".join(out)


def section(title, body, ident):
    return '<section id="{0}"><h2>{1}</h2>{2}</section>'.format(ident, e(title), body)


def html(result, title="Mesh report"):
    """The whole report as one HTML document."""
    rp.check_result(result)
    parts = []
    checks = "".join('<li><span class="{0}">{1}</span> {2}{3}</li>'.format(
        escape(c.get("status") or "", quote=True), MARKS.get(c.get("status"), "?"), e(c.get("title")),
        ' <span class="muted">- {0}</span>'.format(e(c.get("hint"))) if c.get("status") != "ok" and c.get("hint")
        else "") for c in result["checks"])
    note = '<p class="muted">{0}</p>'.format(e(rp.suppressed(result))) if rp.suppressed(result) else ""
    parts.append(section("Checks", '<ul class="checks">{0}</ul>{1}'.format(checks, note), "checks"))
    findings = result["findings"]
    parts.append(section("Findings ({0})".format(len(findings)), table(
        ("severity", "code", "namespace", "message", "objects", "hint"),
        [('<span class="{0}">{1}</span>'.format(escape(f.get("severity") or "", quote=True), e(f.get("severity"))),
          "<code>{0}</code>".format(e(f.get("code"))), e(f.get("namespace")), e(f.get("message")),
          "<br>".join(e(o) for o in f.get("objects") or []), e(f.get("hint"))) for f in findings])
        if findings else '<p class="ok">No finding.</p>', "findings"))
    parts.append(section("Namespaces", table(
        ("namespace", "injection", "revision", "workloads", "sidecars", "ready", "mTLS", "decided by", "findings"),
        [(e(n.get("name")), e(", ".join("{0}={1}".format(k, v) for k, v in sorted((n.get("injection") or {}).items()))
                              or "not injected"), e(n.get("revision")), e(n.get("workloads")),
          e("{0}/{1}".format(n.get("with_sidecar"), n.get("pods"))), e(n.get("sidecars_ready")), mode(n.get("mode")),
          e(n.get("policy") or "Istio's default"), e(n.get("findings"))) for n in result["namespaces"]]),
        "namespaces"))
    rows = result["matrix"]
    parts.append(section("mTLS matrix", mode_bar(rows) + table(
        ("namespace", "workload", "port", "services", "mode", "decided by", "sidecars", "clients", "evidence"),
        [matrix_cells(r) for r in rows], ["row-" + row_mode(r) for r in rows]), "matrix"))
    parts.append(section("tls-check", table(
        ("HOST:PORT", "STATUS", "SERVER", "CLIENT", "AUTHN POLICY", "DESTINATION RULE", "CLIENTS"),
        [(e(t.get("host_port")), status(t.get("status")), e(t.get("server")), e(t.get("client")),
          e(t.get("authn_policy")), e(t.get("destination_rule")), e(t.get("clients")))
         for t in result.get("tls_check") or []]), "tls-check"))
    for canary in result.get("canaries") or []:
        parts.append(section("Canary {0}/{1}: {2}".format(canary.get("namespace"), canary.get("name"),
                                                          canary.get("phase")), canary_chart(canary) + table(
            ("step", "weight", "result", "success rate", "p99 ms", "requests", "reason"),
            [(e(s.get("step")), e(s.get("weight")), e(s.get("result")), e(rp.percent(s.get("success_rate"))),
              e(s.get("p99_ms")), e(s.get("requests")), e(s.get("reason"))) for s in canary.get("timeline") or []]),
            "canary-{0}-{1}".format(escape(rp.text(canary.get("namespace")), quote=True),
                                    escape(rp.text(canary.get("name")), quote=True))))
    summary = result.get("summary") or {}
    head = ('<header><h1>{0}</h1><span class="badge {1}">{1}</span>{2}</header>').format(
        e(title), rp.verdict(result), e(
            "{0} error(s), {1} warning(s), {2} info - expect {3} - namespaces: {4}".format(
                summary.get("error", 0), summary.get("warning", 0), summary.get("info", 0), result.get("expect"),
                ", ".join(n.get("name") or "" for n in result["namespaces"]))))
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">'
            '<meta name="viewport" content="width=device-width, initial-scale=1"><title>{0}</title><style>{1}</style>'
            '</head><body>{2}<main>{3}</main></body></html>\n').format(e(title), CSS, head, "".join(parts))


def status(value):
    return '<span class="{0}">{1}</span>'.format(escape(value or "", quote=True), e(value))


def row_mode(row):
    return row.get("effective") if row.get("effective") in rp.MODE_LABELS else "DISABLE"


def client_line(entry):
    how = "auto" if entry.get("tls") == "auto" else "{0} ({1}{2})".format(
        entry.get("tls"), entry.get("destination_rule"), ", subset " + entry["subset"] if entry.get("subset") else "")
    return "{0} {1}".format(status(entry.get("status")), e("{0}: {1} -> {2}".format(
        entry.get("clients"), how, entry.get("sends"))))


def matrix_cells(row):
    services = "<br>".join(e(s) for s in row.get("services") or []) or '<span class="muted">-</span>'
    decided = '{0} <span class="muted">({1})</span>'.format(e(row.get("policy") or "Istio's default"),
                                                            e(row.get("scope")))
    return (e(row.get("namespace")), e(row.get("workload")), e(rp.port_name(row)), services, mode(row.get("effective")),
            decided, e(rp.sidecars(row)), "<br>".join(client_line(c) for c in row.get("clients") or []),
            evidence_cell(row))


def evidence_cell(row):
    ev = row.get("evidence")
    if not ev:
        return '<span class="muted">no data</span>'
    share = ev.get("mtls_share") or 0.0
    return '<span class="bar"><span style="width:{0:.0f}%"></span></span> {1}'.format(
        share * 100, e(rp.evidence_summary(row)))
