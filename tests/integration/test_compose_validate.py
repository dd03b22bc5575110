# -*- coding: utf-8 -*-
"""The compose_validate role for real, on podman-compose: the demo shop built from local bases,
started, healthy through its gateway, an order placed through the gateway charged by payments and
stored in Postgres, then torn down; a broken compose file and a service that never becomes healthy
fail with the engine's message or the service's name, and leave nothing behind."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHOP = os.path.join(ROOT, "examples", "shop")
GATEWAY = "http://127.0.0.1:8080"

PLAYBOOK = """
- name: Validate a compose stack
  hosts: localhost
  gather_facts: false
  roles:
    - role: meshops.istio.compose_validate
"""

# Step 1 of the walkthrough: a user, an order charged through payments, both read back from Postgres.
SMOKE = [
    {"name": "create user", "url": GATEWAY + "/api/users", "method": "POST",
     "body": {"name": "Ada", "email": "ada@example.com"}, "status": [201], "save": {"user_id": "json.id"}},
    {"name": "place order", "url": GATEWAY + "/api/orders", "method": "POST",
     "body": {"user_id": "${user_id}", "product": "mesh-mug", "quantity": 2, "amount_cents": 2598},
     "status": [201], "save": {"order_id": "json.id", "payment_id": "json.payment_id"},
     "checks": ["compose_validate_response.json.status == 'paid'",
                "compose_validate_response.json.payment_id | int > 0"]},
    {"name": "stored order", "url": GATEWAY + "/api/orders/${order_id}",
     "checks": ["compose_validate_response.json.payment_id == compose_validate_smoke_values.payment_id"]},
    {"name": "payment", "url": GATEWAY + "/api/payments/${payment_id}",
     "checks": ["compose_validate_response.json.order_id == compose_validate_smoke_values.order_id",
                "compose_validate_response.json.amount_cents == 2598"]},
]


@pytest.fixture(autouse=True)
def compose_engine(lab):
    """The lab installs podman (``lab/lab.sh up`` runs ``lab/podman.sh setup``) and make venv podman-compose:
    a missing part is a failure naming its install step, never a skip."""
    if shutil.which("podman") is None:
        pytest.fail("podman is not installed: `lab/lab.sh up` installs it (lab/podman.sh setup)")
    if not os.path.exists(os.path.join(os.path.dirname(sys.executable), "podman-compose")):
        pytest.fail("podman-compose is not in the venv: `make venv` installs it (requirements.txt)")


def gateway_answers():
    try:
        urllib.request.urlopen(GATEWAY + "/health", timeout=2)
        return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture
def free_gateway_port():
    """Ports 8080/3000 are fixed by the compose file: wait for a stack someone else runs to go."""
    deadline = time.monotonic() + 300
    while gateway_answers():
        if time.monotonic() > deadline:
            pytest.fail("something keeps answering on {0}; a shop stack is running".format(GATEWAY))
        time.sleep(5)


@pytest.fixture
def playbook(tmp_path):
    path = tmp_path / "validate.yml"
    path.write_text(PLAYBOOK)
    return str(path)


@pytest.fixture
def project():
    return "meshops-cv-{0}".format(uuid.uuid4().hex[:6])


def base_vars(project, **extra):
    values = {
        "compose_validate_files": [os.path.join(SHOP, "docker-compose.yml")],
        "compose_validate_project_name": project,
        "compose_validate_prebuild_command": os.path.join(SHOP, "build.sh"),
        "compose_validate_health_url": GATEWAY + "/health",
    }
    values.update(extra)
    return values


def leftovers(project):
    """Containers, volumes and networks podman still has for the project."""
    label = "label=io.podman.compose.project={0}".format(project)
    found = {}
    for kind, args in (("containers", ["ps", "-a"]), ("volumes", ["volume", "ls"]), ("networks", ["network", "ls"])):
        proc = subprocess.run(["podman"] + args + ["--filter", label, "--format", "json"],
                              capture_output=True, text=True, check=True)
        found[kind] = json.loads(proc.stdout or "[]")
    return {kind: items for kind, items in found.items() if items}


def podman_compose_of(project):
    """Pids of podman-compose processes still working on the project."""
    proc = subprocess.run(["pgrep", "-f", "podman-compose --project-name={0} ".format(project)],
                          capture_output=True, text=True, check=False)
    return proc.stdout.split()


def test_the_shop_is_built_started_healthy_and_takes_an_order_then_torn_down(
        ansible, playbook, project, free_gateway_port):
    start = time.monotonic()
    rc, stats, out = ansible.playbook(playbook, base_vars(project, compose_validate_smoke_requests=SMOKE))
    took = time.monotonic() - start
    assert rc == 0, ansible.failure(out)
    # Validation leaves nothing behind, so nothing reports changed (and a rerun is the same).
    assert stats["localhost"]["changed"] == 0
    assert stats["localhost"]["failures"] == 0

    by_name = dict(ansible.results(out))
    assert "podman-compose" in by_name["Check the structure of the configuration"]["msg"]
    healthy = by_name["Check that the stack became healthy before the deadline"]["msg"]
    assert "answered 200" in healthy

    answers = [res["ansible_facts"]["compose_validate_smoke_results"] for name, res in ansible.results(out)
               if name.startswith("Keep the answer")][-1]
    order = answers["place order"]["json"]
    assert order["status"] == "paid" and order["payment_id"] > 0
    assert answers["stored order"]["json"]["payment_id"] == order["payment_id"]
    payment = answers["payment"]["json"]
    assert payment["order_id"] == order["id"] and payment["status"] == "captured"

    assert leftovers(project) == {}
    assert not gateway_answers(), "the gateway still answers after the teardown"
    print("shop validated in {0:.0f}s ({1})".format(took, healthy))


def test_check_mode_only_validates(ansible, playbook, project):
    rc, stats, out = ansible.playbook(playbook, base_vars(project), check=True)
    assert rc == 0, ansible.failure(out)
    ran = [name for name, res in ansible.results(out) if not res.get("skipped")]
    assert "Check the structure of the configuration" in ran
    assert not any(name in ran for name in ("Build the images", "Start the stack", "Tear the stack down"))
    assert leftovers(project) == {}


def test_a_broken_compose_file_is_named_with_the_line_of_the_yaml_error(ansible, playbook, project, tmp_path):
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  web:\n    image: localhost/x\n   ports: [\n")
    rc, stats, out = ansible.playbook(playbook, base_vars(project, compose_validate_files=[str(broken)]))
    assert rc != 0
    msg = ansible.failure(out)
    assert "compose_validate_files[0]: {0}: not valid YAML at line 4, column 4".format(broken) in msg, msg
    assert "Traceback" not in msg
    ran = [name for name, res in ansible.results(out) if not res.get("skipped")]
    assert not any(name.startswith(("Detect the compose engine", "Validate with the engine", "Build the images"))
                   for name in ran), ran
    assert leftovers(project) == {}


def test_a_service_depending_on_an_undefined_one_is_refused(ansible, playbook, project, tmp_path):
    wrong = tmp_path / "docker-compose.yml"
    wrong.write_text("services:\n  web:\n    image: localhost/x\n    depends_on: [db]\n  worker: {}\n")
    rc, stats, out = ansible.playbook(playbook, base_vars(project, compose_validate_files=[str(wrong)]))
    assert rc != 0
    msg = ansible.failure(out)
    assert "service web depends on undefined service db" in msg
    assert "service worker has neither image nor build" in msg


def test_a_service_that_never_becomes_healthy_fails_after_the_deadline_naming_it(
        ansible, playbook, project, tmp_path, free_gateway_port):
    override = tmp_path / "broken-payments.yml"
    override.write_text("services:\n  payments:\n    environment:\n"
                        "      - DATABASE_URL=postgresql://app:wrong-password@postgres:5432/payments\n")
    files = [os.path.join(SHOP, "docker-compose.yml"), str(override)]
    start = time.monotonic()
    rc, stats, out = ansible.playbook(playbook, base_vars(
        project, compose_validate_files=files, compose_validate_health_timeout=15,
        compose_validate_smoke_requests=SMOKE))
    took = time.monotonic() - start
    assert rc != 0
    msg = ansible.failure(out)
    assert "did not answer 200 within 15s" in msg, msg
    # Other services may still be starting at the deadline (Postgres on a loaded machine), so the
    # list may name more than payments; what only the broken service shows is its own log line.
    failed = re.search(r"Failed service\(s\): (.*)\n", msg)
    assert failed and "payments" in failed.group(1).split(", "), msg
    payments_log = msg.split("--- last log lines of payments:", 1)
    assert len(payments_log) == 2, msg
    assert "password authentication failed" in payments_log[1].split("--- last log lines of", 1)[0], msg
    # The passwords of the compose file are masked in the report.
    assert "wrong-password" not in msg and ":secret@" not in msg
    assert took >= 15
    assert leftovers(project) == {}
    assert not gateway_answers()


def test_a_service_that_exits_is_named_with_its_exit_code(ansible, playbook, project, tmp_path, free_gateway_port):
    override = tmp_path / "exiting-orders.yml"
    override.write_text("services:\n  orders:\n    entrypoint: [\"/bin/sh\", \"-c\", \"echo orders gives up; exit 3\"]\n")
    files = [os.path.join(SHOP, "docker-compose.yml"), str(override)]
    start = time.monotonic()
    rc, stats, out = ansible.playbook(playbook, base_vars(
        project, compose_validate_files=files, compose_validate_up_timeout=30, compose_validate_health_timeout=10))
    took = time.monotonic() - start
    assert rc != 0
    msg = ansible.failure(out)
    # podman-compose waits for api-gateway's dependencies to run: `up` never ends, and is stopped at its timeout.
    assert 'failed at "Start the stack"' in msg and "did not finish within its timeout" in msg, msg
    assert "Failed service(s): orders\n" in msg, msg
    assert "Not started (waiting for their dependencies): api-gateway, frontend" in msg
    assert "orders exited (exit code 3)" in msg
    assert "--- last log lines of orders:\norders gives up" in msg
    assert took < 120
    assert leftovers(project) == {}
    assert not podman_compose_of(project), "a podman-compose process of the project is still running"
