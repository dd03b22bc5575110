# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mesh_pod_info runner: the pods of a namespace (and label selector) with their readiness and sidecar,
by the rules mesh_onboard uses; optionally waits until every pod is Ready. Reads only."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.meshops.istio.plugins.module_utils import validate
from ansible_collections.meshops.istio.plugins.module_utils.module import result
from ansible_collections.meshops.istio.plugins.module_utils.waiter import poll
from ansible_collections.meshops.istio.plugins.module_utils.workloads import pod_report


def validate_params(params):
    problems = validate.Problems()
    validate.dns_label(problems, "namespace", params.get("namespace"))
    validate.timeout(problems, "wait_timeout", params.get("wait_timeout"))
    problems.raise_any()


def run(module, kube):
    params = module.params
    validate_params(params)
    wait = params["wait"] and not kube.check_mode
    seen = {}

    def settled():
        seen["report"] = pod_report(kube.list("v1", "Pod", namespace=params["namespace"],
                                              label_selector=params.get("label_selector") or None))
        return not wait or (seen["report"]["pods"] and not seen["report"]["not_ready"])

    poll(settled, params["wait_timeout"], kube.sleep, kube.clock, interval=1.0, max_interval=5.0)
    report = seen["report"]
    return result(module, kube, [], ready=bool(report["pods"]) and not report["not_ready"], **report)
