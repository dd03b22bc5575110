# -*- coding: utf-8 -*-
"""The one way into the lab for integration tests.

The session fixture ``lab`` starts the local lab (``lab/lab.sh up``: idempotent,
seconds when it is already running) and hands out its kubeconfig, tools and URLs.
Set ``MESHOPS_KUBECONFIG`` to run the same tests against a real cluster instead;
then none of the lab is started (tests that need a lab-only part skip).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import uuid

import pytest
import yaml

from harness import Ansible, Lab, collections_path, lab_env


@pytest.fixture(scope="session")
def ansible(lab):
    return Ansible(lab, collections_path())


@pytest.fixture(scope="session")
def lab_istio_values(lab):
    """Values that keep an istio_install into the lab pointing at the lab's istiod ({} on a real cluster)."""
    path = lab.env.get("LAB_ISTIO_VALUES")
    if not path:
        return {}
    with open(path) as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="session")
def lab():
    env, real = lab_env()
    return Lab(env, real_cluster=real)


@pytest.fixture
def namespace(lab):
    """A fresh namespace (labels added by the test), deleted afterwards."""
    created = []

    def make(prefix="t", labels=None):
        name = "{0}-{1}".format(prefix, uuid.uuid4().hex[:6])
        lab.kubectl("create", "namespace", name)
        if labels:
            lab.kubectl("label", "namespace", name, *["{0}={1}".format(k, v) for k, v in labels.items()])
        created.append(name)
        return name

    yield make
    for name in created:
        lab.kubectl("delete", "namespace", name, "--wait=false", check=False)


# In the lab every part is there (``lab/lab.sh up`` installs and starts it), so a skipped test means
# a step of the walkthrough went untested without anyone noticing: the run fails, naming the skips.
# Against a real cluster (MESHOPS_KUBECONFIG) lab-only checks may skip.
_SKIPPED = []


def pytest_runtest_logreport(report):
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        _SKIPPED.append("{0}: {1}".format(report.nodeid, reason))


def pytest_sessionfinish(session, exitstatus):
    if _SKIPPED and not os.environ.get("MESHOPS_KUBECONFIG") and exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if _SKIPPED and not os.environ.get("MESHOPS_KUBECONFIG"):
        terminalreporter.write_line(
            "FAILED: {0} test(s) skipped on the lab, where nothing may skip:".format(len(_SKIPPED)), red=True)
        for line in _SKIPPED:
            terminalreporter.write_line("  " + line)
