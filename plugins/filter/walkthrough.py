# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of playbooks/site.yml: the rollout over many clusters and the summary of each."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError


def rollout_hosts(clusters, canary=""):
    """The host pattern of a step: the clusters, with the canary cluster first when there is one
    (Ansible keeps a pattern's order, so ``serial`` takes it alone in the first batch)."""
    clusters = str(clusters or "").strip()
    if not clusters:
        raise AnsibleFilterError("rollout_hosts: the clusters' host pattern is empty")
    canary = str(canary or "").strip()
    if not canary:
        return clusters
    if any(c in canary for c in ":,&!*[]~"):
        raise AnsibleFilterError("rollout_hosts: the canary cluster must be one inventory host name, got "
                                 "{0!r}".format(canary))
    return "{0}:{1}".format(canary, clusters)


def rollout_serial(canary=""):
    """``serial`` of a step: the canary alone, then every other cluster at once; all at once without one."""
    return [1, "100%"] if str(canary or "").strip() else ["100%"]


def rollout_max_fail_percentage(canary=""):
    """``max_fail_percentage`` of a step: with a canary, any failure stops the run (0); without one a failed
    cluster drops out and the others go on (100, Ansible's default behaviour)."""
    return 0 if str(canary or "").strip() else 100


def release_brief(status):
    """What the summary shows of a Helm release (kubernetes.core.helm_info's ``status``): never its values,
    which may hold secrets."""
    status = status or {}
    return dict((k, status.get(k)) for k in ("status", "revision", "chart", "app_version") if status.get(k) is not None)


def _istiod_line(istiod):
    found = (istiod or {}).get("resources") or []
    if (istiod or {}).get("failed"):
        return "Istio: istiod could not be read ({0})".format((istiod or {}).get("msg", "failed"))
    if not found:
        return "Istio: not installed (no istiod Deployment)"
    dep = found[0]
    containers = ((dep.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or [{}]
    image = containers[0].get("image", "?")
    status = dep.get("status") or {}
    return "Istio: {0}, {1}/{2} ready ({3})".format(
        (dep.get("metadata") or {}).get("name"), status.get("readyReplicas", 0),
        (dep.get("spec") or {}).get("replicas", 1), image.rpartition("/")[2])


def _app_line(data):
    release = data.get("release") or {}
    where = "{0}/{1}".format(data.get("namespace"), data.get("release_name"))
    if not release:
        line = "app: release {0} not installed".format(where)
    else:
        line = "app: release {0} {1}, revision {2} ({3})".format(
            where, release.get("status"), release.get("revision"), release.get("chart"))
    pods = data.get("pods") or {}
    if pods.get("failed"):
        return line + "; pods not read ({0})".format(pods.get("msg", "failed"))
    names = pods.get("pods") or []
    if names:
        line += "; {0} pods, {1} Ready, {2} with istio-proxy".format(
            len(names), len(names) - len(pods.get("not_ready") or []), len(names) - len(pods.get("without_sidecar") or []))
    return line


def _objects_lines(data):
    counts, missing, mtls = [], [], None
    for result in data.get("objects") or []:
        kind = str(result.get("item", "? ?")).rsplit(" ", maxsplit=1)[-1]
        if result.get("failed"):
            missing.append(kind)
            continue
        resources = result.get("resources") or []
        counts.append("{0} {1}".format(kind, len(resources)))
        if kind == "PeerAuthentication":
            for pa in resources:
                meta = pa.get("metadata") or {}
                if meta.get("namespace") == data.get("root_namespace") and not (pa.get("spec") or {}).get("selector"):
                    mtls = ((pa.get("spec") or {}).get("mtls") or {}).get("mode", "UNSET")
    lines = ["mesh objects (all namespaces): " + (", ".join(counts) or "none read")]
    if missing:
        lines.append("not served (CRD missing?): " + ", ".join(missing))
    lines.append("mesh-wide mTLS: " + (mtls or "no mesh-wide PeerAuthentication (Istio's default: PERMISSIVE)"))
    return lines


def walkthrough_summary(data):
    """The summary lines of one cluster after a site.yml run (see playbooks/tasks/summary.yml for ``data``)."""
    if not isinstance(data, dict):
        raise AnsibleFilterError("walkthrough_summary expects a mapping, got {0}".format(type(data).__name__))
    mode = ("check mode: nothing was written; the tasks reported changed above are what a real run would "
            "do (dry-run by the API server), and this is the cluster as it is") if data.get("check_mode") \
        else "applied"
    lines = ["cluster {0} ({1})".format(data.get("cluster"), mode), _istiod_line(data.get("istiod")), _app_line(data)]
    lines.extend(_objects_lines(data))
    for label, value in sorted((data.get("extra") or {}).items()):
        lines.append("{0}: {1}".format(label, value))
    return lines


class FilterModule(object):
    def filters(self):
        return {
            "rollout_hosts": rollout_hosts,
            "rollout_serial": rollout_serial,
            "rollout_max_fail_percentage": rollout_max_fail_percentage,
            "release_brief": release_brief,
            "walkthrough_summary": walkthrough_summary,
        }
