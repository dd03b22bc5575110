# -*- coding: utf-8 -*-
"""The execution environment (execution-environment.yml, ansible-builder schema 3): `make ee-context` builds the
collection's tarball and runs `ansible-builder create`; the generated context is checked, and the builder stage's
own introspection script is run on the collections the image would hold, so the collection's Python and system
requirements are proven to reach the image. No container is built (no registry or engine here)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

from harness import ROOT

CONTEXT = os.path.join(ROOT, "build", "ee", "context")
BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope="module")
def context():
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run(["make", "-s", "ee-context"], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=False, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Complete! The build context can be found at" in proc.stdout
    return CONTEXT


def read(path):
    with open(path) as handle:
        return handle.read()


def test_the_definition_is_schema_3_with_the_pins_of_the_project():
    ee = yaml.safe_load(read(os.path.join(ROOT, "execution-environment.yml")))
    assert ee["version"] == 3
    pins = dict(line.split("==") for line in read(os.path.join(ROOT, "requirements.txt")).splitlines()
                if "==" in line and not line.startswith("#"))
    deps = ee["dependencies"]
    assert deps["ansible_core"]["package_pip"] == "ansible-core==" + pins["ansible-core"]
    assert deps["ansible_runner"]["package_pip"] == "ansible-runner==" + pins["ansible-runner"]
    # One list of the collection's requirements: the EE and the collection's own metadata name the same files.
    meta = yaml.safe_load(read(os.path.join(ROOT, "meta", "execution-environment.yml")))
    assert meta["dependencies"] == {"python": deps["python"], "system": deps["system"]}


def test_the_context_has_the_containerfile_and_every_dependency(context):
    containerfile = read(os.path.join(context, "Containerfile"))
    assert 'ARG EE_BASE_IMAGE="quay.io/centos/centos:stream9"' in containerfile
    assert 'ARG PYCMD="/usr/bin/python3.12"' in containerfile
    assert re.search(r'ARG ANSIBLE_INSTALL_REFS="ansible-core==\S+ ansible-runner==\S+"', containerfile)
    # The collections (ours from the copied tarball) are installed in the galaxy stage, from the copied context.
    galaxy = containerfile.index("FROM base AS galaxy")
    assert containerfile.index("COPY _build /build", galaxy) < containerfile.index(
        "ansible-galaxy collection install", galaxy)
    # The builder stage introspects the installed collections with the EE's own requirements.
    assert "introspect.py introspect --user-pip=requirements.txt --user-bindep=bindep.txt" in containerfile
    # The final stage installs helm and istioctl, checksum-verified.
    final = containerfile[containerfile.index("FROM base AS final"):]
    for text in ("get.helm.sh/helm-v${HELM_VERSION}-linux-amd64.tar.gz.sha256sum | sha256sum -c -",
                 "istioctl-${ISTIO_VERSION}-linux-amd64.tar.gz.sha256 | sha256sum -c -",
                 "install -m 0755 linux-amd64/helm /usr/local/bin/helm"):
        assert text in final

    build = os.path.join(context, "_build")
    want_pip = [line for line in read(os.path.join(ROOT, "meta", "ee-requirements.txt")).splitlines()
                if line and not line.startswith("#")]
    assert [line for line in read(os.path.join(build, "requirements.txt")).splitlines()
            if line and not line.startswith("#")] == want_pip
    assert "openssl [platform:rpm platform:dpkg]" in read(os.path.join(build, "bindep.txt"))
    requirements = yaml.safe_load(read(os.path.join(build, "requirements.yml")))
    names = [c["name"] for c in requirements["collections"]]
    assert names == ["/build/collections/meshops-istio.tar.gz", "kubernetes.core", "community.crypto"]


def test_the_tarball_in_the_context_is_this_collection(context):
    galaxy = yaml.safe_load(read(os.path.join(ROOT, "galaxy.yml")))
    with tarfile.open(os.path.join(context, "_build", "collections", "meshops-istio.tar.gz")) as tar:
        names = set(tar.getnames())
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"], info["version"]) == ("meshops", "istio", galaxy["version"])
    for path in ("meta/execution-environment.yml", "meta/ee-requirements.txt", "meta/ee-bindep.txt",
                 "playbooks/site.yml", "playbooks/rollback.yml", "playbooks/awx/configure.yml",
                 "plugins/modules/istio_install.py", "roles/app_deploy/tasks/main.yml"):
        assert path in names, path
    # Not collection content: the lab, the EE definition itself.
    assert not [n for n in names if n.startswith(("lab/", "execution-environment"))]


def test_the_builder_stage_finds_the_collections_requirements(context, tmp_path):
    """The introspection the image's builder stage runs, run here on what its galaxy stage would install:
    this collection from the context's tarball and kubernetes.core (the venv's copy; Galaxy is not reachable)."""
    collections = tmp_path / "collections"
    proc = subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "--force",
                           "-p", str(collections), os.path.join(context, "_build", "collections", "meshops-istio.tar.gz")],
                          capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    import ansible_collections.kubernetes.core as kcore
    shutil.copytree(list(kcore.__path__)[0], str(collections / "ansible_collections" / "kubernetes" / "core"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    build = os.path.join(context, "_build")
    out_pip, out_bindep = tmp_path / "requirements.txt", tmp_path / "bindep.txt"
    proc = subprocess.run([sys.executable, os.path.join(build, "scripts", "introspect.py"), "introspect",
                           "--user-pip", os.path.join(build, "requirements.txt"),
                           "--user-bindep", os.path.join(build, "bindep.txt"),
                           "--write-pip", str(out_pip), "--write-bindep", str(out_bindep), str(collections)],
                          capture_output=True, text=True, check=False, timeout=120)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = yaml.safe_load(proc.stdout)
    # One line per requirement, naming the collection that asked for it.
    assert "kubernetes>=30.1.0  # from collection meshops.istio" in report["python"], report
    assert "cryptography>=41.0  # from collection meshops.istio" in report["python"]
    assert any(line.endswith("# from collection kubernetes.core") for line in report["python"])
    assert "openssl [platform:rpm platform:dpkg]  # from collection meshops.istio" in report["system"]
    pip = out_pip.read_text()
    assert "kubernetes>=30.1.0" in pip and "cryptography>=41.0" in pip
    assert "curl [platform:rpm platform:dpkg]" in out_bindep.read_text()
