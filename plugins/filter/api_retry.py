# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Retries for roles that call kubernetes.core directly, judged as the collection's modules judge them.

``api_transient`` tells whether a failed task's result is a transient API failure (the
API server restarting or unreachable, 429, 5xx) worth retrying; ``api_retries`` turns
the collection's retry budget (``MESHOPS_RETRY_BUDGET``, 30 s by default) into a number
of retries for ``until``/``retries``/``delay``. Both decide with module_utils/retry.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

from ansible.errors import AnsibleFilterError

from ansible_collections.meshops.istio.plugins.module_utils import retry


def api_transient(result):
    """True when a task ``result`` failed for a transient reason (only its ``msg``, ``error``,
    ``reason`` and HTTP ``status`` are read); False for success or any other failure."""
    if not isinstance(result, dict) or not result.get("failed"):
        return False
    status = result.get("status")
    if isinstance(status, int) and status > 0:
        return retry.is_transient_message("", status)
    text = " ".join(str(result.get(k) or "") for k in ("msg", "error", "reason", "exception"))
    return retry.is_transient_message(text)


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


class FilterModule(object):
    def filters(self):
        return {"api_transient": api_transient, "api_retries": api_retries}
