# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The options of the modules that query Prometheus (``meshops.istio.prometheus``), the argument spec
    ``prometheus.ARG_SPEC`` in module_utils."""

    DOCUMENTATION = r"""
options:
  prometheus_url:
    description:
      - Base URL of the Prometheus HTTP API, for example C(http://prometheus.istio-system:9090) or
        C(https://prometheus.example.com/prom); queries go to C(<prometheus_url>/api/v1/query).
    type: str
  prometheus_headers:
    description: HTTP headers sent with every query (for example a tenant header of a multi-tenant Prometheus).
    type: dict
    default: {}
  prometheus_bearer_token:
    description: Bearer token sent as C(Authorization) header; never logged or returned.
    type: str
  prometheus_ca_path:
    description: PEM file of the CA that signed Prometheus's certificate.
    type: path
  prometheus_validate_certs:
    description: Check Prometheus's TLS certificate.
    type: bool
    default: true
  prometheus_timeout:
    description: Seconds one query may take. Transient failures (connection refused, timeouts, HTTP 429 and 5xx)
      are retried for a few seconds, then reported.
    type: int
    default: 10
"""
