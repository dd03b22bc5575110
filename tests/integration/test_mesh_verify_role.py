# -*- coding: utf-8 -*-
"""The mesh_verify role on the lab, and its report in a real browser.

- A clean STRICT namespace: the role passes, writes mesh-report.html and mesh-report.md, prints the path; a rerun
  changes nothing (the report has no time stamp).
- A namespace with PERMISSIVE mTLS: the role fails the play, and the report is written all the same.
- Check mode: a namespace that does not exist yet is left out, findings do not fail the play, no report is written,
  and each is said.
- The HTML report over both (and a canary's timeline from a VirtualService annotated in canary_shift's shape,
  with hostile text in it) rendered by headless Chromium (Debian's package, installed by scripts/chromium.sh
  when missing): the screenshot is not blank, the DOM holds every namespace and the chart, the hostile text is
  text. The screenshot is kept in build/mesh-report.png (docs/images/mesh-report.png is one of these).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import tempfile

import pytest
from harness import ROOT, Ansible
from pngcheck import stats
from test_mtls_verify import apply, deployment, peer_authentication, pods_settled

PLAY = """
- hosts: localhost
  gather_facts: false
  roles:
    - role: meshops.istio.mesh_verify
"""
HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]


def canary_state():
    return {"version": 1, "phase": "paused", "route": "split", "stable": "v1", "canary": "v2", "step": 3,
            "started": "2026-12-01T10:00:00Z", "updated": "2026-12-01T10:20:00Z",
            "steps": [{"weight": 10}, {"weight": 25}, {"weight": 50}, {"weight": 100}],
            "history": [
                {"step": 0, "weight": 10, "at": "2026-12-01T10:05:00Z", "result": "pass", "success_rate": 0.999,
                 "p99_ms": 41.5, "requests": 240},
                {"step": 1, "weight": 25, "at": "2026-12-01T10:10:00Z", "result": "pass", "success_rate": 0.996,
                 "p99_ms": 44.0, "requests": 610},
                {"step": 2, "weight": 50, "at": "2026-12-01T10:15:00Z", "result": "pass", "success_rate": 0.993,
                 "p99_ms": 52.1, "requests": 1180},
                {"step": 3, "weight": 50, "at": "2026-12-01T10:20:00Z", "result": "fail", "success_rate": 0.948,
                 "p99_ms": 180.3, "requests": 1210, "reason": "success rate 94.8% < 99% " + HOSTILE}]}


@pytest.fixture(scope="module")
def mesh(lab, ansible):
    names = {"clean": "mv-clean-" + os.urandom(3).hex(), "lax": "mv-lax-" + os.urandom(3).hex()}
    for ns in names.values():
        lab.kubectl("create", "namespace", ns)
        lab.kubectl("label", "namespace", ns, "istio-injection=enabled")
    canary = {"apiVersion": "networking.istio.io/v1", "kind": "VirtualService",
              "metadata": {"name": "shop", "annotations": {"meshops.istio/canary": json.dumps(canary_state())}},
              "spec": {"hosts": ["shop"], "http": [{"name": "split", "route": [{"destination": {"host": "shop"}}]}]}}
    apply(lab, names["clean"], [peer_authentication("default", "STRICT"), canary] + deployment("shop"))
    apply(lab, names["lax"], [
        peer_authentication("default", "PERMISSIVE"),
        peer_authentication("legacy", "STRICT", {"app": "legacy"}, {9000: "DISABLE"}),
        {"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": {"name": "legacy"},
         "spec": {"host": "legacy", "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}}}}]
        + deployment("web") + deployment("legacy", port=9000) + deployment("batch", opt_out=True, service=False))
    pods_settled(lab, names["clean"], 1)
    pods_settled(lab, names["lax"], 3)
    yield names
    for ns in names.values():
        lab.kubectl("delete", "namespace", ns, "--wait=false", check=False)


def run_role(ansible, tmp_path, check=False, **variables):
    path = tmp_path / "verify.yml"
    path.write_text(PLAY)
    return ansible.playbook(str(path), extra_vars=variables, check=check)


def messages(out):
    return [res.get("msg", "") for name, res in Ansible.results(out) if name == "Where the report is"]


def test_clean_mesh_passes_writes_the_report_and_a_rerun_changes_nothing(mesh, ansible, tmp_path):
    report = tmp_path / "report"
    rc, stats_, out = run_role(ansible, tmp_path, mesh_verify_namespaces=[mesh["clean"]],
                               mesh_verify_report_dir=str(report))
    assert rc == 0, ansible.failure(out)
    assert stats_["localhost"]["changed"] == 3  # the directory and the two files
    html, markdown = (report / "mesh-report.html").read_text(), (report / "mesh-report.md").read_text()
    assert mesh["clean"] in html and "badge passed" in html and "## mTLS matrix" in markdown
    assert messages(out) == ["Mesh report: {0}/mesh-report.html (passed: 0 error(s), 0 warning(s) in 1 "
                             "namespace(s))".format(report)]
    rc, stats_, out = run_role(ansible, tmp_path, mesh_verify_namespaces=[mesh["clean"]],
                               mesh_verify_report_dir=str(report))
    assert rc == 0 and stats_["localhost"]["changed"] == 0, ansible.failure(out) if rc else stats_


def test_findings_fail_the_play_and_the_report_is_written_all_the_same(mesh, ansible, tmp_path):
    report = tmp_path / "report"
    rc, dummy, out = run_role(ansible, tmp_path, mesh_verify_namespaces=[mesh["lax"]],
                              mesh_verify_report_dir=str(report), mesh_verify_report_formats=["markdown"])
    assert rc != 0 and "server_accepts_plaintext" in ansible.failure(out)
    text = (report / "mesh-report.md").read_text()
    assert "PeerAuthentication {0}/default".format(mesh["lax"]) in text and "FAILED" in text
    assert not (report / "mesh-report.html").exists()


def test_check_mode_leaves_out_missing_namespaces_judges_nothing_and_writes_no_report(mesh, ansible, tmp_path):
    """In check mode (the walkthrough's earlier steps only dry-run) a namespace that does not exist yet is left out,
    the findings of the lax namespace, which fail the real run above, do not fail the play, and no report is
    written; each is said. With only missing namespaces nothing is verified."""
    report = tmp_path / "report"
    missing = "mv-none-" + os.urandom(3).hex()
    rc, dummy, out = run_role(ansible, tmp_path, mesh_verify_namespaces=[mesh["lax"], missing],
                              mesh_verify_report_dir=str(report), check=True)
    assert rc == 0, ansible.failure(out)
    said = dict(Ansible.results(out))
    assert said["Say what check mode leaves out"]["msg"] == (
        "check mode: namespace(s) {0} do not exist yet (the steps before this one create them, which a check run only "
        "dry-runs), so they are not verified; the mesh is verified as it is, before the steps this run dry-ran, and "
        "its findings do not fail the play; no report is written (a real run writes it into {1})".format(missing, report))
    verified = said["Verify mTLS, sidecars and istioctl analyze (expect STRICT)"]
    assert verified["scope"]["namespaces"] == [mesh["lax"]] and verified["summary"]["error"] > 0
    assert said["What the mesh is now (check mode)"]["msg"].startswith(
        "check mode: the mesh as it is, before the steps this run dry-ran: {0} error(s)".format(
            verified["summary"]["error"]))
    assert not report.exists() and "msg" not in said.get("Where the report is", {})  # skipped: no path printed
    rc, dummy, out = run_role(ansible, tmp_path, mesh_verify_namespaces=[missing], mesh_verify_report_dir=str(report),
                              check=True)
    assert rc == 0, ansible.failure(out)
    said = dict((name, res) for name, res in Ansible.results(out) if not res.get("skipped"))
    assert "nothing is verified" in said["Say what check mode leaves out"]["msg"]
    assert "Verify mTLS, sidecars and istioctl analyze (expect STRICT)" not in said and not report.exists()


@pytest.fixture(scope="session")
def chromium():
    proc = subprocess.run([os.path.join(ROOT, "scripts", "chromium.sh")], capture_output=True, text=True, timeout=900,
                          check=False)
    assert proc.returncode == 0, "scripts/chromium.sh failed: {0}".format(proc.stderr[-2000:])
    return proc.stdout.strip().splitlines()[-1]


def browse(chromium, page, *args):
    profile = tempfile.mkdtemp(prefix="chromium-")
    try:
        proc = subprocess.run([chromium] + CHROMIUM_FLAGS + ["--user-data-dir=" + profile] + list(args) +
                              ["file://" + page], capture_output=True, text=True, timeout=180, check=False)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    assert proc.returncode == 0, "chromium failed ({0}): {1}".format(proc.returncode, proc.stderr[-2000:])
    return proc.stdout


def test_the_report_in_headless_chromium(mesh, ansible, tmp_path, chromium):
    report = tmp_path / "report"
    rc, dummy, out = run_role(ansible, tmp_path, mesh_verify_namespaces=[mesh["clean"], mesh["lax"]],
                              mesh_verify_report_dir=str(report), mesh_verify_fail_on="never",
                              mesh_verify_report_title="Mesh report: the lab")
    assert rc == 0, ansible.failure(out)
    page = str(report / "mesh-report.html")
    shot = os.path.join(ROOT, "build", "mesh-report.png")
    os.makedirs(os.path.dirname(shot), exist_ok=True)
    if os.path.exists(shot):
        os.remove(shot)
    browse(chromium, page, "--screenshot=" + shot, "--window-size=1280,2600")
    with open(shot, "rb") as handle:
        colours, variance = stats(handle.read())
    assert colours > 20 and variance > 100, (colours, variance)  # a blank page has one colour and no variance
    dom = browse(chromium, page, "--dump-dom")
    for ns in mesh.values():
        assert "<td>{0}</td>".format(ns) in dom, ns
    assert '<svg class="canary"' in dom and "<polyline" in dom and 'class="mode m-PERMISSIVE"' in dom
    assert "<script" not in dom and "<img" not in dom and "&lt;img src=x" in dom
