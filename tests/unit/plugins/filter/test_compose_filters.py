# -*- coding: utf-8 -*-
"""The compose_validate role's filters: engine answers, failed services, secrets, the report, smoke
placeholders and saved values."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

from ansible_collections.meshops.istio.plugins.filter import compose as f


def test_compose_ps_reads_podman_arrays_and_docker_lines():
    items = [{"Service": "web", "State": "running"}, {"Service": "db", "State": "exited", "ExitCode": 3}]
    assert f.compose_ps(json.dumps(items)) == items
    assert f.compose_ps("\n".join(json.dumps(i) for i in items) + "\n") == items
    assert f.compose_ps("") == []


def test_states_names_and_exit_codes():
    items = [{"Service": "web", "State": "Running"},
             {"Labels": {"com.docker.compose.service": "db"}, "State": "exited", "ExitCode": 3},
             {"Names": ["proj_x_1"], "State": "created"}]
    assert f.compose_states(items) == {"web": "running", "db": "exited (exit code 3)", "['proj_x_1']": "created"}
    assert f.compose_names([{"Names": ["a", "b"]}, {"Name": "c"}, {}]) == ["a,b", "c", "?"]


def test_failed_services_stopped_and_unhealthy_else_not_started():
    services = ["web", "db", "users", "orders"]
    states = {"web": "running", "db": "exited (exit code 1)", "users": "running", "orders": "created"}
    health = {"backends": {"users": {"status": "error"}, "web": {"status": "ok"}, "other": {"status": "down"}},
              "status": "degraded"}
    expect = {"failed": ["db", "users"], "not_started": ["orders"]}
    assert f.compose_failed_services(states, services, health) == expect
    quiet = {"web": "running", "db": "running", "users": "running", "orders": "created"}
    assert f.compose_failed_services(quiet, services, {}) == {"failed": ["orders"], "not_started": ["orders"]}
    assert f.compose_failed_services(states, services, health, started=False) == {"failed": [], "not_started": []}


def test_secrets_and_problems_of_the_resolved_configuration():
    services = {"db": {"image": "pg", "environment": {"POSTGRES_PASSWORD": "s3cret", "MODE": "x", "API_KEY": None}},
                "api": {"build": ".", "environment": ["DB_URL=postgres://u:pw@db/x", "TOKEN="],
                        "depends_on": ["db", "cache"]},
                "bad": {}}
    assert f.compose_secrets(services) == ["s3cret", "pw"]
    assert f.compose_problems(services) == ["service api depends on undefined service cache",
                                            "service bad has neither image nor build"]
    assert f.compose_problems({}) == ["no services defined"]


def test_report_masks_and_names_what_failed():
    failure = {"msg": "non-zero return code", "rc": 124, "stderr_lines": ["x"] * 12 + ["\x1b[31mfailed s3cret\x1b[0m"]}
    context = {"files": ["a.yml"], "engine": "podman", "project": "p", "task": "Start the stack", "started": True,
               "failed": ["db"], "not_started": ["db", "api"], "states": {"db": "exited (exit code 1)"},
               "logs": [{"item": "db", "stdout": "url postgres://u:pw@db/x", "stderr": ""}], "secrets": ["s3cret"]}
    text = f.compose_report(failure, context)
    assert text.startswith('Compose validation of a.yml (podman, project p) failed at "Start the stack": '
                           'non-zero return code (rc 124: it did not finish within its timeout and was stopped)')
    assert "failed ********" in text and "s3cret" not in text and "\x1b" not in text
    assert "Failed service(s): db\nNot started (waiting for their dependencies): api" in text
    assert "Containers: db exited (exit code 1)" in text
    assert "--- last log lines of db:\nurl postgres://u:********@db/x" in text
    assert f.compose_report({"msg": "x"}, {"started": False}).endswith(': x')


def test_smoke_placeholders_keep_types_and_saved_values_follow_paths():
    request = {"url": "http://h/orders/${order_id}", "body": {"user": "${user_id}", "note": "for ${name}"}}
    filled = f.smoke_request(request, {"order_id": 7, "user_id": 42, "name": "Ann"})
    assert filled == {"url": "http://h/orders/7", "body": {"user": 42, "note": "for Ann"}}
    response = {"json": {"id": 5, "items": [{"sku": "a"}]}, "status": 201}
    saved = f.smoke_values({"old": 1}, {"id": "json.id", "sku": "json.items.0.sku", "none": "json.nope.x",
                                        "far": "json.items.3"}, response)
    assert saved == {"old": 1, "id": 5, "sku": "a", "none": None, "far": None}


def _slurped(path, text):
    return {"item": path, "content": base64.b64encode(text.encode()).decode(), "failed": False}


def test_compose_file_problems_names_a_missing_file_and_the_line_of_broken_yaml():
    results = [
        {"item": "/srv/missing.yml", "failed": True, "msg": "file not found: /srv/missing.yml"},
        _slurped("/srv/broken.yml", "services:\n  web:\n    image: web\n   ports: [8080]\n"),
        _slurped("/srv/list.yml", "- a\n- b\n"),
        _slurped("/srv/ok.yml", "services:\n  web:\n    image: web\n"),
    ]
    found = f.compose_file_problems(results)
    assert found[0] == "compose_validate_files[0]: /srv/missing.yml: cannot be read: file not found: /srv/missing.yml"
    assert found[1].startswith("compose_validate_files[1]: /srv/broken.yml: not valid YAML at line 4, column 4: ")
    assert "Traceback" not in found[1]
    assert found[2] == ("compose_validate_files[2]: /srv/list.yml: not a compose file (its top level is list, not a "
                        "mapping of services, networks, volumes...)")
    assert len(found) == 3
