# -*- coding: utf-8 -*-
"""mesh_report_html and mesh_report_markdown: every section, every namespace, hostile text escaped, no script or
external asset, the canary chart, and the same output for the same result (idempotent files)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import re

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.meshops.istio.plugins.filter.mesh_report import mesh_report_html, mesh_report_markdown
from ansible_collections.meshops.istio.plugins.module_utils import verify
from ansible_collections.meshops.istio.plugins.module_utils.kube import Kube
from ansible_collections.meshops.istio.tests.unit import fakes
from ansible_collections.meshops.istio.tests.unit.plugins.module_utils import verify_cluster as vc
from ansible_collections.meshops.istio.tests.unit.plugins.module_utils.test_verify import DEFAULTS, Module

HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>|**x**[a](http://evil)'


def canary_vs(reason=HOSTILE):
    state = {"version": 1, "phase": "progressing", "stable": "v1", "canary": "v2", "step": 2,
             "steps": [{"weight": 10}, {"weight": 30}, {"weight": 60}],
             "history": [{"step": 0, "weight": 10, "at": "t0", "result": "pass", "success_rate": 0.998, "requests": 240},
                         {"step": 1, "weight": 30, "at": "t1", "result": "pass", "success_rate": 0.995},
                         {"step": 2, "weight": 60, "at": "t2", "result": "fail", "success_rate": 0.91,
                          "reason": reason}]}
    return {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
            "metadata": {"name": "svc0", "namespace": "clean", "annotations": {"meshops.istio/canary": json.dumps(state)}},
            "spec": {"hosts": ["svc0"]}}


@pytest.fixture(scope="module")
def result():
    module = Module(istioctl="/bin/istioctl", analyze_output=json.dumps([{
        "code": "IST0101", "level": "Error", "message": HOSTILE, "origin": "VirtualService clean/svc0"}]))
    module.params = dict(DEFAULTS, analyze=True)
    kube = Kube(module, client=fakes.FakeClient(vc.the_four_situations() + [canary_vs()]))
    return json.loads(json.dumps(verify.run(module, kube)))  # as Ansible registers it


def test_html_holds_every_section_and_namespace(result):
    page = mesh_report_html(result)
    for ident in ("checks", "findings", "namespaces", "matrix", "tls-check", "canary-clean-svc0"):
        assert 'id="{0}"'.format(ident) in page
    for ns in ("perm", "strict", "clean"):
        assert "<td>{0}</td>".format(ns) in page
    assert page.startswith("<!DOCTYPE html>") and "failed" in page
    for code in ("server_accepts_plaintext", "dr_disables_tls", "sidecar_opted_out", "IST0101"):
        assert code in page
    assert 'class="mode m-STRICT"' in page and 'class="mode m-PERMISSIVE"' in page and "m-NO_SIDECAR" in page


def test_html_escapes_hostile_text_and_loads_nothing(result):
    page = mesh_report_html(result, title="<b>t</b>")
    assert "<script" not in page and "<img" not in page and "onerror=\"" not in page
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page and "&lt;b&gt;t&lt;/b&gt;" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "default-src 'none'" in page  # a CSP: even a missed escape could not run or load anything


def test_html_canary_chart(result):
    page = mesh_report_html(result)
    chart = page[page.index('<svg class="canary"'):page.index("</svg>", page.index('<svg class="canary"'))]
    assert chart.count("<rect") == 3 and chart.count("<circle") == 3 and "<polyline" in chart
    assert 'fill="#d0342c"' in chart  # the failed step's point
    assert "step 2: 60%" in chart


def test_markdown_holds_every_section_and_escapes(result):
    text = mesh_report_markdown(result)
    for heading in ("## Checks", "## Findings", "## Namespaces", "## mTLS matrix", "## tls-check",
                    "## Canary clean/svc0 (progressing)"):
        assert heading in text
    assert "<img" not in text and "<script" not in text and "](http" not in text
    assert "&lt;img" in text and r"\|\*\*x\*\*\[a\]\(http://evil\)" in text
    for line in text.splitlines():
        if line.startswith("| "):
            # escaped pipes never split a cell: every table row has its header's number of cells
            assert len(re.split(r"(?<!\\)\|", line)) - 2 in (3, 5, 6, 7, 8, 9)


def test_same_result_same_report(result):
    assert mesh_report_html(copy.deepcopy(result)) == mesh_report_html(result)
    assert mesh_report_markdown(copy.deepcopy(result)) == mesh_report_markdown(result)


def test_a_clean_mesh_says_so():
    module = Module()
    module.params = dict(DEFAULTS)
    out = verify.run(module, Kube(module, client=fakes.FakeClient(vc.base() + vc.clean_namespace("shop"))))
    page = mesh_report_html(out)
    assert "No finding." in page and "badge passed" in page
    assert "None." in mesh_report_markdown(out)


def test_not_a_verify_result():
    with pytest.raises(AnsibleFilterError, match="mtls_verify"):
        mesh_report_html({"changed": False})
    with pytest.raises(AnsibleFilterError, match="mtls_verify"):
        mesh_report_markdown("text")
