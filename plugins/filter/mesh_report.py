# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mesh report of an mtls_verify result: ``mesh_report_html`` (one self-contained page, inline CSS and SVG,
every cluster value escaped) and ``mesh_report_markdown``. Filters rather than module options, so the module
stays read-only and the role writes the files with ansible.builtin.copy (idempotent: the report has no time
stamp, so an unchanged mesh gives an unchanged file)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.meshops.istio.plugins.module_utils import report, report_html


def _render(name, render, result, title):
    try:
        return render(result, title=title)
    except ValueError as exc:
        raise AnsibleFilterError("{0}: {1}".format(name, exc))


def mesh_report_html(result, title="Mesh report"):
    """The report of ``result`` (a registered meshops.istio.mtls_verify result) as an HTML page."""
    return _render("mesh_report_html", report_html.html, result, title)


def mesh_report_markdown(result, title="Mesh report"):
    """The report of ``result`` as Markdown."""
    return _render("mesh_report_markdown", report.markdown, result, title)


class FilterModule(object):
    def filters(self):
        return {"mesh_report_html": mesh_report_html, "mesh_report_markdown": mesh_report_markdown}
