# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """What every meshops.istio module shares: check and diff mode, requirements, the result contract
    (``meshops.istio.common``); the ``state`` option (``meshops.istio.common.state``); the ``wait_timeout``
    option (``meshops.istio.common.wait``); the ``concurrency`` option of the modules that write many objects
    (``meshops.istio.common.concurrency``); the attributes of a module that only reads
    (``meshops.istio.common.read_only``, listed before ``meshops.istio.common``)."""

    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    support: full
    description: Every write is a server-side dry run (C(dryRun=All)), so the API server and its admission webhooks
      judge it; nothing is written and nothing is waited for.
  diff_mode:
    support: full
    description: Shows each object created, updated or deleted, before and after (server-managed fields left out).
requirements:
  - python >= 3.9
  - kubernetes >= 24.2.0
notes:
  - Every object that may change is dry-run on the server before any is written, so nothing is written unless the
    API server accepts all of them; transient API errors (HTTP 429, 5xx, connection resets) are retried with
    bounded, jittered backoff.
  - An object is not dry-run when an apply could neither change nor remove anything of it, that is when every field
    it declares is live with the same value and the field manager C(meshops) owns (its server-side apply entry in
    C(metadata.managedFields)) exactly the fields it declares. So a rerun that changes nothing only lists the live
    objects, one list per kind and namespace.
  - C(changed) is true when a write was sent (in check mode, would be); server-managed fields (resourceVersion,
    generation, managedFields, timestamps, status) are ignored when comparing before and after, so a second run
    with the same input writes nothing.
  - O(kubeconfig) given as a path is logged as given (a missing file fails naming the option and the path); given
    inline as a dict, its credentials (tokens, keys, passwords, OIDC and exec-plugin secrets) are masked in the logged
    invocation, the returned C(invocation) and every message.
  - Every module returns C(objects) (kind, apiVersion, namespace, name and action of each object it changed) and
    C(api_calls) (the Kubernetes API requests made, by verb); an HTTP 403 says that the credentials lack an RBAC
    permission and whether anything was written.
"""

    STATE = r"""
options:
  state:
    description: Whether the objects should exist (C(present)) or be removed (C(absent)).
    type: str
    choices: [present, absent]
    default: present
"""

    READ_ONLY = r"""
attributes:
  check_mode:
    support: full
    description: Reads as in a normal run (it never writes); does not wait.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to show.
"""

    WAIT = r"""
options:
  wait_timeout:
    description: Seconds to wait for what the module waits for (rollouts, CRDs, readiness); a whole number, 1 or more.
    type: int
    default: 300
"""

    CONCURRENCY = r"""
options:
  concurrency:
    description:
      - How many API requests of a batch are in flight at once (the server-side dry runs, the writes, the reads
        of the live objects, the deletions of pruned objects). CustomResourceDefinitions are written before
        Namespaces, and Namespaces before everything else; results and errors are reported in the order of the
        objects.
      - C(1) sends the requests one after the other.
    type: int
    default: 8
"""
