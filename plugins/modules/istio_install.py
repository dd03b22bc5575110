#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: istio_install
short_description: Install, upgrade or remove Istio idempotently
version_added: 0.1.0
author: meshops.istio contributors (@meshops)
description:
  - Renders an Istio installation with C(istioctl manifest generate) or with C(helm template) of Istio's
    C(base), C(istiod) and C(gateway) charts, and applies it with server-side apply (field manager C(meshops)).
  - CustomResourceDefinitions are applied first and waited Established; every object that may change is first
    dry-run on the server, so nothing is written unless the API server accepts the whole installation.
  - Objects of this installation (or revision) that are no longer rendered are pruned; they are found by
    Istio's own labels C(operator.istio.io/component) and C(istio.io/rev).
  - O(state=absent) removes the objects labelled C(istio.io/rev) with the revision, and the revision-specific
    objects Istio renders without that label (their names carry the revision), found by rendering the revision.
  - A second run with the same inputs writes nothing and reports C(changed=false).
  - The webhooks' C(caBundle) and the validating webhook's C(failurePolicy) are left to istiod once the
    objects exist, so reruns do not fight istiod over them.
options:
  state:
    description:
      - C(present) installs or updates; C(absent) removes the installation of O(revision).
      - C(absent) keeps the CustomResourceDefinitions unless O(purge=true).
  method:
    description: How to render the installation.
    type: str
    choices: [istioctl, helm]
    default: istioctl
  version:
    description:
      - The Istio version expected, such as C(1.30) or C(1.30.4). The run fails before any write when the
        renderer (istioctl, or the charts) is of another version.
      - Installing an older version than the one running for the revision is refused unless
        O(allow_downgrade=true).
    type: str
  allow_downgrade:
    description: Allow installing an older Istio than the one running.
    type: bool
    default: false
  profile:
    description: Istio configuration profile, as the renderer knows them (default, demo, minimal, ...).
    type: str
    default: default
  revision:
    description:
      - Control-plane revision for canary upgrades, for example C(1-30-4) or C(canary). Lowercase letters,
        digits and dashes; no dots. Empty means the default revision.
    type: str
    default: ""
  values:
    description:
      - Helm values of Istio's charts (the IstioOperator C(spec.values) for istioctl), deep-merged over the
        profile.
      - Checked before anything is written against Istio's values schema (the Istio this collection was built
        against), every problem named by its field path, for example C(values.pilot.replicaCount - must be an
        integer, not 'two'); C(meshConfig) in them is checked as O(mesh_config). With O(method=helm) unknown
        top-level keys are left to the charts (the gateway chart reads its own).
    type: dict
    default: {}
  mesh_config:
    description:
      - MeshConfig settings (for example C(enableTracing), C(defaultConfig.tracing.sampling),
        C(outboundTrafficPolicy)).
      - Checked before anything is written against Istio's MeshConfig, every problem named by its field path -
        unknown fields (with the closest known name), types of nested messages, lists and maps, enum values,
        durations (C(10s), C(1m)), and at most one member of a oneof; free-form C(Struct) fields are not looked into.
    type: dict
    default: {}
  set:
    description: Extra C(path=value) overrides passed to the renderer as C(--set).
    type: list
    elements: str
    default: []
  operator:
    description:
      - An IstioOperator document deep-merged over the one built from the other options (istioctl only).
      - Checked against Istio's IstioOperator spec (its C(meshConfig) and C(values) as O(mesh_config) and
        O(values)); C(kind) must be C(IstioOperator), and C(spec.revision) may not differ from O(revision). Its
        C(spec.profile), when set, is the profile rendered.
    type: dict
  hub:
    description: Image registry of the Istio images (default is the renderer's).
    type: str
  tag:
    description: Image tag of the Istio images (default is the renderer's).
    type: str
  ingress_gateway:
    description: Install the ingress gateway C(istio-ingressgateway); unset follows the profile.
    type: bool
  egress_gateway:
    description: Install the egress gateway C(istio-egressgateway); unset follows the profile.
    type: bool
  istioctl_path:
    description: Path or name of istioctl (method istioctl). Default is C(istioctl) on PATH.
    type: path
  helm_path:
    description: Path or name of helm (method helm). Default is C(helm) on PATH.
    type: path
  chart_dir:
    description: Local directory holding Istio's C(base), C(istiod) and C(gateway) charts (method helm, offline).
    type: path
  chart_repo:
    description: Chart repository URL, for example C(https://istio-release.storage.googleapis.com/charts)
      (method helm, with O(chart_version)).
    type: str
  chart_version:
    description: Chart version to render from O(chart_repo).
    type: str
  prune:
    description: Delete objects of this installation that are no longer rendered.
    type: bool
    default: true
  purge:
    description: With O(state=absent), also delete Istio's CustomResourceDefinitions (and so every Istio
      resource in the cluster).
    type: bool
    default: false
  take_over:
    description:
      - Allow this installation to take over objects another revision owns (label C(istio.io/rev)), such as
        a gateway both render. Without it such an installation fails before any write, naming the objects.
    type: bool
    default: false
  force_conflicts:
    description:
      - Take over fields another field manager set (server-side apply C(force)), as C(istioctl install)
        does. With C(false) such a conflict fails the run before anything is written.
    type: bool
    default: true
  wait:
    description: Wait for istiod, the gateways and the webhooks to be ready.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for CRDs and workloads (1 or more).
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - meshops.istio.common
  - meshops.istio.common.concurrency
  - meshops.istio.common.state
  - meshops.istio.common.wait
attributes:
  check_mode:
    support: full
    description: Every write is a server-side dry run; waits are skipped.
  diff_mode:
    support: full
    description: Shows each object to create or update (before and after) and each object to prune.
requirements:
  - PyYAML >= 3.11
  - istioctl (method istioctl) or helm (method helm)
notes:
  - Ignores server-managed fields (resourceVersion, generation, managedFields, timestamps, status) when
    deciding whether anything changed.
seealso:
  - module: kubernetes.core.k8s
"""

EXAMPLES = r"""
- name: Install Istio with the default profile
  meshops.istio.istio_install:
    version: "1.30"
    profile: default

- name: Canary control plane beside the default one, with tracing
  meshops.istio.istio_install:
    revision: canary
    mesh_config:
      enableTracing: true
      defaultConfig:
        tracing:
          sampling: 10.0

- name: Install from local Helm charts (offline)
  meshops.istio.istio_install:
    method: helm
    chart_dir: /opt/istio/manifests/charts-by-name
    values:
      pilot:
        resources:
          requests:
            cpu: 100m

- name: Remove the canary revision only
  meshops.istio.istio_install:
    state: absent
    revision: canary
"""

RETURN = r"""
version:
  description: Istio version rendered (state present).
  returned: state is present
  type: str
  sample: 1.30.4
revision:
  description: Revision installed or removed (C(default) for the default revision).
  returned: always
  type: str
  sample: default
profile:
  description: Profile rendered.
  returned: state is present
  type: str
  sample: default
method:
  description: Renderer used.
  returned: state is present
  type: str
  sample: istioctl
readiness:
  description: Readiness per Deployment of the installation, and C(webhooks) for the webhook configurations.
  returned: always
  type: dict
  sample: {"istiod": true, "webhooks": true}
counts:
  description: Number of objects created, updated, unchanged and pruned (or deleted).
  returned: always
  type: dict
  sample: {"created": 0, "updated": 1, "unchanged": 27, "pruned": 0}
objects:
  description: Objects created, updated, pruned or deleted (unchanged ones are left out).
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "Deployment", "apiVersion": "apps/v1", "namespace": "istio-system", "name": "istiod",
            "action": "updated"}]
api_calls:
  description: Kubernetes API requests made, by verb.
  returned: always
  type: dict
  sample: {"discovery": 20, "list": 22, "apply_dry_run": 28}
"""

from ansible_collections.meshops.istio.plugins.module_utils.constants import INSTALL_METHODS, STATES
from ansible_collections.meshops.istio.plugins.module_utils.install import run
from ansible_collections.meshops.istio.plugins.module_utils.module import (
    argument_spec, concurrency_option, run_module,
)


def argspec():
    return argument_spec(
        concurrency=concurrency_option(),
        state=dict(type="str", choices=list(STATES), default="present"),
        method=dict(type="str", choices=list(INSTALL_METHODS), default="istioctl"),
        version=dict(type="str"),
        allow_downgrade=dict(type="bool", default=False),
        profile=dict(type="str", default="default"),
        revision=dict(type="str", default=""),
        values=dict(type="dict", default={}),
        mesh_config=dict(type="dict", default={}),
        set=dict(type="list", elements="str", default=[]),
        operator=dict(type="dict"),
        hub=dict(type="str"),
        tag=dict(type="str"),
        ingress_gateway=dict(type="bool"),
        egress_gateway=dict(type="bool"),
        istioctl_path=dict(type="path"),
        helm_path=dict(type="path"),
        chart_dir=dict(type="path"),
        chart_repo=dict(type="str"),
        chart_version=dict(type="str"),
        prune=dict(type="bool", default=True),
        purge=dict(type="bool", default=False),
        take_over=dict(type="bool", default=False),
        force_conflicts=dict(type="bool", default=True),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=300),
    )


def main():
    run_module(argspec(), run, mutually_exclusive=[("chart_dir", "chart_repo")],
               required_together=[("chart_repo", "chart_version")])


if __name__ == "__main__":
    main()
