# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of playbooks/awx/configure.yml: from job_templates.yml's compact entries to awx.awx's arguments."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

NODE_KEYS = {"identifier", "template", "extra_data", "success", "failure", "always"}
LINKS = (("success", "success_nodes"), ("failure", "failure_nodes"), ("always", "always_nodes"))


def awx_enabled(templates):
    """The job template entries to configure: those not marked ``enabled: false``."""
    return [t for t in templates or [] if t.get("enabled", True)]


def awx_workflows(workflows, templates):
    """The workflows whose every node runs an enabled job template (the others wait for their templates)."""
    enabled = set(t["name"] for t in awx_enabled(templates))
    return [w for w in workflows or [] if all(n.get("template") in enabled for n in w.get("nodes") or [])]


def awx_workflow_nodes(nodes, organization):
    """awx.awx.workflow_job_template's ``workflow_nodes`` from ``{identifier, template, extra_data, success, failure,
    always}`` entries (``extra_data``: answers to the template's survey, a mapping); every problem (unknown key,
    duplicate identifier, link to no node, extra_data not a mapping) is named at once."""
    problems, ids = [], []
    for i, node in enumerate(nodes or []):
        where = "nodes[{0}]".format(i)
        if not isinstance(node, dict):
            problems.append("{0}: expected a mapping".format(where))
            continue
        unknown = sorted(set(node) - NODE_KEYS)
        if unknown:
            allowed = ", ".join(sorted(NODE_KEYS))
            problems.append("{0}: unknown keys {1} (allowed: {2})".format(where, ", ".join(unknown), allowed))
        for key in ("identifier", "template"):
            if not node.get(key):
                problems.append("{0}.{1} is required".format(where, key))
        if "extra_data" in node and not isinstance(node["extra_data"], dict):
            problems.append("{0}.extra_data must be a mapping of survey answers, got {1!r}".format(
                where, node["extra_data"]))
        if node.get("identifier") in ids:
            problems.append("{0}.identifier {1} is used twice".format(where, node.get("identifier")))
        ids.append(node.get("identifier"))
    for i, node in enumerate(n for n in nodes or [] if isinstance(n, dict)):
        for key, dummy in LINKS:
            for target in node.get(key) or []:
                if target not in ids:
                    problems.append("nodes[{0}].{1}: no node {2} (nodes: {3})".format(
                        i, key, target, ", ".join(str(x) for x in ids)))
    if problems:
        raise AnsibleFilterError("awx_workflow_nodes: " + "; ".join(problems))
    out = []
    for node in nodes or []:
        entry = {"identifier": node["identifier"],
                 "unified_job_template": {"name": node["template"], "type": "job_template",
                                          "organization": {"name": organization}}}
        if node.get("extra_data"):
            entry["extra_data"] = dict(node["extra_data"])
        related = dict((name, [{"identifier": t} for t in node.get(key) or []]) for key, name in LINKS if node.get(key))
        if related:
            entry["related"] = related
        out.append(entry)
    return out


def awx_cluster_variables(cluster):
    """Host variables of a cluster in the AWX inventory: reached from the execution environment
    (``ansible_connection: local``), with its kubeconfig context, plus its own ``variables``."""
    if not isinstance(cluster, dict) or not cluster.get("name"):
        raise AnsibleFilterError("awx_cluster_variables: a cluster is a mapping with a name, got {0!r}".format(cluster))
    out = {"ansible_connection": "local"}
    if cluster.get("context"):
        out["meshops_context"] = cluster["context"]
    out.update(cluster.get("variables") or {})
    return out


class FilterModule(object):
    def filters(self):
        return {
            "awx_enabled": awx_enabled,
            "awx_workflows": awx_workflows,
            "awx_workflow_nodes": awx_workflow_nodes,
            "awx_cluster_variables": awx_cluster_variables,
        }
