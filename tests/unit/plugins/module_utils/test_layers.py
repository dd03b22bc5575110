# -*- coding: utf-8 -*-
"""The layers of docs/architecture.md hold: every module_utils file imports only files of lower layers (so no
runner imports another, and nothing imports a runner), and no file outgrows ~350 lines."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import os

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
UTILS = os.path.join(HERE, "..", "..", "..", "..", "plugins", "module_utils")
PREFIX = "ansible_collections.meshops.istio.plugins.module_utils"

# Lower numbers are lower layers; a file may import only files of a lower layer.
LAYERS = {
    "constants": 0, "errors": 0, "retry": 0, "diff": 0,
    "forbidden": 0, "istio_api": 0, "fields": 0, "batch": 0, "calls": 1, "kube": 2, "waiter": 1, "validate": 1,
    "prometheus": 2,
    "workloads": 2, "render": 2, "iop": 2, "mesh": 3, "security": 4, "module": 4, "routing": 4, "ratelimit": 4,
    "rollout": 2, "shift": 3, "analysis": 2, "canary_params": 3, "canary_target": 5,
    "peers": 3, "clienttls": 5, "matrix": 6, "findings": 6, "evidence": 0, "certs": 0, "analyze": 1,
    "report": 2, "report_html": 3,
    "install": 9, "onboard": 9, "policy": 9, "pod_info": 9, "traffic": 9, "canary": 9, "verify": 9,
}
RUNNERS = {name for name, layer in LAYERS.items() if layer == 9}


def imports(name):
    with open(os.path.join(UTILS, name + ".py")) as handle:
        tree = ast.parse(handle.read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(PREFIX):
            rest = node.module[len(PREFIX):].lstrip(".")
            found.update([rest] if rest else [alias.name for alias in node.names])
    return found


def files():
    return sorted(f[:-3] for f in os.listdir(UTILS) if f.endswith(".py") and f != "__init__.py")


def test_every_file_has_a_layer():
    assert set(files()) == set(LAYERS)


@pytest.mark.parametrize("name", files())
def test_imports_go_only_downwards(name):
    upward = sorted(i for i in imports(name) if LAYERS[i] >= LAYERS[name])
    assert upward == [], "{0} imports {1}".format(name, upward)
    assert not imports(name) & RUNNERS


@pytest.mark.parametrize("name", files())
def test_no_file_outgrows_its_job(name):
    with open(os.path.join(UTILS, name + ".py")) as handle:
        assert len(handle.readlines()) <= 350
