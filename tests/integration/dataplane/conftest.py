# -*- coding: utf-8 -*-
"""Real requests through real mesh policy: the lab's proxyless gRPC data plane.

``dataplane`` starts workloads in a fresh namespace with ``lab/lab.sh dataplane up`` (kwok pods,
their IPs on lo, one pilot-agent in grpc-agent mode and the echo server or load client each) and
stops them with ``lab/lab.sh dataplane down`` afterwards. Lab only: skips on a real cluster.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time
import urllib.parse
import urllib.request
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
LAB_SH = os.path.join(ROOT, "lab", "lab.sh")

# Two versions of one echo service, a client for the tests' calls and one calling at a steady
# rate (as a canary release would have it): the workloads of every test here.
DEFAULT_SPEC = {
    "services": [{"name": "echo", "versions": [{"name": "v1"}, {"name": "v2"}]}],
    "clients": [{"name": "client"}, {"name": "loadgen", "load": {"service": "echo", "rate": 20}}],
}


class DataPlane:
    """A running data plane in namespace ``ns``; ``call`` makes real gRPC calls from a client pod."""

    def __init__(self, lab, ns):
        self.lab = lab
        self.ns = ns
        self.host = "echo.{0}.svc.cluster.local".format(ns)

    def state(self):
        with open(os.path.join(self.lab.env.get("LAB_DIR", os.path.join(ROOT, ".lab")), "dataplane", self.ns,
                               "state.json")) as handle:
            return json.load(handle)

    def principal(self, service_account):
        return "spiffe://cluster.local/ns/{0}/sa/{1}".format(self.ns, service_account)

    def call(self, count=20, rate=0, headers=None, source=None, timeout="2s", concurrency=8):
        """Run the load client once; returns its JSON report (counts by version, codes, identities)."""
        argv = [LAB_SH, "dataplane", "call", self.ns]
        if source:
            argv += ["--from", source]
        argv += ["--count", str(count), "--rate", str(rate), "--timeout", timeout, "--concurrency", str(concurrency)]
        for key, value in (headers or {}).items():
            argv += ["--header", "{0}={1}".format(key, value)]
        proc = self.lab.run(*argv, timeout=300)
        return json.loads(proc.stdout)

    def until(self, predicate, what, count=20, timeout=60, **kwargs):
        """Call in small batches until PREDICATE(report) holds (xDS pushes take a moment); returns the report."""
        last = {}

        def probe():
            last["report"] = self.call(count=count, **kwargs)
            return last["report"] if predicate(last["report"]) else None
        try:
            return self.lab.wait_for(probe, timeout=timeout, what=what)
        except AssertionError as err:
            raise AssertionError("{0}; last report: {1}".format(err, json.dumps(last.get("report"))[:2000]))

    def apply(self, manifest):
        return self.lab.apply(manifest, "-n", self.ns)

    def prometheus(self, query):
        url = "{0}/api/v1/query?{1}".format(self.lab.prometheus_url, urllib.parse.urlencode({"query": query}))
        with urllib.request.urlopen(url, timeout=10) as resp:
            body = json.load(resp)
        assert body["status"] == "success", body
        return body["data"]["result"]


@pytest.fixture(scope="module")
def dataplane_factory(lab):
    """Starts data planes (``make(spec)``) in fresh namespaces; stops them all at the end of the module."""
    if lab.real_cluster:
        pytest.skip("the proxyless data plane runs on the lab only")
    started = []

    def make(spec=None, prefix="dp"):
        ns = "{0}-{1}".format(prefix, uuid.uuid4().hex[:6])
        path = os.path.join(ROOT, "build", "dataplane-{0}.json".format(ns))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            json.dump(spec or DEFAULT_SPEC, handle)
        started.append(ns)
        start = time.monotonic()
        lab.run(LAB_SH, "dataplane", "up", ns, "--spec", path, timeout=300)
        plane = DataPlane(lab, ns)
        plane.startup_seconds = time.monotonic() - start
        os.remove(path)
        return plane

    yield make
    for ns in started:
        lab.run(LAB_SH, "dataplane", "down", ns, check=False, timeout=300)


@pytest.fixture(scope="module")
def dataplane(dataplane_factory):
    """echo v1 and v2 behind Service echo, and a client, in one fresh namespace for the module."""
    return dataplane_factory()
