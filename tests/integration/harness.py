# -*- coding: utf-8 -*-
"""The integration tests' way into the lab, as plain classes and functions: tests, fixtures and helper
modules (``labs.py``) import them from here (``conftest`` is ambiguous: tests/integration/dataplane has
one too). The fixtures are in conftest.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# A play running the app_deploy role against the kubeconfig given as an extra variable.
APP_DEPLOY_PLAY = """
- name: Deploy the app
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/meshops.istio.istio:
      kubeconfig: "{{ kubeconfig }}"
    group/kubernetes.core.helm:
      kubeconfig: "{{ kubeconfig }}"
  roles:
    - role: meshops.istio.app_deploy
"""
# ansible and ansible-playbook of the Python running the tests (the project's .venv).
BIN = os.path.join(os.path.dirname(sys.executable), "")


class Lab:
    def __init__(self, env, real_cluster=False):
        self.env = env
        self.real_cluster = real_cluster
        self.kubeconfig = env["KUBECONFIG"]
        self.prometheus_url = env.get("LAB_PROMETHEUS_URL")

    def run(self, *args, check=True, input=None, timeout=120):
        """Run a command with the lab's PATH and KUBECONFIG; returns CompletedProcess."""
        proc = subprocess.run(list(args), env=self.env, input=input, capture_output=True, text=True, check=False,
                              timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError("{0} failed ({1}):\n{2}\n{3}".format(
                " ".join(args), proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
        return proc

    def kubectl(self, *args, **kwargs):
        return self.run("kubectl", *args, **kwargs)

    def kubectl_json(self, *args):
        return json.loads(self.kubectl(*(args + ("-o", "json"))).stdout)

    def apply(self, manifest, *args, check=True):
        return self.kubectl("apply", "-f", "-", *args, input=manifest, check=check)

    def wait_for(self, predicate, timeout=60, what="condition"):
        deadline = time.monotonic() + timeout
        delay = 0.2
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError("timed out after {0}s waiting for {1}".format(timeout, what))
            time.sleep(delay)
            delay = min(delay * 1.5, 2.0)


def collections_path():
    """A fresh copy of the collection in an ansible_collections tree (scripts/collection-tree.sh)."""
    out = subprocess.run([os.path.join(ROOT, "scripts", "collection-tree.sh"), os.path.join(ROOT, "build")],
                         check=True, capture_output=True, text=True,
                         env=dict(os.environ, VENV_PYTHON=sys.executable)).stdout.strip().splitlines()[-1]
    return os.path.dirname(os.path.dirname(os.path.dirname(out)))


class Ansible:
    """Runs modules and playbooks of this collection through ansible itself, on localhost."""

    def __init__(self, lab, collections):
        self.lab = lab
        self.env = dict(lab.env, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
                        ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_NOCOLOR="1",
                        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                        ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False")

    def _run(self, argv, check, diff, timeout):
        """Run ansible or ansible-playbook; returns (rc, the JSON callback's output)."""
        argv = argv + (["--check"] if check else []) + (["--diff"] if diff else [])
        proc = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=timeout, check=False)
        try:
            return proc.returncode, json.loads(proc.stdout)
        except ValueError:
            raise AssertionError("{0} printed no JSON (rc {1}):\n{2}\n{3}".format(
                " ".join(argv[:3]), proc.returncode, proc.stdout[-4000:], proc.stderr[-4000:]))

    def module(self, name, args=None, check=False, diff=False, timeout=600):
        """Run one module; returns its result dict (``failed`` set on failure)."""
        dummy, out = self._run([BIN + "ansible", "localhost", "-c", "local", "-m", name, "-a", json.dumps(args or {})],
                               check, diff, timeout)
        try:
            return out["plays"][0]["tasks"][0]["hosts"]["localhost"]
        except (KeyError, IndexError):
            raise AssertionError("ansible {0} printed no result: {1}".format(name, json.dumps(out)[-4000:]))

    def playbook(self, path, extra_vars=None, check=False, diff=False, inventory=None, timeout=1200):
        """Run a playbook; returns (rc, stats per host, full json)."""
        argv = [BIN + "ansible-playbook", path, "-i", inventory or "localhost,", "-c", "local"]
        if extra_vars:
            argv += ["-e", json.dumps(extra_vars)]
        rc, out = self._run(argv, check, diff, timeout)
        return rc, out["stats"], out

    @staticmethod
    def results(out):
        """(task name without the role's prefix, result) of every task that ran on localhost, in order."""
        for play in out["plays"]:
            for task in play["tasks"]:
                host = task["hosts"].get("localhost")
                if host is not None:
                    yield task["task"]["name"].split(" : ", 1)[-1], host

    @classmethod
    def failure(cls, out):
        """The message of the last failed task (a role's report)."""
        failed = [res for name, res in cls.results(out) if res.get("failed")]
        assert failed, "no task failed"
        return failed[-1].get("msg", "")


def lab_env():
    """The environment of the lab (started when needed), or of MESHOPS_KUBECONFIG's cluster; (env, real_cluster)."""
    if os.environ.get("MESHOPS_KUBECONFIG"):
        env = dict(os.environ, KUBECONFIG=os.environ["MESHOPS_KUBECONFIG"],
                   K8S_AUTH_KUBECONFIG=os.environ["MESHOPS_KUBECONFIG"])
        return env, True
    subprocess.run([os.path.join(ROOT, "lab", "lab.sh"), "up"], check=True)
    env = dict(os.environ)
    with open(os.path.join(ROOT, ".lab", "env")) as handle:
        for line in handle:
            if line.startswith("export "):
                key, dummy, value = line[len("export "):].strip().partition("=")
                value = value.strip('"').replace("$PATH", os.environ.get("PATH", ""))
                env[key] = value
    return env, False
