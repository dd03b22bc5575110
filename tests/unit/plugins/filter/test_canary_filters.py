# -*- coding: utf-8 -*-
"""The canary role's filters: the chart values of a canary release of one shop service, and the report."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.meshops.istio.plugins.filter.canary import canary_chart_values, canary_hold_steps, canary_report

STEPS = [{"weight": 10, "pause": 1}, {"weight": 50, "pause": 1, "mirror": 20}, {"weight": 100, "pause": 1}]


def test_chart_values_render_one_service_in_another_version():
    assert canary_chart_values("users", "v2") == {"deploymentsOnly": ["users"], "users": {"version": "v2"}}
    assert canary_chart_values("api-gateway", "v2", "v1.1.0") == {
        "deploymentsOnly": ["api-gateway"], "apiGateway": {"version": "v2", "image": {"tag": "v1.1.0"}}}


@pytest.mark.parametrize("service, version", [("postgres", "v2"), ("nope", "v2"), ("users", "v 2"), ("users", "")])
def test_chart_values_refuse_what_the_chart_has_not(service, version):
    with pytest.raises(AnsibleFilterError):
        canary_chart_values(service, version)


def test_the_report_tells_the_outcome_and_every_analysis():
    result = {"virtual_service": "VirtualService shop/users", "message": "rolled back canary: version=v2: step 0: x",
              "timeline": [{"step": 0, "weight": 10, "result": "fail", "success_rate": 0.7, "p99_ms": 4.5,
                            "requests": 40, "reason": "success rate 0.7 < 0.99"},
                           {"step": 1, "weight": 50, "result": "skipped", "success_rate": None, "p99_ms": None,
                            "requests": 0, "reason": None}]}
    assert canary_report(result) == [
        "VirtualService shop/users: rolled back canary: version=v2: step 0: x",
        "step 0 at 10%: fail (success 70.0%, p99 4.5 ms, 40 requests): success rate 0.7 < 0.99",
        "step 1 at 50%: skipped (success -, p99 -, 0 requests)"]
    assert canary_report({"msg": "failed early"}) == ["canary: failed early"]
    with pytest.raises(AnsibleFilterError):
        canary_report("x")


def test_without_hold_the_steps_are_as_given():
    assert canary_hold_steps(STEPS) is STEPS
    assert canary_hold_steps(STEPS, False) is STEPS and canary_hold_steps(STEPS, "no") is STEPS


@pytest.mark.parametrize("hold", [True, "yes", "true"])
def test_hold_drops_the_full_steps_and_waits_at_the_last_weight_before_them(hold):
    assert canary_hold_steps(STEPS, hold) == STEPS[:2] + [
        {"weight": 50, "pause": "manual", "analysis": False, "mirror": 20}]
    steps = [{"weight": 20}, {"weight": 100}, {"weight": "100"}]
    assert canary_hold_steps(steps, hold) == [{"weight": 20}, {"weight": 20, "pause": "manual", "analysis": False}]
    # Steps that never reach 100% (canary_shift promotes after the last) hold after the last one.
    assert canary_hold_steps(STEPS[:1], hold) == STEPS[:1] + [{"weight": 10, "pause": "manual", "analysis": False}]


@pytest.mark.parametrize("steps, hold, message", [
    ([{"weight": 100}], True, "need one below 100%, got weights [100]"),
    ([], True, "need one below 100%"),
    ("10,50", True, "steps must be a list of mappings"),
    (STEPS, "maybe", "hold must be true or false"),
])
def test_hold_refuses_what_it_cannot_hold(steps, hold, message):
    with pytest.raises(AnsibleFilterError) as err:
        canary_hold_steps(steps, hold)
    assert message in str(err.value)
