# -*- coding: utf-8 -*-
"""Canary releases by meshops.istio.canary_shift on the lab's proxyless data plane, judged by real gRPC traffic and
the real Prometheus: a stable and a canary version of echo behind one VirtualService, a load client calling it at a
steady 50 calls/s, the servers' Istio metrics scraped every second. Proves, with pauses of seconds:

* a healthy canary goes 10 -> 50 -> 100 with every analysis passing on the default PromQL over the workloads' series,
  the load client's own counts follow each step's weights, the header route sends testers to the canary and stays
  ahead of the weighted route at every step, mesh_traffic rerun mid-rollout resets nothing, a rerun changes nothing;
* a canary failing 30% is rolled back at the first analysis: 100% stable, the DestinationRule byte for byte as
  before, the header route gone (and the Prometheus bearer token given is nowhere in the result);
* a canary without traffic fails closed (on_no_data fail), or with hold waits, then fails at its deadline;
* Prometheus stopped mid-rollout rolls it back (the lab's Prometheus is stopped, then restarted by lab.sh up);
* the playbook killed during a pause resumes at the recorded step when rerun, waiting only what was left.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import copy
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
LAB_SH = os.path.join(ROOT, "lab", "lab.sh")
MODULE = "meshops.istio.canary_shift"
ANNOTATION = "meshops.istio/canary"
SPEC = {
    "services": [{"name": "echo", "versions": [{"name": "stable"}, {"name": "canary"}]},
                 {"name": "quiet", "versions": [{"name": "stable"}, {"name": "canary"}]}],
    "clients": [{"name": "client"}, {"name": "loadgen", "load": {"service": "echo", "rate": 50}}],
}
TESTERS = {"x-canary-user": "true"}
# Short windows for pauses of seconds (Prometheus scrapes the data plane every second).
ANALYSIS = {"window": 3, "interval": 1, "min_requests": 5}
TOKEN = "canary-s3cret-token"
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")


@pytest.fixture(scope="module")
def plane(dataplane_factory):
    return dataplane_factory(SPEC, prefix="canary")


def host(plane, service):
    return "{0}.{1}.svc.cluster.local".format(service, plane.ns)


def traffic(plane, service):
    """mesh_traffic's declaration of a service: subsets stable and canary (ISTIO_MUTUAL, as proxyless clients
    need it) and one route, primary, 100% to stable."""
    h = host(plane, service)
    return {"owner": "{0}-{1}".format(plane.ns, service),
            "destination_rules": [{"name": service, "namespace": plane.ns, "spec": {
                "host": h, "trafficPolicy": {"tls": {"mode": "ISTIO_MUTUAL"}},
                "subsets": [{"name": "stable", "labels": {"version": "stable"}},
                            {"name": "canary", "labels": {"version": "canary"}}]}}],
            "virtual_services": [{"name": service, "namespace": plane.ns, "spec": {"hosts": [h], "http": [
                {"name": "primary", "route": [{"destination": {"host": h, "subset": "stable"}}], "timeout": "5s"}]}}]}


def fresh(plane, ansible, service="echo"):
    """The service's routing as mesh_traffic declares it, without any earlier rollout; every call to stable."""
    plane.lab.kubectl("delete", "virtualservice,destinationrule", service, "-n", plane.ns, "--ignore-not-found")
    out = ansible.module("meshops.istio.mesh_traffic", traffic(plane, service))
    assert not out.get("failed"), out.get("msg")
    if service == "echo":
        plane.until(lambda r: r["ok"] == r["calls"] and r["by_version"] == {"stable": r["calls"]},
                    "every call to go to stable", count=40)
    return out


def shift(plane, service="echo", **kw):
    args = dict(namespace=plane.ns, virtual_service=service, match=[{"headers": TESTERS}],
                prometheus_url=plane.lab.prometheus_url, analysis=dict(ANALYSIS))
    args.update(kw)
    return args


def vs(plane, service="echo"):
    return plane.lab.kubectl_json("get", "virtualservice", service, "-n", plane.ns)


def state_of(obj):
    text = (obj["metadata"].get("annotations") or {}).get(ANNOTATION)
    return json.loads(text) if text else None


def weights(obj):
    route = [r for r in obj["spec"]["http"] if r.get("name") == "primary"][0]
    return dict((d["destination"]["subset"], d.get("weight", 100)) for d in route["route"])


def route_names(obj):
    return [r.get("name") for r in obj["spec"]["http"]]


def epoch(text):
    """Seconds since the epoch of the state's RFC 3339 times (2026-12-01T20:24:16.323Z)."""
    return calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S")) + float("0" + text[19:-1])


def fault(plane, workload, ratio):
    plane.lab.run(LAB_SH, "dataplane", "fault", plane.ns, workload, "--fail-ratio", str(ratio))


def load_counts(plane, seconds):
    """What the steady load client saw over ``seconds`` (its own counts, reset first)."""
    plane.lab.run(LAB_SH, "dataplane", "stats", plane.ns, "loadgen-0", "--reset")
    time.sleep(seconds)
    return json.loads(plane.lab.run(LAB_SH, "dataplane", "stats", plane.ns, "loadgen-0").stdout)


def test_a_healthy_canary_goes_10_50_100_and_the_load_follows_each_step(plane, ansible):
    fresh(plane, ansible)
    steps = [{"weight": w, "pause": "manual"} for w in (10, 50, 100)]
    seen = []
    for i, weight in enumerate((10, 50, 100)):
        out = ansible.module(MODULE, shift(plane, steps=steps, action="run" if i == 0 else "resume"))
        assert not out.get("failed"), out.get("msg")
        assert out["phase"] == "paused" and out["step"] == i and out["changed"]
        live = vs(plane)
        # the header route is right ahead of the weighted route at every step
        assert route_names(live) == ["primary-canary", "primary"], route_names(live)
        assert weights(live) == {"stable": 100 - weight, "canary": weight}
        # testers reach the canary, always; the load client's own counts follow the weights
        plane.until(lambda r: r["ok"] == r["calls"] and r["by_version"] == {"canary": r["calls"]},
                    "the header route to send testers to the canary", count=30, headers=TESTERS)
        time.sleep(1)  # the load client's own xDS connection gets the same push
        counts = load_counts(plane, 4)
        share = counts["by_version"].get("canary", 0) / float(counts["calls"])
        seen.append((weight, counts["calls"], counts["by_version"]))
        assert counts["ok"] == counts["calls"] and counts["calls"] >= 120, counts
        assert abs(share - weight / 100.0) <= (0.08 if weight == 10 else 0.13 if weight == 50 else 0), seen
        if i == 1:
            # step 5's module rerun in the middle of the rollout resets nothing
            again = ansible.module("meshops.istio.mesh_traffic", traffic(plane, "echo"))
            assert not again.get("failed") and not again["changed"], again
            assert weights(vs(plane)) == {"stable": 50, "canary": 50}
    out = ansible.module(MODULE, shift(plane, steps=steps, action="resume"))
    assert not out.get("failed"), out.get("msg")
    assert out["phase"] == "promoted"
    assert [(t["step"], t["weight"], t["result"]) for t in out["timeline"]] == [
        (0, 10, "pass"), (1, 50, "pass"), (2, 100, "pass")]
    for entry in out["timeline"]:
        # real numbers from the workloads' series: every call succeeded, fast, and there were calls
        assert entry["success_rate"] == 1.0 and 0 < entry["p99_ms"] < 100 and entry["requests"] >= 5, entry
    assert out["timeline"][2]["requests"] > out["timeline"][0]["requests"]
    assert out["state"]["metric_labels"]["destination_canonical_revision"] == "canary"
    final = vs(plane)
    assert route_names(final) == ["primary"] and weights(final) == {"stable": 0, "canary": 100}
    again = ansible.module(MODULE, shift(plane, steps=steps))
    assert not again.get("failed") and not again["changed"] and again["phase"] == "promoted", again
    assert vs(plane)["metadata"]["resourceVersion"] == final["metadata"]["resourceVersion"]


def test_a_canary_failing_30_percent_is_rolled_back_at_the_first_analysis(plane, ansible):
    fresh(plane, ansible)
    dr_before = plane.lab.kubectl_json("get", "destinationrule", "echo", "-n", plane.ns)
    vs_before = vs(plane)
    fault(plane, "echo-canary", 0.3)
    try:
        # a bearer token (the lab's Prometheus ignores it) must not show anywhere in the result
        out = ansible.module(MODULE, shift(plane, steps=[{"weight": 20, "pause": 4}, {"weight": 50, "pause": 2},
                                                         {"weight": 100, "pause": 2}], analysis=dict(ANALYSIS, window=4),
                                           prometheus_bearer_token=TOKEN))
    finally:
        fault(plane, "echo-canary", 0)
    assert out.get("failed") and out["phase"] == "rolled_back", out.get("msg")
    assert TOKEN not in json.dumps(out)
    assert [(t["step"], t["result"]) for t in out["timeline"]] == [(0, "fail")]
    rate = out["timeline"][0]["success_rate"]
    assert 0.5 <= rate <= 0.88 and "success rate" in out["msg"], out["timeline"]
    after = vs(plane)
    assert after["spec"] == vs_before["spec"]  # 100% stable, the header route gone
    assert plane.lab.kubectl_json("get", "destinationrule", "echo", "-n", plane.ns) == dr_before  # byte for byte
    plane.until(lambda r: r["by_version"] == {"stable": r["calls"]}, "testers back on stable", count=30,
                headers=TESTERS)


def test_a_canary_without_traffic_fails_closed_or_holds_until_its_deadline(plane, ansible):
    fresh(plane, ansible, "quiet")
    steps = [{"weight": 10, "pause": 1}, {"weight": 100, "pause": 1}]
    out = ansible.module(MODULE, shift(plane, "quiet", steps=steps))
    assert out.get("failed") and out["phase"] == "rolled_back", out
    assert [t["result"] for t in out["timeline"]] == ["no_data"] and "fail closed" in out["msg"]
    assert out["timeline"][0]["requests"] == 0
    t0 = time.monotonic()
    out = ansible.module(MODULE, shift(plane, "quiet", steps=steps, action="retry",
                                       analysis=dict(ANALYSIS, on_no_data="hold", hold_timeout=4)))
    assert out.get("failed") and out["phase"] == "rolled_back", out
    held = out["timeline"]
    assert len(held) >= 4 and set(t["result"] for t in held) == {"no_data"}, held
    assert "no data for hold_timeout (4s)" in held[-1]["reason"]
    assert out["duration_s"] >= 1 + 4 and time.monotonic() - t0 >= 5
    assert weights(vs(plane, "quiet")) == {"stable": 100}


def playbook(tmp_path, args):
    path = tmp_path / "canary.yml"
    path.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "canary", "meshops.istio.canary_shift": args, "register": "canary"},
        {"name": "result", "ansible.builtin.debug": {"var": "canary"}}]}]))
    return str(path)


def start(ansible, argv):
    """ansible(-playbook) in the background, in its own session (so the test can kill it and its children)."""
    return subprocess.Popen(argv, env=ansible.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def finish(proc, timeout=120):
    out, err = proc.communicate(timeout=timeout)
    try:
        return json.loads(out)
    except ValueError:
        raise AssertionError("no JSON (rc {0}):\n{1}\n{2}".format(proc.returncode, out[-3000:], err[-3000:]))


def task_result(doc):
    return doc["plays"][0]["tasks"][0]["hosts"]["localhost"]


def until_step(plane, proc, step, timeout=60):
    """The rollout state once it reached ``step`` (fails early, with its output, when the run ended before)."""
    def reached():
        if proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError("the run ended before step {0} (rc {1}):\n{2}\n{3}".format(
                step, proc.returncode, out[-3000:], err[-2000:]))
        state = state_of(vs(plane)) or {}
        return state if state.get("step") == step and state.get("phase") == "progressing" else None
    return plane.lab.wait_for(reached, timeout=timeout, what="the rollout to reach step {0}".format(step))


def test_prometheus_stopped_mid_rollout_rolls_back(plane, ansible, tmp_path):
    fresh(plane, ansible)
    args = shift(plane, steps=[{"weight": 10, "pause": 2}, {"weight": 50, "pause": 4}, {"weight": 100, "pause": 1}])
    proc = start(ansible, [PLAYBOOK, playbook(tmp_path, args), "-i", "localhost,", "-c", "local"])
    pid_file = os.path.join(plane.lab.env["LAB_DIR"], "run", "prometheus.pid")
    try:
        state = until_step(plane, proc, 1)
        assert state["history"][0]["result"] == "pass"  # step 0 was analysed while Prometheus ran
        with open(pid_file) as handle:
            pid = int(handle.read().strip())
        os.kill(pid, signal.SIGTERM)
        plane.lab.wait_for(lambda: not os.path.exists("/proc/{0}".format(pid)) or open(
            "/proc/{0}/status".format(pid)).read().find("State:\tZ") >= 0, timeout=30, what="Prometheus to stop")
        out = task_result(finish(proc))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        plane.lab.run(LAB_SH, "up", timeout=300)
    assert out.get("failed") and out["phase"] == "rolled_back", out.get("msg")
    assert [(t["step"], t["result"]) for t in out["timeline"]] == [(0, "pass"), (1, "fail")]
    assert "cannot be reached" in out["timeline"][1]["reason"]
    assert weights(vs(plane)) == {"stable": 100} and route_names(vs(plane)) == ["primary"]
    # the lab is healthy again: Prometheus answers and scrapes the data plane
    plane.lab.wait_for(lambda: plane.prometheus('up{{job="dataplane", namespace="{0}"}}'.format(plane.ns)),
                       timeout=60, what="Prometheus to scrape the data plane again")
    plane.lab.run(LAB_SH, "status")


def descendants(pid):
    """Every process below ``pid`` (children first found through /proc's parent pids)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/{0}/stat".format(entry)) as handle:
                    parents[int(entry)] = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        kids = [p for p, parent in parents.items() if parent == current]
        out.extend(kids)
        todo.extend(kids)
    return out


def cmdline(pid):
    try:
        with open("/proc/{0}/cmdline".format(pid), "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def alive(pid):
    """True while ``pid`` runs (a zombie waiting for its reaper counts as gone)."""
    try:
        with open("/proc/{0}/status".format(pid)) as handle:
            return "State:\tZ" not in handle.read()
    except OSError:
        return False


def test_a_killed_playbook_resumes_at_the_recorded_step(plane, ansible, tmp_path):
    fresh(plane, ansible)
    steps = [{"weight": 10, "pause": 3}, {"weight": 30, "pause": 8}, {"weight": 60, "pause": 1},
             {"weight": 100, "pause": 1}]
    argv = [PLAYBOOK, playbook(tmp_path, shift(plane, steps=steps)), "-i", "localhost,", "-c", "local"]
    proc = start(ansible, argv)
    try:
        state = until_step(plane, proc, 1)
        time.sleep(1.5)  # into step 1's pause
        # ansible's worker runs in a session of its own (os.setsid), so the whole tree is killed by pid:
        # ansible-playbook, its worker and the module's python
        tree = descendants(proc.pid)
        assert any("AnsiballZ_canary_shift" in cmdline(pid) for pid in tree), [cmdline(p) for p in tree]
        for pid in [proc.pid] + tree:
            os.kill(pid, signal.SIGKILL)
        proc.communicate(timeout=30)
        plane.lab.wait_for(lambda: not [pid for pid in tree if alive(pid)], timeout=10,
                           what="ansible-playbook's worker and module to be gone")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    left = vs(plane)
    state = state_of(left)
    assert state["phase"] == "progressing" and state["step"] == 1 and weights(left) == {"stable": 70, "canary": 30}
    # rerun, watching the weights it writes: never back to step 0's 10%
    seen, stop = [], threading.Event()

    def watch():
        while not stop.is_set():
            seen.append(weights(vs(plane)).get("canary"))
            time.sleep(0.3)
    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        out = task_result(finish(start(ansible, argv)))
    finally:
        stop.set()
        watcher.join()
    assert not out.get("failed"), out.get("msg")
    assert out["phase"] == "promoted" and out["resumed_from"] == 1
    assert [t["step"] for t in out["timeline"]] == [0, 1, 2, 3]  # step 0 analysed once, by the first run
    assert 10 not in seen and seen[0] == 30, seen
    assert [r["step"] for r in out["state"]["resumes"]] == [1]
    # step 1's pause was not restarted: its analysis came when the 8 s from its weights' write were over, or at once
    # when the rerun's module started later than that (ansible's start takes seconds here), never 8 s after it
    due = max(epoch(state["step_started"]) + 8, epoch(out["state"]["resumes"][-1]["at"]))
    analysed = epoch(out["timeline"][1]["at"])
    assert due - 0.5 <= analysed < due + 3, (state["step_started"], out["state"]["resumes"], out["timeline"][1])
    assert copy.deepcopy(out["state"]["history"][0]) == state["history"][0]
