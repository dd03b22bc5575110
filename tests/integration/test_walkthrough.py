# -*- coding: utf-8 -*-
"""playbooks/site.yml over many clusters, on two lab clusters of their own (labs.lab_factory: fresh clusters,
as after ``lab/lab.sh reset``; the shared lab is not touched, and no kubeconfig is in the environment, so a task
that missed its cluster's connection options would fail instead of writing elsewhere):

1. ``--check`` on both fresh clusters at once writes nothing (the resourceVersion of every object of every
   listable kind, all namespaces, before and after) and says what it would do;
2. the canary-cluster option: cluster a fails its first step (a bad variable for that host only), the run
   stops, and cluster b is untouched;
3. the walkthrough's cluster steps (Istio, addons, app, security, traffic, gateway) on both clusters in one
   play, both checked;
4. AWX's way: every job template's playbook run by ansible-runner in a private data dir against cluster-a, with
   its survey's defaults as extra variables and the kubeconfig injected as the credential type does (a file named
   by K8S_AUTH_KUBECONFIG and meshops_kubeconfig): successful, changing nothing on the converged cluster, and no
   secret of the kubeconfig in any event or artifact; the rollback template rolls a second Helm revision back,
   and a second rollback to the same revision does nothing.

Step 1 (compose) runs only in the check-mode test, where it only validates the compose file (no containers,
no host ports); the real compose run is test_compose_validate's and ``make demo``'s.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import time

import pytest
import yaml

from harness import ROOT, Ansible
from labs import lab_factory  # noqa: F401 pylint: disable=unused-import

SITE = os.path.join(ROOT, "playbooks", "site.yml")
# Objects that change on their own on an idle lab (measured: leader-election Leases and ConfigMaps of
# istiod and the API server; node heartbeats): left out of the resourceVersion comparison, but their
# number must still match (nothing created or deleted among them).
LEADER = "control-plane.alpha.kubernetes.io/leader"
SELF_CHANGING_KINDS = {"Lease", "Event", "Node"}


def versions(lab):
    """{(apiVersion, kind, namespace, name): resourceVersion} of every object of every listable kind."""
    kinds = lab.kubectl("api-resources", "--verbs=list", "-o", "name").stdout.split()
    items = json.loads(lab.kubectl("get", ",".join(kinds), "--all-namespaces", "-o", "json",
                                   timeout=120).stdout)["items"]
    out = {}
    for item in items:
        meta = item["metadata"]
        changing = item["kind"] in SELF_CHANGING_KINDS or LEADER in (meta.get("annotations") or {})
        out[(item["apiVersion"], item["kind"], meta.get("namespace"), meta["name"])] = \
            "(changes on its own)" if changing else meta.get("resourceVersion")  # ComponentStatus has none
    return out


def differences(before, after):
    return sorted("{0} {1}: {2} -> {3}".format(k[1], "/".join(p for p in k[2:] if p), before.get(k), after.get(k))
                  for k in set(before) | set(after) if before.get(k) != after.get(k))


@pytest.fixture(scope="module")
def clusters(lab_factory):  # noqa: F811 pylint: disable=redefined-outer-name
    """Two fresh lab clusters, started one after the other (each ``lab.sh up`` takes the host's resources)."""
    return {"cluster-a": lab_factory("walk-a"), "cluster-b": lab_factory("walk-b")}


@pytest.fixture(scope="module")
def inventory(clusters, tmp_path_factory):
    """An inventory with a host per cluster (its lab directory; the lab inventory's group_vars derive the
    kubeconfig and the rest from it)."""
    directory = tmp_path_factory.mktemp("clusters")
    hosts = dict((name, {"ansible_connection": "local", "meshops_lab_dir": lab.directory})
                 for name, lab in clusters.items())
    (directory / "hosts.yml").write_text(yaml.safe_dump({"all": {"children": {"mesh_controllers": {"hosts": hosts}}}}))
    os.symlink(os.path.join(ROOT, "inventories", "lab", "group_vars"), str(directory / "group_vars"))
    return str(directory / "hosts.yml")


@pytest.fixture(scope="module")
def runner(ansible, tmp_path_factory):
    """Ansible with no cluster in its environment: every module must get its cluster from the host's variables."""
    env = dict((k, v) for k, v in ansible.env.items() if not k.startswith(("K8S_AUTH_", "LAB_")))
    env["KUBECONFIG"] = str(tmp_path_factory.mktemp("nocluster") / "no-such-kubeconfig")
    run = Ansible(ansible.lab, ansible.env["ANSIBLE_COLLECTIONS_PATH"])
    run.env = env
    return run


def site(runner, inventory, *args, extra_vars=None, check=False, timeout=1800):
    """ansible-playbook site.yml with the cluster inventory; (rc, stats, out, seconds)."""
    argv = [os.path.join(os.path.dirname(runner.env.get("ANSIBLE_PYTHON_INTERPRETER")), "ansible-playbook"),
            SITE, "-i", inventory, "--forks", "5"] + list(args)
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    if check:
        argv.append("--check")
    t0 = time.monotonic()
    proc = subprocess.run(argv, env=runner.env, capture_output=True, text=True, timeout=timeout, check=False)
    seconds = time.monotonic() - t0
    try:
        out = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError("site.yml printed no JSON (rc {0}):\n{1}\n{2}".format(
            proc.returncode, proc.stdout[-4000:], proc.stderr[-4000:]))
    print("site.yml {0}: {1:.0f}s".format(" ".join(args + (("--check",) if check else ())), seconds))
    return proc.returncode, out["stats"], out, seconds


def results(out, host):
    """(play, task name, result) of every task that ran on ``host``."""
    for play in out["plays"]:
        for task in play["tasks"]:
            if host in task["hosts"]:
                yield play["play"]["name"], task["task"]["name"], task["hosts"][host]


def failures(out):
    return ["{0} {1}: {2}".format(h, t["task"]["name"], r.get("msg"))
            for p in out["plays"] for t in p["tasks"] for h, r in t["hosts"].items() if r.get("failed")]


def test_check_mode_on_fresh_clusters_writes_nothing_and_says_what_it_would_do(clusters, inventory, runner):
    before = dict((name, versions(lab)) for name, lab in clusters.items())
    rc, stats, out, dummy = site(runner, inventory, check=True)
    assert rc == 0, failures(out)
    for name, lab in clusters.items():
        assert differences(before[name], versions(lab)) == [], name
        assert stats[name]["failures"] == 0 and stats[name]["changed"] > 0, stats
        done = dict((task.split(" : ", 1)[-1], res) for play, task, res in results(out, name))
        install = done["Install Istio, default profile, revision default"]
        assert install["changed"] and any(o["action"] == "created" for o in install["objects"])
        assert done["Security objects (present)"]["changed"]
        summary = done["Summary of the cluster"]["msg"]
        assert summary[0].startswith("cluster {0} (check mode: nothing was written".format(name))
        assert "Istio: not installed (no istiod Deployment)" in summary
    compose = dict((t.split(" : ", 1)[-1], r) for p, t, r in results(out, "localhost"))
    assert "validated only; the stack is not built, started" in compose["Say what check mode leaves out"]["msg"]


def test_a_failing_canary_cluster_stops_the_run_before_the_other_is_touched(clusters, inventory, runner, tmp_path):
    # cluster-a, the canary, gets a profile istioctl does not know: its first step fails before any write.
    bad = tmp_path / "hosts.yml"
    data = yaml.safe_load(open(inventory))
    data["all"]["children"]["mesh_controllers"]["hosts"]["cluster-a"]["istio_profile"] = "no-such-profile"
    bad.write_text(yaml.safe_dump(data))
    os.symlink(os.path.join(ROOT, "inventories", "lab", "group_vars"), str(tmp_path / "group_vars"))
    before = versions(clusters["cluster-b"])
    rc, stats, out, dummy = site(runner, str(bad), "--skip-tags", "compose",
                                 extra_vars={"meshops_canary_cluster": "cluster-a"})
    assert rc != 0
    assert stats["cluster-a"]["failures"] == 1
    assert any("cluster-a" in f and "no-such-profile" in f for f in failures(out)), failures(out)
    # cluster-b ran no task at all, and nothing on it changed.
    assert list(results(out, "cluster-b")) == []
    assert stats.get("cluster-b", {}).get("ok", 0) == 0
    assert differences(before, versions(clusters["cluster-b"])) == []


@pytest.fixture(scope="module")
def walked(clusters, inventory, runner):
    """The walkthrough's cluster steps on both clusters in one play: (rc, stats, out, seconds). (A rerun
    changing nothing is proven below for cluster-a by the job templates: the walkthrough's and each step's.)"""
    return site(runner, inventory, "--skip-tags", "compose")


def test_the_walkthrough_converges_both_clusters_in_one_play(walked):
    rc, stats, out, seconds = walked
    assert rc == 0, failures(out)
    for name in ("cluster-a", "cluster-b"):
        assert stats[name]["failures"] == 0 and stats[name]["changed"] > 0, stats
    # Both clusters ran each step in the same play (at once, with forks), not one after the other.
    plays = [p for p in out["plays"] if p["play"]["name"].startswith("Step 2")]
    assert len(plays) == 1 and set(plays[0]["tasks"][0]["hosts"]) == {"cluster-a", "cluster-b"}


@pytest.mark.parametrize("name", ["cluster-a", "cluster-b"])
def test_each_cluster_has_the_whole_walkthrough(walked, clusters, name):
    lab = clusters[name]
    istiod = lab.kubectl_json("-n", "istio-system", "get", "deployment", "istiod")
    assert istiod["status"].get("readyReplicas") == 1
    pods = lab.kubectl_json("-n", "microservices", "get", "pods")["items"]
    assert len(pods) == 6
    for pod in pods:
        assert "istio-proxy" in [c["name"] for c in pod["spec"]["containers"] + pod["spec"].get("initContainers", [])]
        assert {c["type"]: c["status"] for c in pod["status"]["conditions"]}["Ready"] == "True"
    release = lab.run("helm", "status", "microservices", "-n", "microservices", "-o", "json").stdout
    assert json.loads(release)["info"]["status"] == "deployed"
    mesh = lab.kubectl_json("-n", "istio-system", "get", "peerauthentication", "default")
    assert mesh["spec"]["mtls"]["mode"] == "STRICT"
    authz = lab.kubectl_json("-n", "microservices", "get", "authorizationpolicies")["items"]
    assert {"deny-all", "frontend", "api-gateway", "users", "orders", "payments", "postgres"} <= \
        set(a["metadata"]["name"] for a in authz)
    drs = lab.kubectl_json("-n", "microservices", "get", "destinationrules")["items"]
    assert {"api-gateway", "users", "orders", "payments"} <= set(d["metadata"]["name"] for d in drs)
    gateway = lab.kubectl_json("-n", "microservices", "get", "gateways.networking.istio.io", "shop-gateway")
    assert gateway["spec"]["servers"][0]["tls"]["credentialName"] == "shop-gateway-tls"
    lab.kubectl("-n", "istio-system", "get", "secret", "shop-gateway-tls")
    # Each cluster's gateway certificate is its own (generated per inventory host).
    assert os.path.isfile(os.path.join(lab.directory, "gateway-pki", "ca.crt"))


# -- AWX's way: every job template's playbook through ansible-runner -------------------------------------------

AWX = os.path.join(ROOT, "playbooks", "awx")


def job_templates():
    with open(os.path.join(AWX, "job_templates.yml")) as handle:
        return [t for t in yaml.safe_load(handle)["meshops_awx_job_templates"] if t.get("enabled", True)]


def survey_defaults(template):
    from awx_rules import defaults
    with open(os.path.join(AWX, "surveys", template["survey"])) as handle:
        return defaults(json.load(handle))


@pytest.fixture(scope="module")
def credential(clusters, tmp_path_factory):
    """cluster-a's kubeconfig the way the credential type injects it: one file (0600), here with the client key
    inline (the secret AWX stores) and a recognisable token of a second, unused user; returns (path, secrets)."""
    import base64
    import uuid
    lab = clusters["cluster-a"]
    with open(lab.kubeconfig) as handle:
        config = yaml.safe_load(handle)
    user = config["users"][0]["user"]
    inline = {}
    for key, data_key in (("client-certificate", "client-certificate-data"), ("client-key", "client-key-data"),):
        with open(user.pop(key), "rb") as handle:
            inline[data_key] = base64.b64encode(handle.read()).decode()
    user.update(inline)
    token = "meshops-secret-token-" + uuid.uuid4().hex
    config["users"].append({"name": "unused", "user": {"token": token}})
    path = tmp_path_factory.mktemp("credential") / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    os.chmod(str(path), 0o600)
    key_pem = base64.b64decode(inline["client-key-data"]).decode()
    # The token, the key as injected (base64) and the key's own PEM lines (a sample long enough to be unique).
    secrets = [token, inline["client-key-data"][:80]] + key_pem.splitlines()[1:4]
    return str(path), secrets


def run_job(template, private_dir, credential_path, extravars, clusters):
    """The job as AWX runs it: ansible-runner in a private data dir, the survey's answers as extra variables, the
    credential's injectors (K8S_AUTH_KUBECONFIG and meshops_kubeconfig naming the file), the template's tags;
    one host (cluster-a). Returns (artifacts dir, seconds)."""
    import sys
    os.makedirs(os.path.join(private_dir, "env"))
    os.makedirs(os.path.join(private_dir, "inventory"))
    os.symlink(ROOT, os.path.join(private_dir, "project"))
    hosts = {"cluster-a": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                           "meshops_lab_dir": clusters["cluster-a"].directory}}
    with open(os.path.join(private_dir, "inventory", "hosts.yml"), "w") as handle:
        yaml.safe_dump({"all": {"children": {"mesh_controllers": {"hosts": hosts}}}}, handle)
    os.symlink(os.path.join(ROOT, "inventories", "lab", "group_vars"), os.path.join(private_dir, "inventory", "group_vars"))
    with open(os.path.join(private_dir, "env", "extravars"), "w") as handle:
        json.dump(dict(extravars, meshops_kubeconfig=credential_path), handle)
    bin_dir = os.path.dirname(sys.executable)
    with open(os.path.join(private_dir, "env", "envvars"), "w") as handle:
        json.dump({"K8S_AUTH_KUBECONFIG": credential_path,
                   "ANSIBLE_COLLECTIONS_PATH": os.path.join(ROOT, "build", "collections")}, handle)
    cmdline = []
    if template.get("job_tags"):
        cmdline += ["--tags", template["job_tags"]]
    if template.get("skip_tags"):
        cmdline += ["--skip-tags", template["skip_tags"]]
    with open(os.path.join(private_dir, "env", "cmdline"), "w") as handle:
        handle.write(" ".join(cmdline))
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("K8S_AUTH_", "LAB_", "ANSIBLE_")))
    env.pop("KUBECONFIG", None)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    t0 = time.monotonic()
    proc = subprocess.run([os.path.join(bin_dir, "ansible-runner"), "run", private_dir, "-p", template["playbook"],
                           "--ident", "job"], env=env, capture_output=True, text=True, timeout=1800, check=False)
    seconds = time.monotonic() - t0
    print("ansible-runner {0}: {1:.0f}s".format(template["name"], seconds))
    artifacts = os.path.join(private_dir, "artifacts", "job")
    assert os.path.isdir(artifacts), proc.stdout[-3000:] + proc.stderr[-3000:]
    return artifacts, proc, seconds


def job_result(artifacts):
    """(status, rc, events, stdout) of a finished job."""
    with open(os.path.join(artifacts, "status")) as handle:
        status = handle.read().strip()
    with open(os.path.join(artifacts, "rc")) as handle:
        rc = int(handle.read().strip())
    events = []
    for name in sorted(os.listdir(os.path.join(artifacts, "job_events"))):
        with open(os.path.join(artifacts, "job_events", name)) as handle:
            events.append(json.load(handle))
    with open(os.path.join(artifacts, "stdout")) as handle:
        stdout = handle.read()
    return status, rc, events, stdout


def assert_no_secret(artifacts, secrets):
    """No secret in any event, in the job's output, or anywhere else in the artifacts."""
    for folder, dummy, files in os.walk(artifacts):
        for name in files:
            with open(os.path.join(folder, name), errors="replace") as handle:
                text = handle.read()
            for secret in secrets:
                assert secret not in text, "a secret of the kubeconfig is in {0}".format(os.path.join(folder, name))


def stats_of(events):
    stats = [e for e in events if e.get("event") == "playbook_on_stats"]
    assert len(stats) == 1
    return stats[0]["event_data"]


# Every enabled template (a new entry in job_templates.yml is picked up), but the rollback, tested below.
@pytest.mark.parametrize("template", [t for t in job_templates() if t["playbook"] != "playbooks/rollback.yml"],
                         ids=lambda t: t["name"])
def test_each_job_template_runs_through_ansible_runner_with_its_survey_defaults(
        walked, credential, clusters, tmp_path, template):
    path, secrets = credential
    artifacts, proc, dummy = run_job(template, str(tmp_path / "job"), path, survey_defaults(template), clusters)
    status, rc, events, stdout = job_result(artifacts)
    assert (status, rc) == ("successful", 0), stdout[-4000:]
    stats = stats_of(events)
    assert stats["ok"].get("cluster-a", 0) > 0 and not stats["failures"], stats
    # The cluster is converged and the survey's defaults are the walkthrough's values: a step changes nothing.
    if template["playbook"] == "playbooks/site.yml":
        assert not stats["changed"], stats
    assert events[0]["event"] in ("playbook_on_start", "verbose")
    assert_no_secret(artifacts, secrets)


def test_the_rollback_template_rolls_the_app_back_and_a_second_run_does_nothing(walked, credential, clusters, tmp_path):
    lab = clusters["cluster-a"]
    chart = os.path.join(ROOT, "examples", "shop", "helm", "microservices")
    # Revision 2: another image tag (what a bad release would be).
    lab.run("helm", "upgrade", "microservices", chart, "-n", "microservices", "--reuse-values",
            "--set", "global.image.tag=v1.0.1", "--wait", "--timeout", "180s", timeout=240)
    template = [t for t in job_templates() if t["playbook"] == "playbooks/rollback.yml"][0]
    path, secrets = credential
    artifacts, proc, dummy = run_job(template, str(tmp_path / "rollback"), path, survey_defaults(template), clusters)
    status, rc, events, stdout = job_result(artifacts)
    assert (status, rc) == ("successful", 0), stdout[-4000:]
    assert stats_of(events)["changed"].get("cluster-a") == 1
    assert_no_secret(artifacts, secrets)
    history = json.loads(lab.run("helm", "history", "microservices", "-n", "microservices", "-o", "json").stdout)
    assert [(h["revision"], h["status"]) for h in history][-1] == (3, "deployed")
    assert "Rollback to 1" in history[-1]["description"]
    values = json.loads(lab.run("helm", "get", "values", "microservices", "-n", "microservices", "-o", "json").stdout)
    assert values["global"]["image"]["tag"] == "v1.0.0"
    # Rolling back to revision 1 again would change nothing: no new revision.
    again = dict(survey_defaults(template), rollback_revision=1)
    artifacts, proc, dummy = run_job(template, str(tmp_path / "again"), path, again, clusters)
    status, rc, events, stdout = job_result(artifacts)
    assert (status, rc) == ("successful", 0), stdout[-4000:]
    assert not stats_of(events)["changed"]
    assert "already runs the chart and values of revision 1: nothing to do" in stdout
    history = json.loads(lab.run("helm", "history", "microservices", "-n", "microservices", "-o", "json").stdout)
    assert len(history) == 3
