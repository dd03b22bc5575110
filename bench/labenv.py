# -*- coding: utf-8 -*-
"""What the benchmarks share: the lab's environment and the collection tree ansible runs from."""

from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def lab_env():
    if os.environ.get("MESHOPS_KUBECONFIG"):
        return dict(os.environ, KUBECONFIG=os.environ["MESHOPS_KUBECONFIG"])
    subprocess.run([os.path.join(ROOT, "lab", "lab.sh"), "up"], check=True)
    env = dict(os.environ)
    with open(os.path.join(ROOT, ".lab", "env")) as handle:
        for line in handle:
            if line.startswith("export "):
                key, dummy, value = line[len("export "):].strip().partition("=")
                env[key] = value.strip('"').replace("$PATH", os.environ.get("PATH", ""))
    return env


def collections():
    out = subprocess.run([os.path.join(ROOT, "scripts", "collection-tree.sh"), os.path.join(ROOT, "build")],
                         check=True, capture_output=True, text=True,
                         env=dict(os.environ, VENV_PYTHON=sys.executable)).stdout.strip().splitlines()[-1]
    return os.path.dirname(os.path.dirname(os.path.dirname(out)))


def ansible_env():
    """The lab's environment plus what running this collection's modules through ansible needs."""
    env = lab_env()
    env.update(ANSIBLE_COLLECTIONS_PATH=collections(), ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False")
    return env
