# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names every layer shares: API versions, kinds, Istio's labels and annotations, and the allowed values of
options. One definition each; the modules' argument specs take their choices from here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# -- API versions and kinds ---------------------------------------------------------------
APPS = "apps/v1"
SECURITY = "security.istio.io/v1"
NETWORKING = "networking.istio.io/v1"
CRD = ("apiextensions.k8s.io/v1", "CustomResourceDefinition")
WEBHOOKS = ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration")
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")

# -- Istio's namespaces, labels and annotations ----------------------------------------------
ISTIO_NAMESPACE = "istio-system"
ROOT_NAMESPACE = ISTIO_NAMESPACE
COMPONENT_LABEL = "operator.istio.io/component"
REVISION_LABEL = "istio.io/rev"
TAG_LABEL = "istio.io/tag"
INJECTION_LABEL = "istio-injection"
INJECT_KEY = "sidecar.istio.io/inject"
STATUS_ANNOTATION = "sidecar.istio.io/status"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
SIDECAR = "istio-proxy"
# Values of sidecar.istio.io/inject that ask for injection (Istio's own rule); any other non-empty
# value opts out.
INJECT_YES = ("y", "yes", "true", "on")
# Never onboarded: the control planes' own namespaces.
PROTECTED_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease", ISTIO_NAMESPACE)

# -- object names ------------------------------------------------------------------------------
PEER_AUTHENTICATION = "default"
DENY_ALL = "deny-all"
REQUIRE_JWT_SUFFIX = "-require-jwt"

# -- allowed values (argument specs, role argument_specs and validators use these) ------------
STATES = ("present", "absent")
MTLS_MODES = ("UNSET", "DISABLE", "PERMISSIVE", "STRICT")
# mesh_onboard sets a namespace's mode only to one of these.
ONBOARD_MTLS_MODES = ("PERMISSIVE", "STRICT")
ACTIONS = ("ALLOW", "DENY", "AUDIT", "CUSTOM")
METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
SE_LOCATIONS = ("MESH_EXTERNAL", "MESH_INTERNAL")
SE_RESOLUTIONS = ("NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN")
SE_PROTOCOLS = ("HTTP", "HTTPS", "GRPC", "HTTP2", "MONGO", "TCP", "TLS")
INSTALL_METHODS = ("istioctl", "helm")

# -- traffic management (mesh_traffic) ---------------------------------------------------------
NETWORKING_ALPHA = "networking.istio.io/v1alpha3"  # EnvoyFilter is served in v1alpha3 only
OWNER_LABEL = "meshops.istio/owner"
# Server TLS modes of a Gateway, and client TLS modes of a DestinationRule (Istio's sets).
GATEWAY_TLS_MODES = ("PASSTHROUGH", "SIMPLE", "MUTUAL", "AUTO_PASSTHROUGH", "ISTIO_MUTUAL", "OPTIONAL_MUTUAL")
CLIENT_TLS_MODES = ("DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL")
# Envoy's x-envoy-retry-on and x-envoy-retry-grpc-on policies (Istio also takes HTTP status codes).
RETRY_ON = ("5xx", "gateway-error", "reset", "reset-before-request", "connect-failure", "envoy-ratelimited",
            "retriable-4xx", "refused-stream", "retriable-status-codes", "retriable-headers",
            "http3-post-connect-failure", "cancelled", "deadline-exceeded", "internal", "resource-exhausted",
            "unavailable")
RATE_LIMIT_CONTEXTS = ("SIDECAR_INBOUND", "GATEWAY")

# -- canary releases (canary_shift writes, mtls_verify's report reads) ---------------------------
# On the VirtualService: the rollout's state as JSON (see module_utils/rollout.py for its shape).
CANARY_ANNOTATION = "meshops.istio/canary"
CANARY_PHASES = ("progressing", "paused", "promoted", "rolled_back", "aborted")
ANALYSIS_RESULTS = ("pass", "fail", "no_data", "skipped")
# canary_shift's actions (the first is the default) and what an analysis without data means.
CANARY_ACTIONS = ("run", "status", "promote", "abort", "resume", "retry")
NO_DATA_POLICIES = ("fail", "hold", "skip")

# -- verification (mtls_verify) -----------------------------------------------------------------
# The mode every server port must enforce (ANY: only report), and the severity that fails the task.
VERIFY_EXPECT = ("STRICT", "PERMISSIVE", "ANY")
FAIL_ON = ("error", "warning", "never")
