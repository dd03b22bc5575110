# -*- coding: utf-8 -*-
"""Canary analysis: the default PromQL over Istio's standard labels, custom queries with placeholders, a
measurement judged (pass, fail, no data; an unreachable Prometheus fails), and canonical revisions as Istio
derives them; the options' validation (every problem by its path) and the plan of steps; the route helpers."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.meshops.istio.plugins.module_utils import analysis, canary_params, rollout, shift
from ansible_collections.meshops.istio.plugins.module_utils.errors import InputError, PrometheusError
from ansible_collections.meshops.istio.plugins.modules import canary_shift
from ansible_collections.meshops.istio.tests.unit.fakes import arg_errors

LABELS = analysis.metric_labels("users", "shop", "v2")
SEL = ('destination_canonical_revision="v2",destination_service_name="users",destination_service_namespace="shop",'
       'reporter="destination"')


def test_default_queries_use_istio_standard_labels():
    q = analysis.queries(LABELS, 30)
    assert q["requests"] == "sum(increase(istio_requests_total{%s}[30s]))" % SEL
    assert q["success_rate"] == ('sum(rate(istio_requests_total{%s,response_code!~"5.."}[30s])) / '
                                 'sum(rate(istio_requests_total{%s}[30s]))' % (SEL, SEL))
    assert q["p99_ms"] == ("histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{%s}"
                           "[30s])))" % SEL)
    assert analysis.window_text(2.5) == "2500ms" and analysis.window_text(60) == "60s"
    labels = analysis.metric_labels("users", "shop", "v2", {"destination_workload": "users-v2",
                                                            "reporter": "source"})
    assert labels["reporter"] == "source" and labels["destination_workload"] == "users-v2"
    assert analysis.selector({"a": 'x"y'}) == 'a="x\\"y"'


@pytest.mark.parametrize("labels, revision", [
    ({"version": "v2"}, "v2"), ({"app.kubernetes.io/version": "1.2", "version": "v2"}, "1.2"),
    ({"service.istio.io/canonical-revision": "c", "version": "v2"}, "c"), ({}, "latest")])
def test_canonical_revision_as_istio_derives_it(labels, revision):
    assert analysis.canonical_revision(labels) == revision


class Prom:
    def __init__(self, answers=None, error=None):
        self.answers, self.error, self.queries = answers or {}, error, []

    def value(self, query):
        self.queries.append(query)
        if self.error:
            raise self.error
        for key, value in self.answers.items():
            if key in query:
                return value
        return None


CONF = {"window": 10, "min_requests": 5, "min_success_rate": 0.99, "max_p99_ms": 200, "queries": []}
HEALTHY = {"increase": 40.0, "5..": 1.0, "histogram_quantile": 20.0}


def test_a_healthy_measurement_passes_with_its_numbers():
    out = analysis.measure(Prom(HEALTHY), CONF, LABELS, "users.shop.svc.cluster.local")
    assert out == {"result": "pass", "success_rate": 1.0, "p99_ms": 20.0, "requests": 40, "reason": None,
                   "queries": {}}


@pytest.mark.parametrize("answers, result, reason", [
    (dict(HEALTHY, **{"5..": 0.7}), "fail", "success rate 0.7 < 0.99"),
    (dict(HEALTHY, histogram_quantile=350.0), "fail", "p99 350 ms > 200 ms"),
    (dict(HEALTHY, increase=3.0), "no_data", "3 canary requests in the last 10s (min_requests 5)"),
    ({"5..": 1.0}, "no_data", "0 canary requests"),
    (dict(HEALTHY, histogram_quantile=None), "no_data", "no value for p99_ms"),
])
def test_measurements_fail_or_are_silent(answers, result, reason):
    out = analysis.measure(Prom(answers), CONF, LABELS, "h")
    assert out["result"] == result and reason in out["reason"]


def test_an_unreachable_prometheus_fails_the_measurement():
    out = analysis.measure(Prom(error=PrometheusError("Prometheus at http://p cannot be reached")), CONF, LABELS, "h")
    assert out["result"] == "fail" and out["reason"] == "Prometheus: Prometheus at http://p cannot be reached"


def test_custom_queries_get_their_placeholders_and_thresholds():
    prom = Prom(dict({"errors_total": 3.0}, **HEALTHY))
    conf = dict(CONF, queries=[{"name": "errors", "query": "sum(increase(errors_total{$selector}[$window]))",
                                "min": None, "max": 1}])
    out = analysis.measure(prom, conf, LABELS, "users.shop.svc.cluster.local")
    assert prom.queries[-1] == "sum(increase(errors_total{%s}[10s]))" % SEL
    assert out["result"] == "fail" and out["reason"] == "errors 3 > 1" and out["queries"] == {"errors": 3.0}
    values = analysis.placeholders(LABELS, 10, "users.shop.svc.cluster.local")
    assert analysis.render("$namespace/$service@$revision $host $nothing", values) == \
        "shop/users@v2 users.shop.svc.cluster.local $nothing"


def test_checks_turned_off_are_not_queried():
    prom = Prom(HEALTHY)
    out = analysis.measure(prom, dict(CONF, min_success_rate=0, max_p99_ms=0), LABELS, "h")
    assert out["result"] == "pass" and len(prom.queries) == 1


def params(**kw):
    out = dict(namespace="shop", virtual_service="users", stable_subset="stable", canary_subset="canary",
               action="run", steps=[{"weight": 10, "pause": "30s", "analysis": True, "mirror": None}],
               step_weight=None, max_weight=100, step_pause=60, match=[], prometheus_url="http://p",
               analysis={})
    out.update(kw)
    return out


def test_durations_and_the_plan_of_steps():
    cfg = canary_params.validate_params(params(steps=[
        {"weight": 10, "pause": "1m30s", "analysis": True, "mirror": None},
        {"weight": 40, "pause": 2, "analysis": False, "mirror": 20},
        {"weight": 100, "pause": "manual", "analysis": True, "mirror": None}]))
    assert [(s["weight"], s["pause"], s["mirror"]) for s in cfg["plan"]] == [(10, 90.0, None), (40, 2.0, 20),
                                                                             (100, "manual", None)]
    cfg = canary_params.validate_params(params(steps=None, step_weight=30, max_weight=90, step_pause="500ms"))
    assert [(s["weight"], s["pause"]) for s in cfg["plan"]] == [(30, 0.5), (60, 0.5), (90, 0.5)]
    assert cfg["analysis"]["window"] == 60.0 and cfg["analysis"]["on_no_data"] == "fail"
    assert cfg["destination_rule"] == "users"
    assert rollout.plan_view(cfg["plan"])[2] == {"step": 2, "stable_weight": 10, "canary_weight": 90, "mirror": None,
                                                 "pause": 0.5, "analysis": True}


@pytest.mark.parametrize("kw, expected", [
    ({"steps": [{"weight": 120, "pause": 0, "analysis": True, "mirror": None}]}, "steps[0].weight"),
    ({"steps": [{"weight": 10, "pause": "soon", "analysis": True, "mirror": None}]},
     "steps[0].pause: 'soon' is not a duration"),
    ({"steps": [{"weight": 10, "pause": -1, "analysis": True, "mirror": None}]}, "steps[0].pause"),
    ({"steps": [{"weight": 10, "pause": 0, "analysis": True, "mirror": 150}]}, "steps[0].mirror"),
    ({"steps": None, "step_weight": 0}, "step_weight"),
    ({"steps": None, "step_weight": 50, "max_weight": 20}, "max_weight"),
    ({"steps": None}, "steps: give the steps"),
    ({"prometheus_url": None}, "prometheus_url: is needed"),
    ({"canary_subset": "stable"}, "canary_subset: must differ"),
    ({"canary_labels": {"version": "v 2"}}, "canary_labels.version"),
    ({"namespace": "Shop"}, "namespace: 'Shop' is not a valid namespace name"),
    ({"match": [{"header": {"x": "y"}}]}, "match[0].header: unknown key 'header'"),
    ({"match": [{"headers": {"x": {"exactly": "y"}}}]}, "match[0].headers.x.exactly: unknown key"),
    ({"match": [{"name": "only-a-name"}]}, "match[0]: matches every request"),
    ({"analysis": {"window": "0s"}}, "analysis.window: must be longer than 0"),
    ({"analysis": {"interval": "fast"}}, "analysis.interval"),
    ({"analysis": {"min_success_rate": 1.5}}, "analysis.min_success_rate"),
    ({"analysis": {"failure_limit": -1}}, "analysis.failure_limit"),
    ({"analysis": {"metric_labels": {"bad-label": "x"}}}, "analysis.metric_labels.bad-label"),
    ({"analysis": {"queries": [{"name": "q", "query": "up"}]}}, "analysis.queries[0]: needs min or max"),
    ({"analysis": {"queries": [{"name": "q", "query": "up", "min": 2, "max": 1}]}}, "min 2 is greater than max 1"),
    ({"analysis": {"queries": [{"name": "requests", "query": "up", "min": 1}]}}, "a built-in check's name"),
    # nested keys, required keys and types: named with their path, as validate.options reports them
    ({"steps": [{"weight": 10, "pase": 2}]},
     "steps[0].pase: unknown key 'pase': the allowed keys are weight, pause, analysis, mirror"),
    ({"steps": [{"weight": 10}, {"wieght": 20}]}, "steps[1].weight: is required"),
    ({"steps": [{"weight": 10}, {"wieght": 20}]}, "steps[1].wieght: unknown key 'wieght'"),
    ({"steps": [{"weight": "ten"}]}, "steps[0].weight: must be a whole number, not 'ten'"),
    ({"steps": [{"weight": 10, "analysis": "maybe"}]}, "steps[0].analysis: must be true or false, not 'maybe'"),
    ({"steps": [{"weight": 10, "pause": "-30s"}]}, "steps[0].pause: '-30s' is negative"),
    ({"analysis": {"windw": "1m"}}, "analysis.windw: unknown key 'windw': the allowed keys are interval, window"),
    ({"analysis": {"on_no_data": "ignore"}}, "analysis.on_no_data: 'ignore' is not one of fail, hold, skip"),
    ({"analysis": {"hold_timeout": -5}}, "analysis.hold_timeout: -5 is negative"),
    ({"analysis": {"min_requests": "many"}}, "analysis.min_requests: must be a whole number, not 'many'"),
    ({"analysis": {"queries": [{"name": "q", "qeury": "up", "max": 1}]}},
     "analysis.queries[0].qeury: unknown key 'qeury': the allowed keys are name, query, min, max"),
    ({"analysis": {"queries": [{"name": "q", "qeury": "up", "max": 1}]}}, "analysis.queries[0].query: is required"),
    ({"analysis": {"queries": [{"name": "q", "query": "up", "max": "high"}]}},
     "analysis.queries[0].max: must be a number, not 'high'"),
    ({"analysis": {"queries": ["up"]}}, "analysis.queries[0]: must be a mapping"),
    ({"prometheus_timeout": -1}, "prometheus_timeout: must be a positive whole number of seconds"),
    ({"prometheus_url": "prometheus:9090"}, "prometheus_url: 'prometheus:9090' is not an http:// or https:// URL"),
    ({"prometheus_headers": {"X-Org": 1}}, "prometheus_headers.X-Org: must be a string"),
])
def test_invalid_options_are_named_by_their_path(kw, expected):
    with pytest.raises(InputError) as err:
        canary_params.validate_params(params(**kw))
    assert expected in str(err.value) and "nothing was written" in str(err.value)


def test_all_problems_are_reported_at_once():
    with pytest.raises(InputError) as err:
        canary_params.validate_params(params(namespace="A", steps=[{"weight": 101, "pause": "x", "analysis": True,
                                                                    "mirror": None}]))
    assert str(err.value).startswith("3 invalid value(s)")


def test_a_header_given_as_text_is_an_exact_match():
    cfg = canary_params.validate_params(params(match=[{"headers": {"x-canary-user": "true",
                                                                   "cookie": {"regex": ".*beta.*"}}}]))
    assert cfg["match"] == [{"headers": {"x-canary-user": {"exact": "true"}, "cookie": {"regex": ".*beta.*"}}}]


def test_nested_values_are_converted_as_ansible_converts_options():
    cfg = canary_params.validate_params(params(steps=[{"weight": "10", "analysis": "no", "mirror": "5"},
                                                      {"weight": 100.0, "pause": "1m"}],
                                               analysis={"min_requests": "3", "queries": [
                                                   {"name": "errors", "query": "up", "max": "1"}]}))
    assert cfg["plan"] == [{"weight": 10, "pause": 0.0, "analysis": False, "mirror": 5.0},
                           {"weight": 100, "pause": 60.0, "analysis": True, "mirror": None}]
    assert cfg["analysis"]["min_requests"] == 3 and cfg["analysis"]["interval"] == 10.0
    assert cfg["analysis"]["queries"] == [{"name": "errors", "query": "up", "min": None, "max": 1.0}]


def test_the_nested_specs_are_the_documented_suboptions():
    """The argument spec takes steps and analysis as plain mappings (canary_params checks them), so
    validate-modules no longer compares their suboptions with the docs: this test does."""
    import yaml
    docs = yaml.safe_load(canary_shift.DOCUMENTATION)["options"]

    def same(documented, spec, where):
        assert sorted(documented) == sorted(spec), where
        for key, rule in spec.items():
            doc = documented[key]
            for field in ("type", "required", "choices", "elements"):
                assert doc.get(field) == rule.get(field), "{0}.{1}: {2}".format(where, key, field)
            assert doc.get("default") == rule.get("default"), "{0}.{1}: default".format(where, key)
            if rule.get("options"):
                same(doc["suboptions"], rule["options"], where + "." + key)

    same(docs["steps"]["suboptions"], canary_params.STEP, "steps")
    same(docs["analysis"]["suboptions"], canary_params.ANALYSIS, "analysis")


def test_the_argument_spec_owns_types_choices_and_exclusivity():
    spec = canary_shift.argspec()
    assert arg_errors(spec, {"namespace": "a", "virtual_service": "b", "action": "rollback"})
    assert arg_errors(spec, {"namespace": "a", "virtual_service": "b", "steps": ["ten"]})
    assert arg_errors(spec, {"namespace": "a", "virtual_service": "b", "steps": [{"weight": 10}], "step_weight": 10},
                      mutually_exclusive=[("steps", "step_weight")])
    assert spec["prometheus_bearer_token"]["no_log"] is True
    assert not arg_errors(spec, {"namespace": "a", "virtual_service": "b", "steps": [{"weight": 10, "pause": "1m"}]})


def test_matches_combine_with_the_routes_own():
    own = [{"uri": {"prefix": "/api"}}, {"headers": {"x-a": {"exact": "1"}}}]
    extra = [{"headers": {"x-canary": {"exact": "true"}}}]
    combined, conflicts = shift.combine_matches(own, extra)
    assert combined == [{"uri": {"prefix": "/api"}, "headers": {"x-canary": {"exact": "true"}}},
                        {"headers": {"x-a": {"exact": "1"}, "x-canary": {"exact": "true"}}}]
    assert conflicts == []
    assert shift.combine_matches(own, [{"uri": {"prefix": "/other"}}])[1] == ["uri"]
    assert shift.combine_matches(None, extra) == (extra, [])


def test_mesh_traffic_defers_the_rollouts_fields_only():
    state = {"route": "default", "header_routes": ["default-canary"], "stable": "stable", "canary": "canary"}
    live = [{"name": "default-canary", "match": [{"headers": {"x": {"exact": "1"}}}], "route": [{"destination": {
        "host": "h", "subset": "canary"}}]},
        {"name": "default", "route": [{"destination": {"host": "h", "subset": "stable"}, "weight": 70},
                                      {"destination": {"host": "h", "subset": "canary"}, "weight": 30}],
         "timeout": "1s"}]
    declared = [{"name": "other", "route": [{"destination": {"host": "o"}}]},
                {"name": "default", "route": [{"destination": {"host": "h", "subset": "stable"}}], "timeout": "5s"}]
    out = shift.defer_http(declared, live, state)
    assert [r["name"] for r in out] == ["other", "default-canary", "default"]
    assert out[2]["timeout"] == "5s" and out[2]["route"] == live[1]["route"]  # the declaration's own settings win
    assert shift.defer_http(declared, [], state) == declared
    subsets = shift.defer_subsets([{"name": "stable", "labels": {"v": "1"}}, {"name": "x", "labels": {"v": "x"}}],
                                  [{"name": "stable", "labels": {"v": "2"}}, {"name": "canary", "labels": {"v": "3"}}],
                                  state)
    assert subsets == [{"name": "stable", "labels": {"v": "2"}}, {"name": "x", "labels": {"v": "x"}},
                       {"name": "canary", "labels": {"v": "3"}}]


def test_times_round_trip_and_the_pause_left():
    assert rollout.rfc3339(1800000000.25) == "2027-01-15T08:00:00.250Z"
    assert rollout.epoch("2027-01-15T08:00:00.250Z") == 1800000000.25
    assert rollout.epoch("2027-01-15T08:00:00Z") == 1800000000.0 and rollout.epoch("yesterday") is None
    state = {"step": 0, "steps": [{"weight": 10, "pause": 10.0}], "step_started": rollout.rfc3339(1000.0)}
    assert rollout.pause_left(state, 1004.0) == 6.0 and rollout.pause_left(state, 2000.0) == 0.0
    assert rollout.pause_left(dict(state, steps=[{"weight": 1, "pause": "manual"}]), 0) == "manual"
