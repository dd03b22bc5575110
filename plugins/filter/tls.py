# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TLS decisions of the mesh_gateway role: which hosts a certificate's subject alternative names leave
uncovered (``uncovered_hosts``), with the wildcard rule of RFC 6125 (``*.example.com`` covers one label)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError


def _dns_names(sans):
    names = []
    for san in sans or []:
        if not isinstance(san, str):
            raise AnsibleFilterError("uncovered_hosts: a subject alternative name must be a string, got {0!r}".format(san))
        kind, sep, value = san.partition(":")
        if sep and kind.upper() == "DNS":
            names.append(value.strip().lower())
    return names


def _covers(name, host):
    if name == host:
        return True
    if name.startswith("*.") and "." in host:
        return host.split(".", 1)[1] == name[2:] and not host.startswith("*.")
    return False


def uncovered_hosts(sans, hosts):
    """The hosts (Gateway server hosts such as ``app.example.com`` or ``*.example.com``) that no ``DNS:`` name
    of ``sans`` (``x509_certificate_info``'s ``subject_alt_name``) covers, in their order."""
    if not isinstance(hosts, list):
        raise AnsibleFilterError("uncovered_hosts: hosts must be a list, got {0!r}".format(hosts))
    names = _dns_names(sans)
    return [h for h in hosts if not any(_covers(n, str(h).lower()) for n in names)]


class FilterModule(object):
    def filters(self):
        return {"uncovered_hosts": uncovered_hosts}
