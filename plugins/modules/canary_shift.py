#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: canary_shift
short_description: Canary release on an Istio VirtualService, step by step, gated on Prometheus metrics
version_added: 0.2.0
author: meshops.istio contributors (@meshops)
description:
  - Shifts the traffic of one named HTTP route of a VirtualService from the O(stable_subset) to the
    O(canary_subset) of a DestinationRule in steps (O(steps), or O(step_weight) up to O(max_weight)), each
    held for its pause and then analysed against Prometheus; promotes at the end (100% to the canary, or with
    O(finalize) the stable subset moved to the canary's labels), or rolls back at the first failed analysis
    (100% to stable, the header routes removed, the DestinationRule's subsets exactly as before). No controller
    runs in the cluster - the rollout runs in this task (use C(async) or an AWX job for long ones).
  - Refuses to start, writing nothing, when the route, its destination to the stable subset, a subset (unless its
    labels are given, then it is added or relabelled in the DestinationRule) or a Ready pod of the Service behind
    each subset is missing (a subset that selects no Ready pod is where 503s come from).
  - Header routes (O(match), for example C(x-canary-user) C("true")) send matching requests to the canary for the
    whole rollout; they are one route named C(<route>-canary), always directly ahead of the weighted route, with
    the weighted route's settings (timeout, retries, ...) and its own match rules combined with O(match).
  - "Analysis (every step with C(analysis: true)): the canary's non-5xx share and p99 latency from Istio's
    standard metrics (C(istio_requests_total), C(istio_request_duration_milliseconds), C(reporter=\"destination\"),
    the Service's C(destination_service_name) and C(destination_service_namespace), and the
    C(destination_canonical_revision) Istio gives the canary's pods), plus custom PromQL with C(min)/C(max).
    Fewer than O(analysis.min_requests) canary requests in the window is no data: O(analysis.on_no_data) C(fail)
    (default - fail closed, never promote on silence), C(hold) (wait for data up to O(analysis.hold_timeout), then
    fail), or C(skip). A Prometheus that cannot be reached, or refuses a query, fails the analysis (never silence).
    A failed analysis is repeated after O(analysis.interval) until more than O(analysis.failure_limit) failed;
    then the rollout is rolled back."
  - The state lives on the VirtualService (annotation C(meshops.istio/canary) - release, step, when the step
    started, every analysis), so a rerun resumes an interrupted rollout at its recorded step (waiting only what is
    left of the pause), a rerun after it ended changes nothing, and O(action=status), C(promote), C(abort) and
    C(resume) work from separate jobs (a running job notices within 5 seconds and stops).
  - Writes are server-side applies with the field manager C(meshops-canary) (dry-run on the server first) of the
    VirtualService's C(spec.http) with the state and, when they change, the DestinationRule's C(spec.subsets).
    While a rollout is progressing, paused or promoted, M(meshops.istio.mesh_traffic) keeps the weighted route's
    destinations and mirror, the header routes and the two subsets as they are live, so rerunning it does not
    reset the canary.
options:
  namespace:
    description: Namespace of the VirtualService (and of the DestinationRule).
    type: str
    required: true
  virtual_service:
    description: Name of the VirtualService that routes the service's traffic.
    type: str
    required: true
  route:
    description: Name of the HTTP route to shift; by default the VirtualService's one route without C(match) (it
      must have a name, so the rollout finds it again in later runs).
    type: str
  destination_rule:
    description: Name of the DestinationRule holding the subsets (default O(virtual_service)).
    type: str
  stable_subset:
    description: Subset of the version in service.
    type: str
    default: stable
  canary_subset:
    description: Subset of the new version.
    type: str
    default: canary
  stable_labels:
    description: Pod labels of the stable subset; when given and the subset differs, it is written into the
      DestinationRule before the first step (and put back as it was on rollback).
    type: dict
  canary_labels:
    description: Pod labels of the canary subset, for example C(version=v2); when given and the subset is missing
      or differs, it is written into the DestinationRule before the first step (and removed or put back on
      rollback). They also name the release (see O(release)).
    type: dict
  release:
    description: What is released, the identity of the rollout. The same release resumes (or, once it ended,
      changes nothing); another one starts a new rollout when the last one ended. Default - the canary subset's
      name and labels.
    type: str
  action:
    description:
      - C(run) starts the release or resumes it, and drives it to promotion, rollback or a manual pause.
      - C(status) only reads. C(promote) skips the remaining steps (no analysis) and promotes. C(abort) rolls back.
        C(resume) continues a rollout paused at a C(manual) step. C(retry) starts a rolled back or aborted release
        again.
    type: str
    choices: [run, status, promote, abort, resume, retry]
    default: run
  steps:
    description: The steps, in order. Mutually exclusive with O(step_weight). An unknown key, a missing O(steps[].weight)
      or a value of the wrong type is refused with its path (for example C(steps[1].pause)), every problem at once.
    type: list
    elements: dict
    suboptions:
      weight:
        description: Percent of the route's traffic to the canary (0 to 100).
        type: int
        required: true
      pause:
        description: How long the step is held before its analysis - seconds, or a duration such as C(30s),
          C(500ms), C(5m); C(manual) waits (phase C(paused)) until O(action=resume) or C(promote).
        type: raw
        default: 0
      analysis:
        description: Analyse after the pause; a failed analysis rolls back.
        type: bool
        default: true
      mirror:
        description: Percent of the route's traffic also mirrored to the canary during this step (its answers are
          dropped).
        type: float
  step_weight:
    description: Steps of this many percent (Flagger's C(stepWeight)), up to O(max_weight), each held O(step_pause)
      and analysed; promotion then moves to 100%.
    type: int
  max_weight:
    description: The last step's weight with O(step_weight).
    type: int
    default: 100
  step_pause:
    description: Pause of each step made from O(step_weight) (seconds or a duration).
    type: raw
    default: 60
  match:
    description: Istio match rules (C(HTTPMatchRequest)) of requests sent to the canary for the whole rollout,
      for example a header C(x-canary-user) with the value C("true") (a plain string is an exact match, or give
      C(exact), C(prefix) or C(regex)).
    type: list
    elements: dict
    default: []
  keep_header_routes:
    description: On rollback, keep the header routes (and the canary subset they use), for example for testers to
      debug the canary.
    type: bool
    default: false
  finalize:
    description: On promotion, move the stable subset's labels to the canary's and route 100% to the stable subset
      again as before the rollout (so the route and the release's names stay as they were); without it the route
      ends at 100% to the canary subset.
    type: bool
    default: false
  analysis:
    description: How each analysis is made and judged. An unknown key (also inside O(analysis.queries)), a missing
      required one or a value of the wrong type is refused with its path, every problem at once.
    type: dict
    default: {}
    suboptions:
      interval:
        description: Seconds (or a duration) between the measurements of a failed or silent analysis.
        type: raw
        default: 10
      window:
        description: The PromQL range of each measurement (seconds or a duration); short for tests, a minute or more
          for real traffic.
        type: raw
        default: 60
      failure_limit:
        description: Failed measurements tolerated over the whole rollout; one more rolls back.
        type: int
        default: 0
      min_requests:
        description: Canary requests the window needs for a valid measurement; fewer is no data.
        type: int
        default: 10
      on_no_data:
        description: What a measurement without data means - C(fail) it (fail closed), C(hold) the step until data
          comes or O(analysis.hold_timeout) passes (then fail), or C(skip) the check (pass).
        type: str
        choices: [fail, hold, skip]
        default: fail
      hold_timeout:
        description: With C(on_no_data=hold), how long a step waits for data (seconds or a duration).
        type: raw
        default: 300
      min_success_rate:
        description: Lowest non-5xx share of the canary's requests (0 to 1); 0 turns the check off.
        type: float
        default: 0.99
      max_p99_ms:
        description: Highest p99 latency of the canary in milliseconds; 0 turns the check off.
        type: float
        default: 500
      metric_labels:
        description: Labels that select the canary's series, added to (or replacing) the default ones.
        type: dict
        default: {}
      queries:
        description: Custom PromQL checks, each yielding one number. C($window), C($namespace), C($service),
          C($host), C($revision) and C($selector) (the default label matchers) are filled in.
        type: list
        elements: dict
        default: []
        suboptions:
          name: {description: Name of the check in the timeline., type: str, required: true}
          query: {description: The PromQL expression., type: str, required: true}
          min: {description: Lowest value that passes., type: float}
          max: {description: Highest value that passes., type: float}
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - meshops.istio.prometheus
  - meshops.istio.common
attributes:
  check_mode:
    support: full
    description: Prints the plan (each step's weights) and dry-runs the next write on the server; writes nothing,
      waits for nothing and queries no metrics.
notes:
  - Needs get and server-side apply (patch) on the VirtualService and the DestinationRule, get on the Service and
    list on its pods; O(action=status) only reads.
  - A rolled back or aborted rollout fails the task (its C(timeline) goes with the failure), except with
    O(action=abort) itself.
seealso:
  - module: meshops.istio.mesh_traffic
"""

EXAMPLES = r"""
- name: Release users v2 - 10%, 50%, then 100%, each held 2 minutes and analysed
  meshops.istio.canary_shift:
    namespace: shop
    virtual_service: users
    route: default
    canary_labels: {version: v2}
    steps:
      - {weight: 10, pause: 2m}
      - {weight: 50, pause: 2m}
      - {weight: 100, pause: 2m}
    match:
      - headers: {x-canary-user: "true"}
    prometheus_url: http://prometheus.istio-system:9090
    analysis:
      window: 1m
      interval: 30s
      failure_limit: 1
      min_success_rate: 0.99
      max_p99_ms: 300
  register: release

- name: Steps of 20% up to 60%, held for a manual approval at each step
  meshops.istio.canary_shift:
    namespace: shop
    virtual_service: users
    step_weight: 20
    max_weight: 60
    step_pause: manual
    prometheus_url: http://prometheus.istio-system:9090

- name: Approve the next step (a separate AWX job)
  meshops.istio.canary_shift:
    namespace: shop
    virtual_service: users
    action: resume
    prometheus_url: http://prometheus.istio-system:9090

- name: Abort from another job
  meshops.istio.canary_shift:
    namespace: shop
    virtual_service: users
    action: abort
"""

RETURN = r"""
changed: {description: "Whether the VirtualService or the DestinationRule was (in check mode, would be) written.",
          returned: always, type: bool}
phase:
  description: The rollout's phase at the end of the task - progressing, paused, promoted, rolled_back or aborted
    (null without a rollout).
  returned: always
  type: str
  sample: promoted
step: {description: Index of the rollout's current (last) step., returned: always, type: int, sample: 2}
release: {description: What is released (the identity of the rollout)., returned: always, type: str,
          sample: "canary: version=v2"}
timeline:
  description: Every analysis in order - step, weight, time, result (pass, fail, no_data, skipped), the measured
    success rate, p99 latency in milliseconds and request count, and the reason of a result other than pass.
  returned: always
  type: list
  elements: dict
  sample: [{"step": 0, "weight": 10, "at": "2026-12-01T20:00:05.120Z", "result": "pass", "success_rate": 1.0,
            "p99_ms": 4.9, "requests": 96, "reason": null}]
plan:
  description: Each step's weights (step, stable_weight, canary_weight, mirror, pause in seconds or manual,
    analysis).
  returned: always
  type: list
  elements: dict
  sample: [{"step": 0, "stable_weight": 90, "canary_weight": 10, "mirror": null, "pause": 120.0, "analysis": true}]
state: {description: "The rollout state as stored in the annotation meshops.istio/canary.", returned: always,
        type: dict}
resumed_from: {description: The step an interrupted rollout was resumed at (null when it was not resumed).,
               returned: always, type: int}
message: {description: What the task did., returned: always, type: str,
          sample: "promoted canary: version=v2: all 3 steps passed"}
virtual_service: {description: The VirtualService., returned: always, type: str,
                  sample: VirtualService shop/users}
duration_s: {description: Seconds the task spent (pauses and analyses included)., returned: always, type: float}
missing:
  description: The object the rollout needs that does not exist (the VirtualService, or the DestinationRule of the
    subsets), when that is why the task failed; nothing was written.
  returned: on failure, when the VirtualService or the DestinationRule does not exist
  type: str
  sample: VirtualService shop/users
objects:
  description: Objects written (in check mode, that would be), with C(action) C(updated).
  returned: always
  type: list
  elements: dict
api_calls: {description: Kubernetes API requests made by verb., returned: always, type: dict}
"""

from ansible_collections.meshops.istio.plugins.module_utils.canary import run
from ansible_collections.meshops.istio.plugins.module_utils.constants import CANARY_ACTIONS
from ansible_collections.meshops.istio.plugins.module_utils.module import argument_spec, run_module


def argspec():
    return argument_spec(
        with_prometheus=True,
        namespace=dict(type="str", required=True),
        virtual_service=dict(type="str", required=True),
        route=dict(type="str"),
        destination_rule=dict(type="str"),
        stable_subset=dict(type="str", default="stable"),
        canary_subset=dict(type="str", default="canary"),
        stable_labels=dict(type="dict"),
        canary_labels=dict(type="dict"),
        release=dict(type="str"),
        action=dict(type="str", choices=list(CANARY_ACTIONS), default=CANARY_ACTIONS[0]),
        steps=dict(type="list", elements="dict"),
        step_weight=dict(type="int"),
        max_weight=dict(type="int", default=100),
        step_pause=dict(type="raw", default=60),
        match=dict(type="list", elements="dict", default=[]),
        keep_header_routes=dict(type="bool", default=False),
        finalize=dict(type="bool", default=False),
        analysis=dict(type="dict", default={}),
    )


def main():
    run_module(argspec(), run, mutually_exclusive=[("steps", "step_weight")])


if __name__ == "__main__":
    main()
