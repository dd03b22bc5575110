# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Retry with jittered, bounded backoff within a time budget, for transient API errors only.

Transient: HTTP 429 and 500-504, connection refused or reset, read timeouts.
Never retried: anything else, in particular 4xx validation (400, 422), conflicts
(409), authorization (401, 403) and not-found (404): retrying those cannot help; nor
the HTTP 500 the API server answers when the request itself is malformed (a body whose
field has the wrong type: "failed to create typed patch object", :data:`MALFORMED_500`),
while every other 500 (an etcd timeout, ...) stays transient.

The budget (``BUDGET`` seconds, 30 by default: long enough to ride out a restart of
the control plane) bounds the time spent retrying one call; the environment variable
``MESHOPS_RETRY_BUDGET`` overrides it (seconds; 0 turns retries off). It is read here
and nowhere else (:func:`budget`).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import random
import re
import socket
import time

try:
    from urllib3 import exceptions as urllib3_exceptions
except ImportError:  # pragma: no cover - the kubernetes client requires urllib3
    urllib3_exceptions = None

TRANSIENT_STATUS = frozenset([429, 500, 502, 503, 504])

# What the API server says in an HTTP 500 about a request that cannot succeed however often it is sent: the body
# does not fit the kind's schema (server-side apply: "failed to create typed patch object (...): .spec.replicas:
# expected numeric (int or float), got string"; an update: "failed to convert new object (...) to smd typed").
MALFORMED_500 = re.compile(r"failed to create typed patch object|failed to convert new object \(.*\) to smd typed",
                           re.IGNORECASE)

BUDGET_ENV = "MESHOPS_RETRY_BUDGET"
# Seconds spent retrying one call at most; first delay, growth and cap of the delays.
BUDGET = 30.0
DELAY = 0.5
BACKOFF = 2.0
MAX_DELAY = 4.0
# An optional bound on the tries (the first one included); None: the budget alone bounds them.
ATTEMPTS = None

# What a transient failure looks like in a message (a failed task's ``msg``, for roles that
# call kubernetes.core directly): the same classes as is_transient() judges on exceptions.
_TRANSIENT_TEXT = re.compile(
    r"NewConnectionError|ConnectTimeoutError|ReadTimeoutError|ProtocolError|RemoteDisconnected"
    r"|Connection (refused|reset|aborted)|Max retries exceeded|Read timed out|connect timeout"
    r"|\b(HTTP |status[\":= ]*|\()(429|50[0-4])\b"
    r"|Too Many Requests|Internal Server Error|Service Unavailable|Bad Gateway|Gateway Timeout",
    re.IGNORECASE)


def budget(value=None):
    """The retry budget in seconds: ``value`` when given, else ``MESHOPS_RETRY_BUDGET``, else BUDGET.

    Raises ValueError naming the variable when it is not a number >= 0.
    """
    source = "retry budget"
    if value is None:
        value = os.environ.get(BUDGET_ENV)
        source = BUDGET_ENV
        if value is None or str(value).strip() == "":
            return BUDGET
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = -1.0
    if not seconds >= 0:  # also catches NaN
        raise ValueError("{0} must be a number of seconds >= 0, got {1!r}".format(source, value))
    return seconds


def _transient_network_error(exc):
    if isinstance(exc, (ConnectionError, socket.timeout)):
        return True  # ConnectionRefusedError, ConnectionResetError, BrokenPipeError
    if urllib3_exceptions is None:
        return False
    if isinstance(exc, (urllib3_exceptions.ProtocolError, urllib3_exceptions.NewConnectionError,
                        urllib3_exceptions.ReadTimeoutError, urllib3_exceptions.ConnectTimeoutError)):
        return True
    if isinstance(exc, urllib3_exceptions.MaxRetryError):
        return exc.reason is None or _transient_network_error(exc.reason)
    return False


def _server_message(exc):
    """The message of the API server's Status in the error's body (else the body, or the reason)."""
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if isinstance(body, str) and body:
        try:
            return str(json.loads(body).get("message") or body)
        except (ValueError, AttributeError):
            return body
    return str(getattr(exc, "reason", None) or "")


def is_transient(exc):
    """True when ``exc`` is worth retrying."""
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status > 0:
        if status == 500 and MALFORMED_500.search(_server_message(exc)):
            return False
        return status in TRANSIENT_STATUS
    return _transient_network_error(exc)


def is_transient_message(text, status=None):
    """True when a failure, known only by its message (and HTTP ``status`` when there is one),
    is transient: the judgement of :func:`is_transient` for what kubernetes.core reports."""
    if text and MALFORMED_500.search(str(text)):
        return False
    if isinstance(status, int) and status > 0:
        return status in TRANSIENT_STATUS
    return bool(text) and _TRANSIENT_TEXT.search(str(text)) is not None


def retry_after(exc):
    """Seconds the server asked us to wait (``Retry-After`` on 429/503), or None."""
    headers = getattr(exc, "headers", None) or {}
    try:
        value = headers.get("Retry-After")
        return float(value) if value is not None else None
    except (TypeError, ValueError, AttributeError):
        return None


def delays(attempts=None, delay=None, backoff=None, max_delay=None):
    """The sleeps between tries: exponential growth up to ``max_delay``, each jittered between
    half and all of it (so the waits add up to the budget in a predictable number of tries).
    Endless unless ``attempts`` bounds the tries."""
    attempts = ATTEMPTS if attempts is None else attempts
    delay = DELAY if delay is None else delay
    backoff = BACKOFF if backoff is None else backoff
    max_delay = MAX_DELAY if max_delay is None else max_delay
    n = 0
    while attempts is None or n < attempts - 1:
        cap = min(max_delay, delay * (backoff ** min(n, 64)))
        yield random.uniform(cap / 2.0, cap)
        n += 1


def call(fn, attempts=None, sleep=time.sleep, on_retry=None, budget_s=None, clock=time.monotonic, **backoff):
    """Call ``fn()``; retry transient failures with jittered backoff until the budget is spent.

    ``budget_s`` is the time budget in seconds (default :func:`budget`); time counts both
    the waits and the tries themselves, so a test's fake ``sleep`` ends it as surely as a
    real one. ``attempts``, when given, also bounds the tries (the first one included).
    A ``Retry-After`` the server sends is honoured, within the budget. The last error is
    raised as is when the budget is spent or the error is not transient; it carries
    ``meshops_retries`` = (tries, seconds spent) once it was retried.
    """
    limit = budget() if budget_s is None else budget(budget_s)
    waits = delays(attempts=attempts, **backoff)
    start = clock()
    waited = 0.0
    tried = 0
    while True:
        tried += 1
        try:
            return fn()
        except Exception as exc:  # pylint: disable=broad-except
            if not is_transient(exc):
                raise
            spent = max(waited, clock() - start)
            left = limit - spent
            wait = next(waits, None)
            if wait is None or left <= 0:
                if tried > 1:
                    try:
                        exc.meshops_retries = (tried, round(spent, 1))
                    except AttributeError:  # pragma: no cover - an exception type with __slots__
                        pass
                raise
            hint = retry_after(exc)
            if hint is not None:
                wait = max(wait, hint)
            wait = min(wait, left)
            if on_retry is not None:
                on_retry(exc, tried, wait)
            sleep(wait)
            waited += wait
