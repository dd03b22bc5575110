# -*- coding: utf-8 -*-
"""playbooks/awx/configure.yml against a fake AWX API (awx_fake.py; there is no AWX server here): the awx.awx
modules really run, look objects up and write them, and the fake keeps what a real AWX would refuse (a playbook
missing from the project, a survey breaking AWX's rules, a reference to nothing). Proves the objects and their
links as configured, the kubeconfig stored but in no output, and a rerun that writes nothing. No lab needed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import uuid

import pytest
import yaml

from awx_fake import FakeAwx
from harness import ROOT, Ansible, Lab, collections_path

PLAYBOOK = os.path.join(ROOT, "playbooks", "awx", "configure.yml")
TOKEN = "awx-token-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def runner():
    lab = Lab(dict(os.environ, KUBECONFIG=os.devnull))
    return Ansible(lab, collections_path())


@pytest.fixture(scope="module")
def secret():
    return "meshops-kubeconfig-secret-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def kubeconfig(tmp_path_factory, secret):
    path = tmp_path_factory.mktemp("awx") / "kubeconfig"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "eu",
        "clusters": [{"name": n, "cluster": {"server": "https://{0}.example.com:6443".format(n)}} for n in ("eu", "us")],
        "users": [{"name": "admin", "user": {"token": secret}}],
        "contexts": [{"name": n, "context": {"cluster": n, "user": "admin"}} for n in ("eu", "us")]}))
    return str(path)


@pytest.fixture(scope="module")
def configured(runner, kubeconfig):
    """Two runs of configure.yml against one fake AWX: (awx, first run, second run, requests of the second)."""
    variables = {"meshops_awx_host": None, "meshops_awx_token": TOKEN, "meshops_awx_kubeconfig_file": kubeconfig,
                 "meshops_awx_clusters": [{"name": "eu", "context": "eu"},
                                          {"name": "us", "context": "us", "variables": {"istio_revision": "1-30"}}]}
    with FakeAwx(ROOT, TOKEN) as awx:
        variables["meshops_awx_host"] = awx.url
        first = runner.playbook(PLAYBOOK, extra_vars=variables)
        before = len(awx.store.requests)
        second = runner.playbook(PLAYBOOK, extra_vars=variables)
        yield awx, first, second, awx.store.requests[before:]


def templates():
    with open(os.path.join(ROOT, "playbooks", "awx", "job_templates.yml")) as handle:
        return yaml.safe_load(handle)


def test_first_run_configures_and_a_rerun_writes_nothing(configured):
    awx, (rc1, stats1, out1), (rc2, stats2, dummy), second_requests = configured
    assert rc1 == 0, Ansible.failure(out1)
    assert stats1["localhost"]["changed"] > 0
    assert rc2 == 0
    assert stats2["localhost"]["changed"] == 0, stats2
    assert [r for r in second_requests if r[0] != "GET"] == []


def test_the_kubeconfig_credential_is_injected_as_a_file_and_never_shown(configured, kubeconfig, secret):
    awx, (dummy, dummy2, out1), (dummy3, dummy4, out2), dummy5 = configured
    ctype = awx.one("credential_types", "Kubernetes kubeconfig (meshops.istio)")
    assert ctype["kind"] == "cloud"
    field = ctype["inputs"]["fields"][0]
    assert (field["id"], field["secret"], field["multiline"]) == ("kubeconfig", True, True)
    assert ctype["injectors"] == {
        "file": {"template.kubeconfig": "{{ kubeconfig }}"},
        "env": {"K8S_AUTH_KUBECONFIG": "{{ tower.filename.kubeconfig }}"},
        "extra_vars": {"meshops_kubeconfig": "{{ tower.filename.kubeconfig }}"}}
    credential = awx.one("credentials", "meshops clusters kubeconfig")
    with open(kubeconfig) as handle:
        assert credential["inputs"]["kubeconfig"] == handle.read().rstrip("\n")  # the file lookup strips it
    assert credential["credential_type"] == ctype["id"]
    assert secret not in json.dumps(out1) and secret not in json.dumps(out2)


def test_project_inventory_and_clusters(configured):
    awx = configured[0]
    org = awx.one("organizations", "Default")["id"]
    ee = awx.one("execution_environments", "meshops.istio")
    assert ee["image"] == "registry.example.com/meshops/istio-ee:0.1.0"
    project = awx.one("projects", "meshops.istio")
    assert (project["scm_type"], project["organization"], project["default_environment"]) == ("git", org, ee["id"])
    inventory = awx.one("inventories", "meshops clusters")
    hosts = dict((h["name"], json.loads(h["variables"])) for h in awx.store.items["hosts"].values())
    assert hosts == {"eu": {"ansible_connection": "local", "meshops_context": "eu"},
                     "us": {"ansible_connection": "local", "meshops_context": "us", "istio_revision": "1-30"}}
    group = awx.one("groups", "mesh_controllers")
    assert group["inventory"] == inventory["id"]
    assert sorted(awx.store.items["hosts"][i]["name"] for i in awx.linked("groups", group, "hosts")) == ["eu", "us"]


def test_every_enabled_job_template_with_its_survey_and_the_disabled_ones_left_out(configured):
    awx = configured[0]
    credential = awx.one("credentials", "meshops clusters kubeconfig")
    wanted = templates()["meshops_awx_job_templates"]
    made = sorted(t["name"] for t in awx.store.items["job_templates"].values())
    assert made == sorted(t["name"] for t in wanted if t.get("enabled", True))
    for entry in wanted:
        if not entry.get("enabled", True):
            continue
        template = awx.one("job_templates", entry["name"])
        assert template["playbook"] == entry["playbook"]
        assert template["job_tags"] == entry.get("job_tags", "")
        assert template["skip_tags"] == entry.get("skip_tags", "")
        assert template["survey_enabled"] is True and template["ask_limit_on_launch"] is True
        assert awx.linked("job_templates", template, "credentials") == [credential["id"]]
        with open(os.path.join(ROOT, "playbooks", "awx", "surveys", entry["survey"])) as handle:
            assert awx.store.surveys[("job_templates", template["id"])] == json.load(handle)


def workflow_nodes(awx, name):
    workflow = awx.one("workflow_job_templates", name)
    return workflow, dict((n["identifier"], n) for n in awx.store.items["workflow_job_template_nodes"].values()
                          if n["workflow_job_template"] == workflow["id"])


def test_the_workflow_runs_the_rollback_when_the_app_fails(configured):
    awx = configured[0]
    # Exactly the workflows whose templates are all enabled (today: all of them).
    enabled = set(t["name"] for t in templates()["meshops_awx_job_templates"] if t.get("enabled", True))
    wanted = sorted(w["name"] for w in templates()["meshops_awx_workflows"]
                    if all(n["template"] in enabled for n in w["nodes"]))
    assert sorted(w["name"] for w in awx.store.items["workflow_job_templates"].values()) == wanted
    assert wanted == ["meshops app with rollback", "meshops canary release"]
    workflow, nodes = workflow_nodes(awx, "meshops app with rollback")
    assert sorted(nodes) == ["app", "rollback"]
    assert nodes["app"]["unified_job_template"] == awx.one("job_templates", "meshops step: app")["id"]
    assert nodes["rollback"]["unified_job_template"] == awx.one("job_templates", "meshops rollback: app")["id"]
    assert awx.linked("workflow_job_template_nodes", nodes["app"], "failure_nodes") == [nodes["rollback"]["id"]]
    assert awx.linked("workflow_job_template_nodes", nodes["app"], "success_nodes") == []
    assert not workflow["survey_enabled"]


def test_the_canary_release_workflow_is_shift_then_verify_then_promote(configured):
    """canary (held before promotion) -> verify -> promote on success; abort when the shift or the verification
    fails; its survey's answers (service, version) go to every job."""
    awx = configured[0]
    workflow, nodes = workflow_nodes(awx, "meshops canary release")
    template = dict((n, awx.one("job_templates", t)["id"]) for n, t in (
        ("canary", "meshops canary: shift"), ("verify", "meshops verify: mesh"), ("promote", "meshops canary: promote"),
        ("abort", "meshops canary: abort")))
    assert sorted(nodes) == sorted(template)
    links = {}
    for name, node in nodes.items():
        assert node["unified_job_template"] == template[name]
        for kind in ("success", "failure", "always"):
            linked = awx.linked("workflow_job_template_nodes", node, kind + "_nodes")
            ids = dict((n["id"], i) for i, n in nodes.items())
            if linked:
                links[(name, kind)] = sorted(ids[i] for i in linked)
    assert links == {("canary", "success"): ["verify"], ("canary", "failure"): ["abort"],
                     ("verify", "success"): ["promote"], ("verify", "failure"): ["abort"]}
    # The shift holds before its promotion, so the promotion is the workflow's, after the verification.
    assert nodes["canary"]["extra_data"] == {"canary_hold": "yes"}
    assert not any(nodes[n].get("extra_data") for n in ("verify", "promote", "abort"))
    assert workflow["survey_enabled"] is True
    with open(os.path.join(ROOT, "playbooks", "awx", "surveys", "canary_release.json")) as handle:
        assert awx.store.surveys[("workflow_job_templates", workflow["id"])] == json.load(handle)


def configure_with(runner, kubeconfig, tmp_path, data):
    """configure.yml run against the fake AWX with ``data`` as its job_templates.yml: (rc, the runner's output)."""
    awx_dir = tmp_path / "awx"
    awx_dir.mkdir()
    (awx_dir / "job_templates.yml").write_text(yaml.safe_dump(data))
    (awx_dir / "configure.yml").write_text(open(PLAYBOOK).read())
    os.symlink(os.path.join(ROOT, "playbooks", "awx", "surveys"), str(awx_dir / "surveys"))
    with FakeAwx(ROOT, TOKEN) as awx:
        rc, dummy, out = runner.playbook(str(awx_dir / "configure.yml"), extra_vars={
            "meshops_awx_host": awx.url, "meshops_awx_token": TOKEN, "meshops_awx_kubeconfig_file": kubeconfig})
    return rc, out


def test_the_fake_refuses_what_awx_refuses(runner, kubeconfig, tmp_path):
    """A job template whose playbook is not in the project fails the run with AWX's message (so the fake's
    checks that the tests above passed are real)."""
    data = templates()
    data["meshops_awx_job_templates"] = [dict(data["meshops_awx_job_templates"][0], playbook="playbooks/nope.yml")]
    data["meshops_awx_workflows"] = []
    rc, out = configure_with(runner, kubeconfig, tmp_path, data)
    assert rc != 0
    assert "Playbook not found for project" in json.dumps(out["plays"][0]["tasks"][-1]), \
        json.dumps(out["plays"][0]["tasks"][-1])[-2000:]


def test_the_fake_refuses_a_node_variable_no_survey_question_asks_for(runner, kubeconfig, tmp_path):
    """AWX takes a workflow node's extra_data only as answers to its template's survey: so the canary node's
    canary_hold, accepted above, is one the shift's survey asks for."""
    data = templates()
    data["meshops_awx_workflows"] = [w for w in data["meshops_awx_workflows"] if w["name"] == "meshops canary release"]
    data["meshops_awx_workflows"][0]["nodes"][1]["extra_data"] = {"canary_hold": "yes"}  # verify's survey has none
    rc, out = configure_with(runner, kubeconfig, tmp_path, data)
    assert rc != 0
    assert "Variables canary_hold provided, but this template cannot accept them" in json.dumps(
        out["plays"][0]["tasks"][-1]), json.dumps(out["plays"][0]["tasks"][-1])[-2000:]
