# -*- coding: utf-8 -*-
"""playbooks/site.yml over many clusters, on two lab clusters of their own (labs.lab_factory: fresh clusters,
as after ``lab/lab.sh reset``; the shared lab is not touched, and no kubeconfig is in the environment, so a task
that missed its cluster's connection options would fail instead of writing elsewhere):

1. ``--check`` on both fresh clusters at once writes nothing (the resourceVersion of every object of every
   listable kind, all namespaces, before and after; no mesh report) and says what it would do, and what it leaves
   out: the canary release (step 7) of a VirtualService that step 5 only dry-ran, the verification (step 8) of
   namespaces that do not exist yet;
2. the canary-cluster option: cluster a fails its first step (a bad variable for that host only), the run
   stops, and cluster b is untouched;
3. the walkthrough's cluster steps (Istio, addons, app, security, traffic, gateway, canary, verification) on both
   clusters in one play, both checked, each with its own mesh report, named in its summary;
4. AWX's way: every job template's playbook run by ansible-runner in a private data dir, with its survey's defaults
   as extra variables and the kubeconfig injected as the credential type does (a file named by K8S_AUTH_KUBECONFIG
   and meshops_kubeconfig): successful, and no secret of the kubeconfig in any event or artifact.
   - On cluster-a, converged: every template but the rollback, the jobs at once (as AWX runs jobs of several
     templates side by side), each changing nothing; the rollback template rolls a second Helm revision back, and a
     second rollback to the same revision does nothing.
   - On cluster-b: the workflow "meshops canary release" job by job, releasing orders v2 - a check run of the
     shift first (it says the new version's release is not there to shift to, and writes nothing), then the shift
     with the workflow's answers (held at 50%, phase paused), status, the verification, and the promotion (100%).

Step 1 (compose) is left out everywhere here: its check mode is test_compose_validate's
(test_check_mode_only_validates), its real run test_compose_validate's and ``make demo``'s.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

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


REPORTS = os.path.join(ROOT, "playbooks", "mesh-report")


def report_dir(name):
    """Where step 8 writes a cluster's mesh report by default: a directory per inventory host."""
    return os.path.join(REPORTS, name)


@pytest.fixture(scope="module")
def no_reports(clusters):
    """No mesh report of these clusters' inventory hosts yet (an earlier session's are removed)."""
    for name in clusters:
        shutil.rmtree(report_dir(name), ignore_errors=True)


def test_check_mode_on_fresh_clusters_writes_nothing_and_says_what_it_would_do(clusters, inventory, runner, no_reports):
    before = dict((name, versions(lab)) for name, lab in clusters.items())
    rc, stats, out, dummy = site(runner, inventory, "--skip-tags", "compose", check=True)
    assert rc == 0, failures(out)
    for name, lab in clusters.items():
        assert differences(before[name], versions(lab)) == [], name
        assert stats[name]["failures"] == 0 and stats[name]["changed"] > 0, stats
        done = dict((task.split(" : ", 1)[-1], res) for play, task, res in results(out, name))
        install = done["Install Istio, default profile, revision default"]
        assert install["changed"] and any(o["action"] == "created" for o in install["objects"])
        assert done["Security objects (present)"]["changed"]
        # Step 7: the VirtualService to shift is step 5's, only dry-run: said, not failed; the options were checked.
        status = done["Check the release (canary_shift action status) of users v2"]
        # (a result's "failed" is left out of the callback's output when false; rc and stats above hold no failure)
        assert status["missing"] == "VirtualService microservices/users" and not status.get("failed")
        canary = [r.get("msg") for p, t, r in results(out, name) if p.startswith("Step 7") and t.endswith(
            "Say what check mode leaves out") and not r.get("skipped")]
        assert canary == ["check mode: VirtualService microservices/users does not exist yet (step 5 of the walkthrough "
                          "writes it, which a check run only dry-runs), so the release cannot be planned against it; "
                          "the shift of users to subset v2 (steps 10%, 50%, 100%, action run) is left out; a real run "
                          "makes it"]
        assert "Run the canary release (run)" not in done or done["Run the canary release (run)"].get("skipped")
        # Step 8: no namespace to verify yet, and no report.
        verify = [r.get("msg") for p, t, r in results(out, name) if p.startswith("Step 8") and t.endswith(
            "Say what check mode leaves out") and not r.get("skipped")]
        assert verify == ["check mode: namespace(s) microservices do not exist yet (the steps before this one create "
                          "them, which a check run only dry-runs), so they are not verified; nothing is verified; no "
                          "report is written (a real run writes it into {0})".format(report_dir(name))]
        assert not os.path.exists(report_dir(name))
        summary = done["Summary of the cluster"]["msg"]
        assert summary[0].startswith("cluster {0} (check mode: nothing was written".format(name))
        assert "Istio: not installed (no istiod Deployment)" in summary
        assert not any(line.startswith("Mesh report:") for line in summary)
    # Step 1 (compose) left out (tag compose skipped): no task ran on localhost but the check of the options.
    assert [t for p, t, r in results(out, "localhost")] == ["Check that the canary cluster is one of the clusters"]


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
def walked(clusters, inventory, runner, no_reports):
    """The walkthrough's cluster steps on both clusters in one play: (rc, stats, out, seconds). (A rerun
    changing nothing is proven below for cluster-a by the job templates: the walkthrough's and each step's.)"""
    return site(runner, inventory, "--skip-tags", "compose")


def test_the_walkthrough_converges_both_clusters_in_one_play(walked):
    rc, stats, out, seconds = walked
    assert rc == 0, failures(out)
    for name in ("cluster-a", "cluster-b"):
        assert stats[name]["failures"] == 0 and stats[name]["changed"] > 0, stats
        done = dict((task.split(" : ", 1)[-1], res) for play, task, res in results(out, name))
        # Each cluster's summary names its own mesh report (step 8 writes one per inventory host).
        assert "Mesh report: {0}/mesh-report.html".format(report_dir(name)) in done["Summary of the cluster"]["msg"]
        assert done["Where the report is"]["msg"].startswith(
            "Mesh report: {0}/mesh-report.html (passed: 0 error(s), 0 warning(s) in 1 namespace(s))".format(
                report_dir(name)))
        assert done["Run the canary release (run)"]["phase"] == "promoted"
    # Both clusters ran each step in the same play (at once, with forks), not one after the other.
    for step in ("Step 2", "Step 7", "Step 8"):
        plays = [p for p in out["plays"] if p["play"]["name"].startswith(step)]
        assert len(plays) == 1 and set(plays[0]["tasks"][0]["hosts"]) == {"cluster-a", "cluster-b"}, step


def canary_state(lab, service):
    """(the rollout state on the service's VirtualService or None, {subset: weight} of its route "default")."""
    vs = lab.kubectl_json("-n", "microservices", "get", "virtualservices.networking.istio.io", service)
    annotation = (vs["metadata"].get("annotations") or {}).get("meshops.istio/canary")
    state = json.loads(annotation) if annotation else None
    weighted = [r for r in vs["spec"]["http"] if r.get("name") == "default"][0]
    weights = dict((d["destination"]["subset"], d.get("weight", 100)) for d in weighted["route"])
    return state, weights


@pytest.mark.parametrize("name", ["cluster-a", "cluster-b"])
def test_each_cluster_has_the_whole_walkthrough(walked, clusters, name):
    lab = clusters[name]
    istiod = lab.kubectl_json("-n", "istio-system", "get", "deployment", "istiod")
    assert istiod["status"].get("readyReplicas") == 1
    pods = lab.kubectl_json("-n", "microservices", "get", "pods")["items"]
    # The shop's six, and users v2 (step 7).
    assert sorted(p["metadata"]["labels"]["app"] + "-" + p["metadata"]["labels"].get("version", "")
                  for p in pods) == ["api-gateway-v1", "frontend-v1", "orders-v1", "payments-v1", "postgres-v1",
                                     "users-v1", "users-v2"]
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
    # Step 7: users v2 released beside v1 (its own Helm release), promoted: all of users' traffic to subset v2, whose
    # labels the role wrote into step 5's DestinationRule, after an analysis at each step.
    assert json.loads(lab.run("helm", "status", "users-v2", "-n", "microservices", "-o", "json").stdout)[
        "info"]["status"] == "deployed"
    state, weights = canary_state(lab, "users")
    assert (state["phase"], state["release"], weights) == ("promoted", "v2: version=v2", {"v1": 0, "v2": 100})
    assert [(h["step"], h["weight"], h["result"]) for h in state["history"]] == [
        (0, 10, "skipped"), (1, 50, "skipped"), (2, 100, "skipped")]  # no shop traffic in the lab: on_no_data skip
    users_dr = [d for d in drs if d["metadata"]["name"] == "users"][0]
    assert {"name": "v2", "labels": {"version": "v2"}} in users_dr["spec"]["subsets"]
    # Step 8: this cluster's own report (HTML and Markdown), passed, with the canary's timeline.
    with open(os.path.join(report_dir(name), "mesh-report.html")) as handle:
        html = handle.read()
    assert "microservices" in html and "badge passed" in html
    with open(os.path.join(report_dir(name), "mesh-report.md")) as handle:
        assert "## mTLS matrix" in handle.read()


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
def credentials(clusters, tmp_path_factory):
    """Each cluster's kubeconfig the way the credential type injects it: one file (0600), here with the client key
    inline (the secret AWX stores) and a recognisable token of a second, unused user; {cluster: (path, secrets)}."""
    import base64
    import uuid
    out = {}
    for name, lab in clusters.items():
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
        out[name] = (str(path), [token, inline["client-key-data"][:80]] + key_pem.splitlines()[1:4])
    return out


def run_job(template, private_dir, credential_path, extravars, clusters, host="cluster-a", check=False):
    """The job as AWX runs it: ansible-runner in a private data dir, the survey's answers as extra variables, the
    credential's injectors (K8S_AUTH_KUBECONFIG and meshops_kubeconfig naming the file), the template's tags;
    one host (a cluster; job type check: ``check``). Returns (artifacts dir, process, seconds)."""
    import sys
    os.makedirs(os.path.join(private_dir, "env"))
    os.makedirs(os.path.join(private_dir, "inventory"))
    os.symlink(ROOT, os.path.join(private_dir, "project"))
    hosts = {host: {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                    "meshops_lab_dir": clusters[host].directory}}
    with open(os.path.join(private_dir, "inventory", "hosts.yml"), "w") as handle:
        yaml.safe_dump({"all": {"children": {"mesh_controllers": {"hosts": hosts}}}}, handle)
    os.symlink(os.path.join(ROOT, "inventories", "lab", "group_vars"), os.path.join(private_dir, "inventory", "group_vars"))
    with open(os.path.join(private_dir, "env", "extravars"), "w") as handle:
        json.dump(dict(extravars, meshops_kubeconfig=credential_path), handle)
    bin_dir = os.path.dirname(sys.executable)
    with open(os.path.join(private_dir, "env", "envvars"), "w") as handle:
        json.dump({"K8S_AUTH_KUBECONFIG": credential_path,
                   "ANSIBLE_COLLECTIONS_PATH": os.path.join(ROOT, "build", "collections")}, handle)
    cmdline = ["--check"] if check else []
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
    print("ansible-runner {0} on {1}{2}: {3:.0f}s".format(template["name"], host, " (check)" if check else "", seconds))
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


def template_named(name):
    return [t for t in job_templates() if t["name"] == name][0]


def workflow_named(name):
    with open(os.path.join(AWX, "job_templates.yml")) as handle:
        return [w for w in yaml.safe_load(handle)["meshops_awx_workflows"] if w["name"] == name][0]


def finished(artifacts, secrets):
    """(stats, stdout) of a job that succeeded, with no secret anywhere in its artifacts."""
    status, rc, events, stdout = job_result(artifacts)
    assert (status, rc) == ("successful", 0), stdout[-4000:]
    assert events[0]["event"] in ("playbook_on_start", "verbose")
    assert_no_secret(artifacts, secrets)
    return stats_of(events), stdout


# The canary release of the workflow on cluster-b: the shop's orders, v2 (users v2 is the walkthrough's own).
RELEASE = {"canary_service": "orders"}


def canary_release_workflow(clusters, credentials, base):
    """The workflow "meshops canary release" on cluster-b, job after job as AWX runs it, each job with its template's
    survey defaults, the workflow's survey answers (RELEASE; AWX passes them to every job) and its node's extra_data.
    A check job of the shift comes first. Returns {node: (stats, stdout, state and weights of the VirtualService
    after the job)}; the state before any job under "before"."""
    lab, (path, secrets) = clusters["cluster-b"], credentials["cluster-b"]
    workflow = workflow_named("meshops canary release")
    with open(os.path.join(AWX, "surveys", workflow["survey"])) as handle:
        from awx_rules import defaults
        answers = dict(defaults(json.load(handle)), **RELEASE)
    nodes = dict((n["identifier"], n) for n in workflow["nodes"])
    # The status job is no node of the workflow: an operator's look at the held release, between two nodes.
    nodes["status"] = {"identifier": "status", "template": "meshops canary: status"}
    out = {"before": canary_state(lab, "orders")}

    def job(node, check=False):
        template = template_named(nodes[node]["template"])
        extravars = dict(survey_defaults(template), **answers)
        extravars.update(nodes[node].get("extra_data") or {})
        artifacts, dummy, dummy2 = run_job(template, str(base / (node + ("-check" if check else ""))), path,
                                           extravars, clusters, host="cluster-b", check=check)
        stats, stdout = finished(artifacts, secrets)
        return stats, stdout, canary_state(lab, "orders")

    before = versions(lab)
    out["check"] = job("canary", check=True)
    out["check_wrote"] = differences(before, versions(lab))
    for node in ("canary", "status", "verify", "promote"):
        out[node] = job(node)
    return out


# Jobs at once on cluster-a (AWX runs jobs of different templates side by side): converged, each changes nothing.
JOBS_AT_ONCE = 3
SIDE_BY_SIDE = [t for t in job_templates() if t["playbook"] != "playbooks/rollback.yml"]


@pytest.fixture(scope="module")
def jobs(walked, credentials, clusters, tmp_path_factory):
    """Every template but the rollback on cluster-a (its survey's defaults), JOBS_AT_ONCE at a time, beside the canary
    release workflow on cluster-b; {template name: future of (artifacts, process, seconds)}, and "workflow"."""
    base = tmp_path_factory.mktemp("jobs")
    path = credentials["cluster-a"][0]
    t0 = time.monotonic()
    with ThreadPoolExecutor(JOBS_AT_ONCE + 1) as pool:
        out = {"workflow": pool.submit(canary_release_workflow, clusters, credentials, base / "workflow")}
        for i, template in enumerate(SIDE_BY_SIDE):
            out[template["name"]] = pool.submit(run_job, template, str(base / str(i)), path, survey_defaults(template),
                                                clusters)
    seconds = time.monotonic() - t0
    print("{0} jobs on cluster-a and the workflow on cluster-b: {1:.0f}s".format(len(SIDE_BY_SIDE), seconds))
    return out


# Every enabled template (a new entry in job_templates.yml is picked up), but the rollback, tested below.
@pytest.mark.parametrize("template", SIDE_BY_SIDE, ids=lambda t: t["name"])
def test_each_job_template_runs_through_ansible_runner_with_its_survey_defaults(jobs, credentials, template):
    artifacts, proc, dummy = jobs[template["name"]].result()
    stats, stdout = finished(artifacts, credentials["cluster-a"][1])
    assert stats["ok"].get("cluster-a", 0) > 0 and not stats["failures"], stats
    # The cluster is converged and the survey's defaults are the walkthrough's values: a job changes nothing (on the
    # promoted release of users v2 a promote or an abort has nothing to do).
    assert not stats["changed"], stats
    action = survey_defaults(template).get("canary_action")
    if template["playbook"] == "playbooks/canary.yml":
        said = {"status": "VirtualService microservices/users: phase promoted",
                "promote": "VirtualService microservices/users: phase promoted",
                "abort": "VirtualService microservices/users: no rollout in progress; nothing to abort"}[action]
        assert said in stdout, stdout[-3000:]
    if template.get("job_tags") == "canary":
        assert "v2: version=v2 was promoted at" in stdout, stdout[-3000:]
    if template.get("job_tags") == "verify":
        assert "/playbooks/mesh-report/cluster-a/mesh-report.html (passed: 0 error(s)" in stdout, stdout[-3000:]


def test_the_canary_release_workflow_holds_verifies_and_promotes(jobs):
    out = jobs["workflow"].result()
    # Before: no rollout on orders (the walkthrough released users), all its traffic to v1.
    assert out["before"] == (None, {"v1": 100})
    # The check job of the shift: it would deploy orders v2 first, so there is nothing to shift to yet; it says so,
    # and writes nothing.
    stats, stdout, after = out["check"]
    assert "check mode: release orders-v2 is installed or upgraded first" in stdout, stdout[-3000:]
    assert "so its pods are not there for canary_shift to check; the shift of orders to subset v2" in stdout
    assert out["check_wrote"] == []
    # The shift holds at the last weight below 100% (canary_hold from the node's extra_data): phase paused.
    stats, stdout, (state, weights) = out["canary"]
    assert stats["changed"].get("cluster-b"), stats
    assert "paused at step 2 (weight 50): run action resume or promote" in stdout, stdout[-3000:]
    assert (state["phase"], state["step"], weights) == ("paused", 2, {"v1": 50, "v2": 50})
    assert [(h["step"], h["weight"], h["result"]) for h in state["history"]] == [(0, 10, "skipped"), (1, 50, "skipped")]
    # The status job reads it, changing nothing.
    stats, stdout, (state, weights) = out["status"]
    assert not stats["changed"] and "VirtualService microservices/orders: phase paused" in stdout
    assert (state["phase"], weights) == ("paused", {"v1": 50, "v2": 50})
    # The mesh passes its verification with the canary taking half of orders' traffic.
    stats, stdout, dummy = out["verify"]
    assert "(passed: 0 error(s), 0 warning(s) in 1 namespace(s))" in stdout, stdout[-3000:]
    # Then the workflow promotes: all of orders' traffic to v2.
    stats, stdout, (state, weights) = out["promote"]
    assert stats["changed"].get("cluster-b"), stats
    assert "promoted by action promote at step 2" in stdout, stdout[-3000:]
    assert (state["phase"], weights) == ("promoted", {"v1": 0, "v2": 100})


def test_the_rollback_template_rolls_the_app_back_and_a_second_run_does_nothing(jobs, credentials, clusters, tmp_path):
    lab = clusters["cluster-a"]
    chart = os.path.join(ROOT, "examples", "shop", "helm", "microservices")
    # Revision 2: another image tag (what a bad release would be).
    lab.run("helm", "upgrade", "microservices", chart, "-n", "microservices", "--reuse-values",
            "--set", "global.image.tag=v1.0.1", "--wait", "--timeout", "180s", timeout=240)
    template = [t for t in job_templates() if t["playbook"] == "playbooks/rollback.yml"][0]
    path, secrets = credentials["cluster-a"]
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
