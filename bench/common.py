# -*- coding: utf-8 -*-
"""What the benchmarks share: the lab's environment, the collection tree ansible runs from, timed playbook
runs, kubectl, and the raw API client the floors are measured with (server-side apply and lists from this
one Python process, serial or threaded)."""

from __future__ import absolute_import, division, print_function

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_LABEL = "meshops-bench"


def lab_env():
    """The environment of the lab (started when needed), or of MESHOPS_KUBECONFIG's cluster."""
    if os.environ.get("MESHOPS_KUBECONFIG"):
        return dict(os.environ, KUBECONFIG=os.environ["MESHOPS_KUBECONFIG"])
    subprocess.run([os.path.join(ROOT, "lab", "lab.sh"), "up"], check=True, stdout=subprocess.DEVNULL)
    env = dict(os.environ)
    with open(os.path.join(ROOT, ".lab", "env")) as handle:
        for line in handle:
            if line.startswith("export "):
                key, dummy, value = line[len("export "):].strip().partition("=")
                env[key] = value.strip('"').replace("$PATH", os.environ.get("PATH", ""))
    return env


def collections():
    """A fresh copy of the collection (in build/bench, so that `make unit` elsewhere cannot clobber it)."""
    out = subprocess.run([os.path.join(ROOT, "scripts", "collection-tree.sh"), os.path.join(ROOT, "build", "bench")],
                         check=True, capture_output=True, text=True,
                         env=dict(os.environ, VENV_PYTHON=sys.executable)).stdout.strip().splitlines()[-1]
    return os.path.dirname(os.path.dirname(os.path.dirname(out)))


def machine():
    """Where the numbers come from."""
    info = {"host": platform.node(), "system": platform.platform(), "python": platform.python_version(),
            "cpus": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as handle:
            models = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
        info["cpu"] = models[0] if models else None
        with open("/proc/meminfo") as handle:
            info["memory_gib"] = round(int(handle.readline().split()[1]) / 1024.0 / 1024.0, 1)
    except (OSError, IndexError, ValueError):
        pass
    return info


def load():
    """The 1, 5 and 15 minute load averages (other work shares the cores)."""
    return [round(x, 2) for x in os.getloadavg()]


class Context:
    """One benchmark run: the environment, a run id, the namespaces made (deleted at the end), timings."""

    def __init__(self, keep=False):
        self.env = lab_env()
        self.collections = collections()
        sys.path.insert(0, self.collections)  # the collection's builders make the objects the floors write
        self.env.update(ANSIBLE_COLLECTIONS_PATH=self.collections, ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                        ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
                        ANSIBLE_DEPRECATION_WARNINGS="False")
        self.run_id = "%x" % int(time.time() * 10 % 0xffffff)
        self.keep = keep
        self.tmp = tempfile.mkdtemp(prefix="meshops-bench-")
        self.namespaces = []
        self._raw = None

    # -- cluster ------------------------------------------------------------

    def kubectl(self, *args, data=None, check=True):
        proc = subprocess.run(["kubectl"] + list(args), env=self.env, input=data, capture_output=True, text=True,
                              check=False)
        if check and proc.returncode != 0:
            raise SystemExit("kubectl {0} failed: {1}".format(" ".join(args)[:200], proc.stderr[-2000:]))
        return proc.stdout

    def make_namespaces(self, prefix, count):
        names = ["bench-{0}-{1}-{2}".format(prefix, self.run_id, i) for i in range(count)]
        items = [{"apiVersion": "v1", "kind": "Namespace",
                  "metadata": {"name": n, "labels": {BENCH_LABEL: self.run_id}}} for n in names]
        self.kubectl("apply", "-f", "-", data=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
        self.namespaces += names
        return names

    def cleanup(self):
        if not self.keep and self.namespaces:
            self.kubectl("delete", "namespace", "-l", "{0}={1}".format(BENCH_LABEL, self.run_id), "--wait=false",
                         check=False)

    @property
    def raw(self):
        if self._raw is None:
            self._raw = Raw(self.env["KUBECONFIG"])
        return self._raw

    # -- ansible ------------------------------------------------------------

    def playbook(self, tasks, variables=None, name="play"):
        """Time one ansible-playbook run of ``tasks`` (YAML text of a task list) on localhost; returns
        (seconds, stats, results of the last task: one per item for a loop)."""
        play = os.path.join(self.tmp, name + ".yml")
        data = os.path.join(self.tmp, name + "-vars.json")
        with open(play, "w") as handle:
            handle.write("- hosts: localhost\n  gather_facts: false\n  tasks:\n" + (tasks or "    []\n"))
        with open(data, "w") as handle:
            json.dump(variables or {}, handle)
        binary = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
        start = time.monotonic()
        proc = subprocess.run([binary, play, "-i", "localhost,", "-c", "local", "-e", "@" + data], env=self.env,
                              capture_output=True, text=True, check=False)
        elapsed = time.monotonic() - start
        try:
            out = json.loads(proc.stdout)
        except ValueError:
            raise SystemExit("{0} printed no JSON:\n{1}\n{2}".format(name, proc.stdout[-3000:], proc.stderr[-3000:]))
        stats = out["stats"].get("localhost", {})
        tasks_run = out["plays"][0]["tasks"]
        result = tasks_run[-1]["hosts"]["localhost"] if tasks_run else {}
        if proc.returncode != 0 or stats.get("failures"):
            msgs = [r.get("msg") for r in result.get("results", [result]) if r.get("failed")]
            raise SystemExit("{0} failed (rc {1}, {2}): {3}".format(name, proc.returncode, json.dumps(stats), msgs[:3]))
        return elapsed, stats, result


class Raw:
    """The floors: server-side apply and lists straight from the kubernetes client in this process, with the
    client and discovery made before the clock starts."""

    def __init__(self, kubeconfig):
        from kubernetes import client, config, dynamic
        configuration = client.Configuration()
        config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
        configuration.connection_pool_maxsize = 32
        self.client = dynamic.DynamicClient(client.ApiClient(configuration))
        self._resources = {}

    def resource(self, api_version, kind):
        key = (api_version, kind)
        if key not in self._resources:
            self._resources[key] = self.client.resources.get(api_version=api_version, kind=kind)
        return self._resources[key]

    def _apply(self, obj, manager):
        res = self.resource(obj["apiVersion"], obj["kind"])
        meta = obj["metadata"]
        return self.client.server_side_apply(res, body=obj, name=meta["name"],
                                             namespace=meta.get("namespace") if res.namespaced else None,
                                             field_manager=manager, force_conflicts=True,
                                             serializer=lambda c, data: data)

    def apply(self, objs, threads=1, manager="bench-raw"):
        """Seconds to server-side apply ``objs`` (CRDs and namespaces first), ``threads`` at once."""
        for obj in objs:
            self.resource(obj["apiVersion"], obj["kind"])
        first = [o for o in objs if o["kind"] in ("CustomResourceDefinition", "Namespace")]
        rest = [o for o in objs if o not in first]
        start = time.monotonic()
        for group in (first, rest):
            if threads == 1:
                for obj in group:
                    self._apply(obj, manager)
            else:
                with ThreadPoolExecutor(max_workers=threads) as pool:
                    list(pool.map(lambda o: self._apply(o, manager), group))
        return time.monotonic() - start

    def lists(self, queries):
        """Seconds to make one list per (apiVersion, kind, namespace) of ``queries``, one after the other."""
        for api_version, kind, dummy in queries:
            self.resource(api_version, kind)
        start = time.monotonic()
        for api_version, kind, namespace in queries:
            self.client.get(self.resource(api_version, kind), namespace=namespace, serializer=lambda c, data: data)
        return time.monotonic() - start


def groups(objs):
    """The (apiVersion, kind, namespace) a no-op run lists: one per kind and namespace of ``objs``."""
    seen = []
    for obj in objs:
        key = (obj["apiVersion"], obj["kind"], obj["metadata"].get("namespace"))
        if key not in seen:
            seen.append(key)
    return seen
