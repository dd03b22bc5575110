# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mesh's root of trust as namespaces see it: istiod publishes its root certificate(s) in the ConfigMap
``istio-ca-root-cert`` (key ``root-cert.pem``) of every namespace; a pod whose copy lacks the root that signs
its peers' certificates cannot verify them.

Certificates are compared as DER bytes (PEM armour and whitespace do not count). Pure functions; only public
certificates are handled.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import re

CONFIGMAP = "istio-ca-root-cert"
KEY = "root-cert.pem"
PEM_RE = re.compile(r"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.S)


def certificates(pem):
    """The DER bytes of every certificate of a PEM bundle (unreadable blocks left out)."""
    out = []
    for block in PEM_RE.findall(pem or ""):
        try:
            out.append(base64.b64decode("".join(block.split()), validate=True))
        except (binascii.Error, ValueError):
            continue
    return out


def fingerprint(der):
    """SHA-256 fingerprint, as ``openssl x509 -fingerprint -sha256`` prints it."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def bundle(configmap):
    """The certificates of an ``istio-ca-root-cert`` ConfigMap (None for no ConfigMap)."""
    if configmap is None:
        return None
    return certificates(((configmap.get("data") or {}).get(KEY)) or "")


def compare(reference, configmaps, namespaces):
    """``(missing, mismatched)`` namespace names: without the ConfigMap (or without a certificate in it), and
    whose bundle lacks a certificate of ``reference`` (a list of DER certificates)."""
    missing, mismatched = [], []
    for ns in namespaces:
        found = bundle(configmaps.get(ns))
        if not found:
            missing.append(ns)
        elif reference and not all(cert in found for cert in reference):
            mismatched.append(ns)
    return missing, mismatched
