# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for the roles' and playbooks' release decisions (app_deploy, playbooks/rollback.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError


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


def helm_connection(kubeconfig=None, context=None):
    """helm's own connection arguments (the CLI reads neither K8S_AUTH_KUBECONFIG nor module_defaults)."""
    out = []
    if kubeconfig:
        out += ["--kubeconfig", str(kubeconfig)]
    if context:
        out += ["--kube-context", str(context)]
    return out


def helm_rollback_target(history, revision=0, release="release"):
    """The rollback plan from ``helm history -o json``: ``{current, target, current_chart, target_chart}``.

    ``revision`` 0 is the revision before the current one (helm's own default); another must be in the
    history. Refused, with the revisions there are, when there is nothing to roll back to."""
    entries = sorted((h for h in history or [] if isinstance(h, dict) and "revision" in h),
                     key=lambda h: int(h["revision"]))
    if not entries:
        raise AnsibleFilterError("{0}: no such Helm release (helm history is empty)".format(release))
    by_revision = dict((int(h["revision"]), h) for h in entries)
    current = int(entries[-1]["revision"])
    try:
        revision = int(revision or 0)
    except (TypeError, ValueError):
        raise AnsibleFilterError("{0}: revision must be a whole number, got {1!r}".format(release, revision))
    if revision < 0:
        raise AnsibleFilterError("{0}: revision must be 0 (the previous one) or a revision number, got {1}".format(
            release, revision))
    if revision == 0:
        earlier = [r for r in by_revision if r < current]
        if not earlier:
            raise AnsibleFilterError("{0}: revision {1} is the only one in the history; there is nothing to roll "
                                     "back to".format(release, current))
        revision = max(earlier)
    if revision not in by_revision:
        raise AnsibleFilterError("{0}: no revision {1} in the history (revisions: {2})".format(
            release, revision, ", ".join(str(r) for r in sorted(by_revision))))
    return {"current": current, "target": revision, "current_chart": by_revision[current].get("chart"),
            "target_chart": by_revision[revision].get("chart")}


def helm_rollback_needed(plan, current_values, target_values):
    """True unless the current revision already runs the target's chart with its values (a rollback would make
    a new revision that changes nothing)."""
    return plan.get("current") != plan.get("target") and (
        plan.get("current_chart") != plan.get("target_chart") or (current_values or {}) != (target_values or {}))


class FilterModule(object):
    def filters(self):
        return {"helm_release_differences": helm_release_differences, "helm_connection": helm_connection,
                "helm_rollback_target": helm_rollback_target, "helm_rollback_needed": helm_rollback_needed}
