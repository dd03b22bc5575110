# -*- coding: utf-8 -*-
"""More lab clusters beside the shared one, for tests that must not disturb it.

The shared lab (``lab`` fixture, conftest.py) is used by every other test, so a test
that kills the API server or needs a cluster of its own takes one from
``lab_factory``: ``lab_factory("faults")`` starts a complete lab (etcd, API server,
controllers, kwok, istiod, Prometheus) with ``lab/lab.sh up`` in a directory of its
own and on free ports, and every lab it made is stopped (``lab/lab.sh down``) and
removed at the end of the session. Use it by importing the fixture into the test
module: ``from labs import lab_factory  # noqa: F401``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from harness import ROOT, Lab

LAB_SH = os.path.join(ROOT, "lab", "lab.sh")


def _lab_settings():
    """lab/settings.py (free ports and pod ranges, shared with ``make lab-up LAB_NAME=...``)."""
    spec = importlib.util.spec_from_file_location("meshops_lab_settings", os.path.join(ROOT, "lab", "settings.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SETTINGS = _lab_settings()
# The variables lab/lab.sh reads its ports from.
PORT_VARIABLES = SETTINGS.PORT_VARIABLES
free_ports = SETTINGS.free_ports


class ExtraLab(Lab):
    """A lab of its own: ``lab.sh`` with MESHOPS_LAB_DIR and every port set."""

    def __init__(self, name, directory):
        self.name = name
        self.directory = directory
        self.ports = dict(zip(PORT_VARIABLES, free_ports(len(PORT_VARIABLES))))
        # Pod IPs of its own: a data plane puts them on lo, which every lab of the host shares.
        self.pod_cidr = SETTINGS.free_pod_cidr()
        # Variables of the shared lab (a sourced .lab/env) must not leak into this one.
        base = dict((k, v) for k, v in os.environ.items() if not k.startswith(("LAB_", "K8S_AUTH_")))
        base.pop("KUBECONFIG", None)
        self.lab_env = dict(base, MESHOPS_LAB_DIR=directory, LAB_POD_CIDR=self.pod_cidr,
                            **dict((k, str(v)) for k, v in self.ports.items()))
        # The binaries are the shared lab's (lab/build.sh caches them); linked, not rebuilt.
        os.makedirs(directory)
        os.symlink(os.path.join(ROOT, ".lab", "bin"), os.path.join(directory, "bin"))
        super(ExtraLab, self).__init__(dict(self.lab_env, KUBECONFIG=os.path.join(directory, "kubeconfig")))

    def lab_sh(self, command, check=True, timeout=600):
        """Run ``lab/lab.sh COMMAND`` for this lab; returns CompletedProcess."""
        proc = subprocess.run([LAB_SH, command], env=self.lab_env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise AssertionError("lab.sh {0} ({1}) failed ({2}):\n{3}".format(
                command, self.name, proc.returncode, proc.stderr[-4000:]))
        return proc

    def up(self, check=True):
        proc = self.lab_sh("up", check=check)
        if proc.returncode == 0:
            self.env = dict(self.lab_env, **read_env(os.path.join(self.directory, "env"), self.lab_env))
            self.kubeconfig = self.env["KUBECONFIG"]
            self.prometheus_url = self.env.get("LAB_PROMETHEUS_URL")
        return proc

    def down(self):
        self.lab_sh("down", check=False)
        shutil.rmtree(self.directory, ignore_errors=True)

    def pid(self, component):
        with open(os.path.join(self.directory, "run", component + ".pid")) as handle:
            return int(handle.read().strip())

    def kill(self, component, sig=signal.SIGKILL):
        """Kill a component (kill -9 by default); returns its pid once it is gone."""
        pid = self.pid(component)
        os.kill(pid, sig)
        self.wait_for(lambda: not alive(pid), timeout=30, what="{0} ({1}) to exit".format(component, pid))
        return pid

    def log(self, component):
        with open(os.path.join(self.directory, "logs", component + ".log")) as handle:
            return handle.read()

    def apiserver_ready(self):
        proc = self.run("kubectl", "get", "--raw", "/readyz", check=False, timeout=10)
        return proc.returncode == 0


def state(pid):
    """The process state letter of ``pid`` (R, S, D, Z...), or None when there is no such process."""
    try:
        with open("/proc/{0}/stat".format(pid)) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0]
    except (IOError, OSError, IndexError):
        return None


def alive(pid):
    """True while ``pid`` runs (a zombie, dead and not yet reaped, counts as gone)."""
    return state(pid) not in (None, "Z")


def read_env(path, base):
    """The ``export K="V"`` lines lab.sh writes, as a dict ($PATH expanded)."""
    env = {}
    with open(path) as handle:
        for line in handle:
            if line.startswith("export "):
                key, dummy, value = line[len("export "):].strip().partition("=")
                env[key] = value.strip('"').replace("$PATH", base.get("PATH", ""))
    return env


@pytest.fixture(scope="session")
def lab_factory(lab):
    """``make(name)`` -> a started :class:`ExtraLab`; all of them are stopped and removed at the end.

    Depends on ``lab`` so the shared lab's binaries are built first; skipped against a real cluster.
    """
    if lab.real_cluster:
        pytest.skip("extra labs run only beside the local lab")
    made = []

    def make(name):
        extra = ExtraLab(name, tempfile.mkdtemp(prefix="meshops-lab-{0}-".format(name)) + "/lab")
        made.append(extra)
        t0 = time.monotonic()
        extra.up()
        extra.started_in = time.monotonic() - t0
        return extra

    yield make
    for extra in made:
        extra.down()
        shutil.rmtree(os.path.dirname(extra.directory), ignore_errors=True)


@pytest.fixture(scope="session")
def spare_lab(lab_factory):  # pylint: disable=redefined-outer-name
    """One extra lab for the session, shared by the tests that disturb a cluster (kill its API server,
    install a control plane with another identity): each leaves it running and converged."""
    return lab_factory("spare")
