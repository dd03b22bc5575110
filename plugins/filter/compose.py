# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the compose_validate role: reading the engine's answers, finding the failed services,
masking secrets, the failure report, and the smoke requests' placeholders and saved values."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import re

try:
    import yaml
except ImportError:  # pragma: no cover - ansible-core requires PyYAML
    yaml = None

SECRET_NAME = re.compile(r"(?i)pass|secret|token|key|credential")
URL_PASSWORD = re.compile(r"://[^:/@\s]+:([^@\s]+)@")
HEALTHY = ("ok", "up", "healthy", "pass", "passing", "serving")


def compose_ps(stdout):
    """Containers from ``ps --format json``: podman prints a JSON array, docker compose one object a line."""
    text = (stdout or "").strip()
    if text.startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def compose_states(containers):
    """{service: state}, with the exit code of a container that exited with one."""
    out = {}
    for c in containers or []:
        svc = c.get("Service") or (c.get("Labels") or {}).get("com.docker.compose.service") or c.get("Names") or "?"
        state = str(c.get("State") or "?").lower()
        if c.get("ExitCode") not in (None, 0):
            state += " (exit code {0})".format(c["ExitCode"])
        out[str(svc)] = state
    return out


def compose_names(containers):
    """Container names (for what a teardown left)."""
    out = []
    for c in containers or []:
        names = c.get("Names", c.get("Name", "?"))
        out.append(",".join(names) if isinstance(names, list) else str(names))
    return out


def compose_failed_services(states, services, health=None, started=True):
    """(failed, not_started): services that stopped or that an aggregated health answer
    ({"backends": {"users": {"status": "error"}}}, or Spring-style components) reports unhealthy; when none,
    those never started (created but waiting for a dependency, or without a container)."""
    if not started:
        return {"failed": [], "not_started": []}
    stopped = [s for s, state in states.items() if not re.match(r"running|created", state) and s in services]
    unhealthy = []
    for group in (health.values() if isinstance(health, dict) else []):
        for name, entry in (group.items() if isinstance(group, dict) else []):
            if isinstance(entry, dict) and "status" in entry and str(entry["status"]).lower() not in HEALTHY:
                if name in services:
                    unhealthy.append(name)
    running = [s for s, state in states.items() if not re.match(r"created", state)]
    not_started = [s for s in services if s not in running]
    failed = list(dict.fromkeys(stopped + unhealthy))
    return {"failed": failed or not_started, "not_started": not_started}


def _environment(svc):
    env = svc.get("environment") or {}
    if isinstance(env, dict):
        return [(str(k), "" if v is None else str(v)) for k, v in env.items()]
    return [(e.split("=", 1)[0], e.split("=", 1)[1] if "=" in e else "") for e in env]


def compose_secrets(services):
    """Values to mask in every report: of variables named like secrets, and passwords in URLs."""
    out = []
    for svc in (services or {}).values():
        for key, value in _environment(svc):
            if SECRET_NAME.search(key) and value:
                out.append(value)
            out.extend(URL_PASSWORD.findall(value))
    return list(dict.fromkeys(out))


def compose_problems(services):
    """What podman-compose's config does not check: no services, neither image nor build, undefined dependencies."""
    services = services or {}
    out = [] if services else ["no services defined"]
    for name, svc in services.items():
        if "image" not in svc and "build" not in svc:
            out.append("service {0} has neither image nor build".format(name))
        for dep in svc.get("depends_on") or []:
            if dep not in services:
                out.append("service {0} depends on undefined service {1}".format(name, dep))
    return out


def compose_file_problems(results):
    """What is wrong with the compose files, from ``ansible.builtin.slurp`` results (a loop over the files): a
    file that cannot be read, named with its path and the reason; YAML that does not parse, with the line and
    column of the error; a top level that is not a mapping. Empty when all are readable compose YAML."""
    out = []
    for i, result in enumerate(results or []):
        path = result.get("item") or result.get("source") or "?"
        where = "compose_validate_files[{0}]: {1}".format(i, path)
        if result.get("content") is None:
            out.append("{0}: cannot be read: {1}".format(where, result.get("msg") or "unknown error"))
            continue
        try:
            doc = yaml.safe_load(base64.b64decode(result["content"]).decode("utf-8", "replace"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = " at line {0}, column {1}".format(mark.line + 1, mark.column + 1) if mark is not None else ""
            problem = " ".join(str(p) for p in (getattr(exc, "context", None), getattr(exc, "problem", None)) if p)
            out.append("{0}: not valid YAML{1}: {2}".format(where, at, problem or str(exc).splitlines()[0]))
            continue
        if not isinstance(doc, dict):
            out.append("{0}: not a compose file (its top level is {1}, not a mapping of services, networks, "
                       "volumes...)".format(where, "empty" if doc is None else type(doc).__name__))
    return out


def compose_mask(text, secrets=()):
    """``text`` with the secrets, passwords in URLs and terminal colours taken out."""
    text = str(text)
    for secret in secrets or []:
        text = text.replace(secret, "********")
    text = re.sub(r"(://[^:/@\s]+:)[^@\s]+@", r"\1********@", text)
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def compose_report(failure, context):
    """The failure report: which step failed and why, then (once the stack was started) the failed services,
    those still waiting, the containers' states and the failed services' last log lines; masked."""
    text = 'Compose validation of {0} ({1}, project {2}) failed at "{3}": {4}'.format(
        ", ".join(context.get("files") or []), context.get("engine"), context.get("project"),
        context.get("task") or "?", str(failure.get("msg") or "").strip())
    if failure.get("rc") == 124:
        text += " (rc 124: it did not finish within its timeout and was stopped)"
    err = "\n".join((failure.get("stderr_lines") or [])[-10:])
    if err:
        text += "\n" + err
    if context.get("started"):
        failed = context.get("failed") or []
        text += "\nFailed service(s): " + (", ".join(failed) or "none singled out")
        waiting = [s for s in context.get("not_started") or [] if s not in failed]
        if waiting:
            text += "\nNot started (waiting for their dependencies): " + ", ".join(waiting)
        states = context.get("states") or {}
        text += "\nContainers: " + (", ".join("{0} {1}".format(s, st) for s, st in states.items()) or "none")
        for result in context.get("logs") or []:
            text += "\n--- last log lines of {0}:\n{1}".format(
                result.get("item"), (str(result.get("stdout") or "") + "\n" + str(result.get("stderr") or "")).strip())
    return compose_mask(text, context.get("secrets"))


def smoke_request(request, values):
    """The request with ``${name}`` placeholders replaced by saved values; a string that is only the placeholder
    takes the value with its type."""
    text = json.dumps(request)
    for key, value in (values or {}).items():
        text = text.replace('"${' + key + '}"', json.dumps(value))
        text = text.replace("${" + key + "}", json.dumps(str(value))[1:-1])
    return json.loads(text)


def smoke_values(values, save, response):
    """``values`` plus, for each name of ``save``, the value at its dotted path in the response (a number
    indexes a list); None when the path is not there."""
    out = dict(values or {})
    for name, path in (save or {}).items():
        found = response
        for part in str(path).split("."):
            if isinstance(found, list) and part.isdigit():
                found = found[int(part)] if int(part) < len(found) else None
            elif isinstance(found, dict):
                found = found.get(part)
            else:
                found = None
        out[name] = found
    return out


class FilterModule(object):
    def filters(self):
        return dict((f.__name__, f) for f in (
            compose_ps, compose_states, compose_names, compose_failed_services, compose_secrets, compose_problems,
            compose_file_problems, compose_mask, compose_report, smoke_request, smoke_values))
