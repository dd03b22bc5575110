# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bounded retry with jittered exponential backoff, for transient API errors only.

Transient: HTTP 429 and 500-504, connection refused or reset, read timeouts.
Never retried: anything else, in particular 4xx validation (400, 422), conflicts
(409), authorization (401, 403) and not-found (404): retrying those cannot help.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random
import socket
import time

try:
    from urllib3 import exceptions as urllib3_exceptions
except ImportError:  # pragma: no cover - the kubernetes client requires urllib3
    urllib3_exceptions = None

TRANSIENT_STATUS = frozenset([429, 500, 502, 503, 504])

# Total attempts (the first one included), first delay, growth, cap, in seconds.
ATTEMPTS = 5
DELAY = 0.5
BACKOFF = 2.0
MAX_DELAY = 8.0


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


def is_transient(exc):
    """True when ``exc`` is worth retrying."""
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status > 0:
        return status in TRANSIENT_STATUS
    return _transient_network_error(exc)


def retry_after(exc):
    """Seconds the server asked us to wait (``Retry-After`` on 429/503), or None."""
    headers = getattr(exc, "headers", None) or {}
    try:
        value = headers.get("Retry-After")
        return float(value) if value is not None else None
    except (TypeError, ValueError, AttributeError):
        return None


def delays(attempts=None, delay=None, backoff=None, max_delay=None):
    """The sleeps between ``attempts`` tries: full jitter on an exponential cap."""
    attempts = ATTEMPTS if attempts is None else attempts
    delay = DELAY if delay is None else delay
    backoff = BACKOFF if backoff is None else backoff
    max_delay = MAX_DELAY if max_delay is None else max_delay
    for n in range(attempts - 1):
        yield random.uniform(0, min(max_delay, delay * (backoff ** n)))


def call(fn, attempts=None, sleep=time.sleep, on_retry=None, **backoff):
    """Call ``fn()``; retry transient failures with jittered backoff.

    ``attempts`` counts every try (the first one included). The last error is
    raised as is when the bound is reached or the error is not transient.
    """
    waits = delays(attempts=attempts, **backoff)
    tried = 0
    while True:
        tried += 1
        try:
            return fn()
        except Exception as exc:  # pylint: disable=broad-except
            if not is_transient(exc):
                raise
            wait = next(waits, None)
            if wait is None:
                raise
            hint = retry_after(exc)
            if hint is not None:
                wait = min(max(wait, hint), backoff.get("max_delay") or MAX_DELAY)
            if on_retry is not None:
                on_retry(exc, tried, wait)
            sleep(wait)
