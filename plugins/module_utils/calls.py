# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""API calls as :class:`kube.Kube` makes them: counted by verb (thread-safe), retried on transient errors
(:func:`retry.call`, per call), translated into :class:`errors.ApiError` naming the action and the object,
and the client's connection pool sized for the calls in flight.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import threading
import time
from collections import Counter

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.meshops.istio.plugins.module_utils import forbidden, retry
from ansible_collections.meshops.istio.plugins.module_utils.errors import ApiError, KindNotServed, MeshError


def _api_message(exc):
    """The server's own message out of an API error body, when there is one."""
    body = getattr(exc, "body", None)
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if body:
        try:
            return json.loads(body).get("message") or body
        except (ValueError, AttributeError):
            return body
    return getattr(exc, "summary", lambda: None)() or to_native(exc)


def translate(exc, action, what):
    """Turn a client exception into an :class:`ApiError` that says what failed."""
    if isinstance(exc, MeshError):
        return exc
    status = getattr(exc, "status", None)
    if isinstance(status, int) and status > 0:
        reason = getattr(exc, "reason", None)
        msg = "Could not {0} {1}: HTTP {2}{3}: {4}".format(
            action, what, status, " " + reason if reason else "", _api_message(exc))
        rbac = forbidden.message(getattr(exc, "body", None), status, verb=action)
        msg += ". " + rbac if rbac else ""
        return ApiError(msg, status=status, reason=reason)
    if retry.is_transient(exc):
        tries = getattr(exc, "meshops_retries", None)
        return ApiError("Could not {0} {1}: the Kubernetes API server cannot be reached{2} ({3})".format(
            action, what, " after {0} tries in {1}s (retry budget: {2})".format(tries[0], tries[1], retry.BUDGET_ENV)
            if tries else "", to_native(exc)))
    name = type(exc).__name__
    if name in ("ResourceNotFoundError", "ResourceNotUniqueError"):
        return KindNotServed("Could not {0} {1}: the API server does not serve this kind; "
                             "is its CustomResourceDefinition installed?".format(action, what))
    return ApiError("Could not {0} {1}: {2}: {3}".format(action, what, name, to_native(exc)))


def combined(errors, headline, alone=True):
    """One :class:`ApiError` for several (in the order given): ``headline`` and every message; the status
    when all share one (else 0). With ``alone`` a single error is returned as it is."""
    if alone and len(errors) == 1:
        return errors[0]
    statuses = set(e.status for e in errors)
    return ApiError("{0}:\n- {1}".format(headline, "\n- ".join(e.msg for e in errors)),
                    status=statuses.pop() if len(statuses) == 1 else 0)


def plain(client, data):
    """The dynamic client's serializer that keeps the decoded JSON as it is (no ResourceInstance)."""
    return data


def fit_pool(client, size):
    """Let the client's urllib3 pool keep ``size`` connections per host (kubernetes' default is 5 per CPU):
    calls beyond the pool's size would each open, and then discard, a connection of their own. Returns
    True when the pool was resized."""
    manager = getattr(getattr(getattr(client, "client", None), "rest_client", None), "pool_manager", None)
    kw = getattr(manager, "connection_pool_kw", None)
    if kw is None or (kw.get("maxsize") or 1) >= size:
        return False
    kw["maxsize"] = size
    manager.clear()  # pools made before (discovery) are rebuilt at the new size on their next use
    return True


def new_client(module, size, sleep=time.sleep):
    """kubernetes.core's client from the module's connection options (its creation retried like a call), its pool
    sized for ``size`` calls in flight (:func:`fit_pool`); an :class:`ApiError` saying why when it cannot be made."""
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client
    try:
        client = retry.call(lambda: get_api_client(module=module).client, sleep=sleep)
    except Exception as exc:  # pylint: disable=broad-except
        if retry.is_transient(exc):
            raise ApiError("Could not create the Kubernetes API client: the Kubernetes API server "
                           "cannot be reached ({0})".format(to_native(exc)))
        raise ApiError("Could not create the Kubernetes API client: {0}".format(to_native(exc)))
    fit_pool(client, size)
    return client


class Calls:
    """Counts (by verb, thread-safe) and retries the calls of one module run."""

    def __init__(self, module, sleep=time.sleep):
        self.module = module
        self.sleep = sleep
        self.counts = Counter()
        self._lock = threading.Lock()

    def count(self, verb, n=1):
        with self._lock:
            self.counts[verb] += n

    def __call__(self, verb, action, what, fn):
        def counted():
            self.count(verb)
            return fn()
        try:
            return retry.call(counted, sleep=self.sleep, on_retry=self._on_retry)
        except Exception as exc:  # pylint: disable=broad-except
            raise translate(exc, action, what)

    def _on_retry(self, exc, attempt, wait):
        self.count("retries")
        if hasattr(self.module, "debug"):
            self.module.debug("retrying after transient error (attempt {0}, next in {1:.2f}s): {2}".format(
                attempt, wait, to_native(exc)))
