# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Retries and messages for roles that call kubernetes.core directly, judged as the collection's modules judge them.

``api_transient`` tells whether a failed task's result is a transient API failure (the
API server restarting or unreachable, 429, 5xx) worth retrying; ``api_retries`` turns
the collection's retry budget (``MESHOPS_RETRY_BUDGET``, 30 s by default) into a number
of retries for ``until``/``retries``/``delay``. Both decide with module_utils/retry.py. ``api_failure`` turns
kubernetes.core's failure (``Failed to create object: b'{"kind":"Status"...``) into the message the modules give.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import json
import math
import re

from ansible.errors import AnsibleFilterError

from ansible_collections.meshops.istio.plugins.module_utils import forbidden, retry

# kubernetes.core's failures: "Failed to create object: b'{"kind":"Status",...}'" (the raw response body).
_K8S_FAILURE = re.compile(r"^Failed to (create|patch|apply|replace|delete|retrieve requested) object: (b'.*'|\{.*\})\s*$",
                          re.S)
_ACTIONS = {"retrieve requested": "read"}


def api_transient(result):
    """True when a task ``result`` failed for a transient reason (only its ``msg``, ``error``,
    ``reason`` and HTTP ``status`` are read); False for success or any other failure."""
    if not isinstance(result, dict) or not result.get("failed"):
        return False
    status = result.get("status")
    if isinstance(status, int) and status > 0:
        return retry.is_transient_message("", status)
    text = " ".join(str(result.get(k) or "") for k in ("msg", "error", "reason"))
    if not text.strip() and result.get("exception"):
        # kubernetes.core raises (instead of failing with a message) when it cannot reach the API server while it
        # sets up its client, and ansible-core >= 2.19 hands ``until`` only the exception's presence, its message
        # coming later: such a crash counts as transient, so it is retried within the budget (a crash of another
        # kind then fails with its message once the budget is spent).
        return True
    return retry.is_transient_message(text + " " + str(result.get("exception") or ""))


def api_retries(delay, budget=None):
    """How many retries ``delay`` seconds apart fit in ``budget`` seconds (default: the collection's
    retry budget); at least 0."""
    try:
        seconds = retry.budget(budget)
        delay = float(delay)
    except (TypeError, ValueError) as exc:
        raise AnsibleFilterError("api_retries: {0}".format(exc))
    if delay <= 0:
        raise AnsibleFilterError("api_retries: the delay must be a positive number of seconds, got {0}".format(delay))
    return int(math.ceil(seconds / delay))


def _status(raw):
    try:
        body = ast.literal_eval(raw) if raw.startswith("b'") else raw
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        data = json.loads(body)
    except (ValueError, SyntaxError):
        return None
    return data if isinstance(data, dict) and data.get("kind") == "Status" else None


def api_failure(result, what=None):
    """The message of a failed kubernetes.core task as the collection's modules put it: the action, the object
    (``what``, such as ``Secret istio-system/shop-gateway-tls``; default the kind and name the server names), the
    HTTP status and the server's own message, and for a 403 the RBAC rule to add; never the raw response body.
    Other messages are returned as they are. A loop's result gives one line per failed item, prefixed by it."""
    if not isinstance(result, dict):
        return str(result)
    if isinstance(result.get("results"), list):
        lines = ["{0}: {1}".format(r.get("item"), api_failure(r, what)) for r in result["results"]
                 if isinstance(r, dict) and r.get("failed")]
        return "\n".join(lines) or str(result.get("msg") or "")
    msg = str(result.get("msg") or "")
    found = _K8S_FAILURE.match(msg.strip())
    status = _status(found.group(2)) if found else None
    if status is None:
        return msg
    action = _ACTIONS.get(found.group(1), found.group(1))
    if what is None:
        details = status.get("details") or {}
        what = " ".join(str(p) for p in (details.get("kind") or "object", details.get("name")) if p)
    code = status.get("code") or result.get("status") or 0
    text = "Could not {0} {1}: HTTP {2}{3}: {4}".format(action, what, code, " " + status["reason"] if status.get(
        "reason") else "", status.get("message") or "no message")
    rbac = forbidden.message(status, code, verb=action)
    return text + (". " + rbac if rbac else "")


class FilterModule(object):
    def filters(self):
        return {"api_transient": api_transient, "api_retries": api_retries, "api_failure": api_failure}
