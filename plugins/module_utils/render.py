# -*- coding: utf-8 -*-
# Copyright: (c) 2026, meshops.istio contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rendering and recognising Istio installations: the istioctl and Helm renderers, Istio versions, and
the fields istiod manages itself."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os
import re
import shutil
import tempfile

from ansible_collections.meshops.istio.plugins.module_utils.constants import CRD, ISTIO_NAMESPACE
from ansible_collections.meshops.istio.plugins.module_utils.errors import CommandError, InputError

try:
    import yaml
except ImportError:  # pragma: no cover - checked by the module wrapper
    yaml = None

SET_RE = re.compile(r"^[A-Za-z0-9_.\[\]\-]+=.*$", re.S)
# Profiles Istio has shipped; the ones the installed istioctl really knows are probed from these.
KNOWN_PROFILES = ("default", "demo", "minimal", "empty", "preview", "remote", "ambient", "stable",
                  "openshift", "openshift-ambient")

# Kinds an Istio installation renders, where leftovers of an install are looked for (one
# list per kind, by Istio's own labels). CRDs are handled apart: kept unless purged.
INSTALL_KINDS = (
    ("apps/v1", "Deployment"), ("apps/v1", "DaemonSet"), ("v1", "Service"), ("v1", "ConfigMap"),
    ("v1", "ServiceAccount"), ("v1", "Secret"),
    ("rbac.authorization.k8s.io/v1", "Role"), ("rbac.authorization.k8s.io/v1", "RoleBinding"),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"), ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"),
    ("admissionregistration.k8s.io/v1", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"), ("policy/v1", "PodDisruptionBudget"),
)


def validate_sets(sets):
    for entry in sets or []:
        if not SET_RE.match(entry):
            raise InputError("set entry {0!r} is not valid: use path=value, for example "
                             "values.global.proxy.resources.requests.cpu=50m".format(entry))


def version_tuple(version):
    """(1, 30, 4) from '1.30.4-dev' or 'v1.30.4'; raises InputError when there is no number."""
    found = re.match(r"^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?", str(version or ""))
    if not found:
        raise InputError("version {0!r} is not an Istio version such as 1.30 or 1.30.4".format(version))
    return tuple(int(part or 0) for part in found.groups())


def version_matches(wanted, actual):
    """'1.30' matches 1.30.x; '1.30.4' matches 1.30.4 and 1.30.4-dev."""
    parts = len(re.match(r"^v?[\d.]+", str(wanted)).group(0).rstrip(".").split("."))
    return version_tuple(wanted)[:parts] == version_tuple(actual)[:parts]


def deep_merge(base, overlay):
    out = copy.deepcopy(base)
    for key, value in (overlay or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_documents(text):
    """Kubernetes objects from multi-document YAML, lists flattened, empty documents dropped."""
    objs = []
    for doc in yaml.safe_load_all(text):
        if not doc:
            continue
        if doc.get("kind", "").endswith("List") and "items" in doc:
            objs.extend(item for item in doc["items"] if item)
        else:
            objs.append(doc)
    return objs


def is_crd(obj):
    return (obj.get("apiVersion"), obj.get("kind")) == CRD


def revision_name(revision):
    return revision if revision not in (None, "") else "default"


class Renderer:
    """Turns the module's options into Kubernetes objects with an external tool."""

    tool = None

    def __init__(self, module, path):
        self.module = module
        self.path = path

    def run(self, argv, what, cwd=None):
        rc, out, err = self.module.run_command(argv, cwd=cwd)
        if rc != 0:
            raise CommandError("{0} failed (exit {1}): {2}".format(what, rc, (err or out).strip()[-2000:]),
                               result={"cmd": argv})
        return out


class IstioctlRenderer(Renderer):
    tool = "istioctl"

    def version(self):
        out = self.run([self.path, "version", "--remote=false", "-o", "json"], "istioctl version")
        try:
            return json.loads(out)["clientVersion"]["version"]
        except (ValueError, KeyError, TypeError):
            raise CommandError("istioctl version printed no version: {0}".format(out[:300]))

    def operator(self, opts):
        spec = {"profile": opts["profile"]}
        if opts.get("revision"):
            spec["revision"] = opts["revision"]
        if opts.get("hub"):
            spec["hub"] = opts["hub"]
        if opts.get("tag"):
            spec["tag"] = opts["tag"]
        components = {}
        if opts.get("ingress_gateway") is not None:
            components["ingressGateways"] = [{"name": "istio-ingressgateway", "enabled": opts["ingress_gateway"]}]
        if opts.get("egress_gateway") is not None:
            components["egressGateways"] = [{"name": "istio-egressgateway", "enabled": opts["egress_gateway"]}]
        if components:
            spec["components"] = components
        if opts.get("mesh_config"):
            spec["meshConfig"] = opts["mesh_config"]
        values = dict(opts.get("values") or {})
        if not opts.get("revision"):
            # As `istioctl install` does for the default revision (and the base chart's default):
            # its validator (istiod-default-validator) also judges objects without istio.io/rev.
            values.setdefault("defaultRevision", "default")
        spec["values"] = values
        iop = {"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator", "spec": spec}
        return deep_merge(iop, opts.get("operator") or {})

    def render(self, opts):
        iop = self.operator(opts)
        tmp = tempfile.mkdtemp(prefix="meshops-istio-")
        try:
            path = os.path.join(tmp, "iop.yaml")
            with open(path, "w") as handle:
                yaml.safe_dump(iop, handle)
            argv = [self.path, "manifest", "generate", "-f", path]
            for entry in opts.get("set") or []:
                argv += ["--set", entry]
            rc, out, err = self.module.run_command(argv)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        if rc != 0:
            if re.search(r'profile "[^"]*" not found', err or ""):
                # The profile rendered: the operator overlay's, when it sets one.
                overlay = ((opts.get("operator") or {}).get("spec") or {}).get("profile")
                raise InputError("{0} {1!r} is not known to istioctl {2}; known profiles: {3}".format(
                    "operator.spec.profile" if overlay else "profile", iop["spec"].get("profile"), self.path,
                    ", ".join(self.profiles())))
            raise CommandError("istioctl manifest generate failed (exit {0}): {1}".format(
                rc, (err or out).strip()[-2000:]), result={"cmd": argv})
        return load_documents(out)

    def profiles(self):
        """The profiles this istioctl renders (probed; used only to explain an unknown profile)."""
        known = []
        for name in KNOWN_PROFILES:
            if self.module.run_command([self.path, "manifest", "generate", "--set", "profile=" + name])[0] == 0:
                known.append(name)
        return known


class HelmRenderer(Renderer):
    """``helm template`` of Istio's charts base, istiod and gateway.

    Charts come from local directories (``chart_dir`` holding base/, istiod/ and
    gateway/, offline) or from a chart repository URL at ``chart_version``.
    """

    tool = "helm"

    # Where each chart sits in a chart directory: by chart name, or as in Istio's release
    # (manifests/charts).
    LAYOUT = {"base": ("base",), "istiod": ("istiod", "istio-control/istio-discovery"), "gateway": ("gateway",)}

    def __init__(self, module, path, chart_dir=None, chart_repo=None, chart_version=None):
        super(HelmRenderer, self).__init__(module, path)
        self.chart_dir, self.chart_repo, self.chart_version = chart_dir, chart_repo, chart_version
        self.charts = {}
        if chart_dir:
            for chart, candidates in self.LAYOUT.items():
                for rel in candidates:
                    if os.path.isfile(os.path.join(chart_dir, rel, "Chart.yaml")):
                        self.charts[chart] = os.path.join(chart_dir, rel)
                        break
                else:
                    raise InputError("chart_dir {0!r} has no {1} chart (looked for {2}); it must hold Istio's "
                                     "base, istiod and gateway charts".format(
                                         chart_dir, chart, ", ".join(r + "/Chart.yaml" for r in candidates)))
        elif not (chart_repo and chart_version):
            raise InputError("method helm needs chart_dir, or chart_repo together with chart_version")

    def chart(self, name):
        if self.chart_dir:
            return [self.charts[name]]
        return [name, "--repo", self.chart_repo, "--version", self.chart_version]

    def version(self):
        if self.chart_version:
            return self.chart_version
        with open(os.path.join(self.charts["istiod"], "Chart.yaml")) as handle:
            meta = yaml.safe_load(handle) or {}
        return str(meta.get("appVersion") or meta.get("version"))

    def profiles(self):
        if not self.chart_dir:
            return list(KNOWN_PROFILES)
        files = os.listdir(os.path.join(self.charts["istiod"], "files"))
        return sorted(f[len("profile-"):-len(".yaml")] for f in files
                      if f.startswith("profile-") and f.endswith(".yaml")
                      and not f.startswith(("profile-compatibility-", "profile-platform-"))) + ["default"]

    def render(self, opts):
        if opts["profile"] not in self.profiles():
            raise InputError("profile {0!r} is not known to the istiod chart; known profiles: {1}".format(
                opts["profile"], ", ".join(sorted(self.profiles()))))
        base = {"global": {"istioNamespace": ISTIO_NAMESPACE}}
        if opts["profile"] != "default":  # the charts' defaults are the default profile
            base["profile"] = opts["profile"]
        values = deep_merge(base, opts.get("values") or {})
        if opts.get("revision"):
            values["revision"] = opts["revision"]
            # Only the default revision renders the validator of objects without istio.io/rev.
            values.setdefault("defaultRevision", "")
        if opts.get("hub"):
            values.setdefault("global", {})["hub"] = opts["hub"]
        if opts.get("tag"):
            values.setdefault("global", {})["tag"] = opts["tag"]
        if opts.get("mesh_config"):
            values["meshConfig"] = deep_merge(values.get("meshConfig") or {}, opts["mesh_config"])
        releases = [("istio-base", "base"), ("istiod", "istiod")]
        if opts.get("ingress_gateway"):
            releases.append(("istio-ingressgateway", "gateway"))
        if opts.get("egress_gateway"):
            releases.append(("istio-egressgateway", "gateway"))
        tmp = tempfile.mkdtemp(prefix="meshops-istio-")
        objs = []
        try:
            path = os.path.join(tmp, "values.yaml")
            with open(path, "w") as handle:
                yaml.safe_dump(values, handle)
            for release, chart in releases:
                argv = [self.path, "template", release] + self.chart(chart) + [
                    "--namespace", ISTIO_NAMESPACE, "-f", path, "--include-crds"]
                if release == "istio-egressgateway":
                    argv += ["--set", "service.type=ClusterIP"]
                for entry in opts.get("set") or []:
                    argv += ["--set", entry]
                objs.extend(load_documents(self.run(argv, "helm template {0}".format(chart))))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        for obj in objs:
            meta = obj.setdefault("metadata", {})
            if not is_crd(obj) and obj.get("kind") not in CLUSTER_KINDS:
                meta.setdefault("namespace", ISTIO_NAMESPACE)
        return objs


CLUSTER_KINDS = ("Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding",
                 "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
                 "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")


def renderer_for(module, params):
    """The renderer the options ask for; the tool is looked up on PATH unless a path is given."""
    if params["method"] == "istioctl":
        path = module.get_bin_path(params.get("istioctl_path") or "istioctl")
        if not path or not os.access(path, os.X_OK):
            raise InputError("istioctl not found{0}; install it or set istioctl_path".format(
                " at " + params["istioctl_path"] if params.get("istioctl_path") else " on PATH"))
        return IstioctlRenderer(module, path)
    path = module.get_bin_path(params.get("helm_path") or "helm")
    if not path:
        raise InputError("helm not found{0}; install it or set helm_path".format(
            " at " + params["helm_path"] if params.get("helm_path") else " on PATH"))
    return HelmRenderer(module, path, chart_dir=params.get("chart_dir"), chart_repo=params.get("chart_repo"),
                        chart_version=params.get("chart_version"))


def namespaces_of(objs):
    """Namespace objects for every namespace the objects live in (istioctl leaves them out)."""
    names = []
    for obj in objs:
        ns = (obj.get("metadata") or {}).get("namespace")
        if ns and ns not in names:
            names.append(ns)
    have = set((o.get("metadata") or {}).get("name") for o in objs if o.get("kind") == "Namespace")
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in names if n not in have]


def installed_version(deployment):
    """The Istio version an istiod Deployment runs, from its discovery image tag."""
    for container in (((deployment or {}).get("spec") or {}).get("template", {}).get("spec", {})
                      .get("containers") or []):
        if container.get("name") == "discovery":
            image = container.get("image", "")
            tag = image.rpartition(":")[2] if ":" in image.rpartition("/")[2] else ""
            return tag or None
    return None


def without_runtime_fields(obj, live):
    """Drop fields istiod itself manages at run time once the object exists, so a rerun does not
    fight istiod over them: the webhooks' caBundle (patched in) and the validating webhook's
    failurePolicy (Ignore at install, set to Fail by istiod once it validates)."""
    if live is None or obj.get("kind") not in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        return obj
    obj = copy.deepcopy(obj)
    for hook in obj.get("webhooks") or []:
        if obj["kind"] == "ValidatingWebhookConfiguration":
            hook.pop("failurePolicy", None)
        client = hook.get("clientConfig") or {}
        if not client.get("caBundle"):
            client.pop("caBundle", None)
    return obj
