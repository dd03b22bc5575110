# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions of the canary role: the chart values of a release that runs one service of the demo shop in another
version beside the shop's (``canary_chart_values``), the steps of a release held before its promotion
(``canary_hold_steps``), and the report of a canary_shift result (``canary_report``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

# The demo shop's services (examples/shop's chart: object name -> key in its values).
SHOP_SERVICES = ("frontend", "api-gateway", "users", "orders", "payments")
LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


def _key(service):
    head, dummy, rest = service.partition("-")
    return head + "".join(part.capitalize() for part in rest.split("-")) if rest else head


def canary_chart_values(service, version, image_tag=""):
    """Values of the shop's chart that render only ``service``'s Deployment, as ``version`` (its ``version`` label
    and the Deployment ``<service>-<version>``), with ``image_tag`` when given."""
    if service not in SHOP_SERVICES:
        raise AnsibleFilterError("canary_chart_values: {0!r} is not a service of the shop's chart ({1})".format(
            service, ", ".join(SHOP_SERVICES)))
    if not isinstance(version, str) or len(version) > 63 or not LABEL_VALUE.match(version):
        raise AnsibleFilterError("canary_chart_values: version {0!r} is not a valid label value".format(version))
    svc = {"version": version}
    if image_tag:
        svc["image"] = {"tag": str(image_tag)}
    return {"deploymentsOnly": [service], _key(service): svc}


def _full(step):
    try:
        return float(step.get("weight")) >= 100
    except (TypeError, ValueError):
        return False


def canary_hold_steps(steps, hold=False):
    """``steps`` as they are, or with ``hold``: the release stops before its promotion - the steps at 100% at the end
    left out, and a last step that keeps the weight (and mirror) of the one before it, with a manual pause and no
    analysis, so the rollout waits in phase paused for ``action: promote`` (or ``abort``, ``resume``) from another
    run (an AWX workflow verifies the mesh in between)."""
    try:
        hold = boolean(hold, strict=True)
    except TypeError:
        raise AnsibleFilterError("canary_hold_steps: hold must be true or false, got {0!r}".format(hold))
    if not hold:
        return steps
    if not isinstance(steps, list) or not all(isinstance(s, dict) for s in steps):
        raise AnsibleFilterError("canary_hold_steps: steps must be a list of mappings (weight, pause, analysis), "
                                 "got {0!r}".format(steps))
    kept = list(steps)
    while kept and _full(kept[-1]):
        kept.pop()
    if not kept:
        raise AnsibleFilterError("canary_hold_steps: to hold before the promotion the steps need one below 100%, "
                                 "got weights {0}".format([s.get("weight") for s in steps]))
    last = kept[-1]
    held = {"weight": last.get("weight"), "pause": "manual", "analysis": False}
    if last.get("mirror") is not None:
        held["mirror"] = last["mirror"]
    return kept + [held]


def _percent(value):
    return "{0:.1f}%".format(value * 100) if isinstance(value, (int, float)) else "-"


def canary_report(result):
    """Lines that tell what a canary_shift task did: the outcome, then one line per analysis."""
    if not isinstance(result, dict):
        raise AnsibleFilterError("canary_report: expects a canary_shift result, got {0!r}".format(result))
    outcome = result.get("message") or result.get("msg") or result.get("phase")
    lines = ["{0}: {1}".format(result.get("virtual_service") or "canary", outcome)]
    for entry in result.get("timeline") or []:
        detail = "success {0}, p99 {1}, {2} requests".format(
            _percent(entry.get("success_rate")),
            "{0:g} ms".format(entry["p99_ms"]) if isinstance(entry.get("p99_ms"), (int, float)) else "-",
            entry.get("requests") if entry.get("requests") is not None else "-")
        lines.append("step {0} at {1}%: {2} ({3}){4}".format(
            entry.get("step"), entry.get("weight"), entry.get("result"), detail,
            ": " + entry["reason"] if entry.get("reason") else ""))
    return lines


class FilterModule(object):
    def filters(self):
        return {"canary_chart_values": canary_chart_values, "canary_hold_steps": canary_hold_steps,
                "canary_report": canary_report}
