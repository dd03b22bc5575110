# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the roles' release decisions."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def _text(value):
    return "" if value is None else str(value)


def helm_release_differences(current, chart, values):
    """What differs between the release and the wanted chart and values (without the helm-diff plugin,
    kubernetes.core.helm compares the same: chart name-version, app version, values)."""
    if not current:
        return ["not installed"]
    out = []
    if current.get("status") != "deployed":
        out.append("status {0}".format(current.get("status")))
    chart_id = "{0}-{1}".format(chart.get("name"), chart.get("version"))
    if current.get("chart") != chart_id:
        out.append("chart {0} -> {1}".format(current.get("chart"), chart_id))
    if _text(current.get("app_version")) != _text(chart.get("appVersion")):
        out.append("app version {0} -> {1}".format(current.get("app_version"), _text(chart.get("appVersion"))))
    # release_values: status.values is deprecated in kubernetes.core 6.6; older 6.x have only values.
    have = current.get("release_values") if "release_values" in current else current.get("values")
    if (have or {}) != (values or {}):
        out.append("values")
    return out


class FilterModule(object):
    def filters(self):
        return {"helm_release_differences": helm_release_differences}
