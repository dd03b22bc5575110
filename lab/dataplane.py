#!/usr/bin/env python3
"""The lab's data plane: proxyless gRPC workloads run by Istio's own agent.

    lab/lab.sh dataplane up NAMESPACE [--spec FILE | --service echo --versions v1,v2 --clients client]
    lab/lab.sh dataplane down NAMESPACE|--all
    lab/lab.sh dataplane status [NAMESPACE]
    lab/lab.sh dataplane call NAMESPACE [--from POD] [CLIENT FLAGS...]   one load run, JSON on stdout
    lab/lab.sh dataplane fault NAMESPACE WORKLOAD [--fail-ratio R] [--delay-ms D] [--fail-code C]

Each workload is a kwok pod (labels app/version, security.istio.io/tlsMode=istio, no sidecar
injection) whose pod IP is added to `lo`; on this host it runs one `pilot-agent proxy sidecar`
in Istio's grpc-agent mode (ISTIO_META_GENERATOR=grpc, DISABLE_ENVOY=true) with an `istio-ca`
token, in its own working directory under .lab/dataplane/NAMESPACE/POD, and the workload
program (lab/go/dataplane: echo server or load client) reading the agent's xDS bootstrap.
Everything started is tracked in .lab/dataplane/NAMESPACE/state.json; `down` stops it by pid,
removes the addresses it added and deletes the namespace if `up` created it. Servers export
Istio's request metrics on POD_IP:15090; Prometheus finds them through the file_sd targets
file .lab/dataplane/targets/NAMESPACE.json (job "dataplane", scraped every second).

Only the Python standard library is used (YAML specs need PyYAML; JSON specs do not).
"""

import argparse
import fcntl
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# Real paths: the agent's unix sockets live under the working directories, and a socket
# path is limited to 107 bytes, so no symlinked detour.
LAB = os.path.realpath(os.environ.get("MESHOPS_LAB_DIR") or os.path.join(ROOT, ".lab"))
BIN = os.path.join(LAB, "bin")
KUBECONFIG = os.path.join(LAB, "kubeconfig")
DP = os.path.join(LAB, "dataplane")
TARGETS = os.path.join(DP, "targets")
LOGS = os.path.join(LAB, "logs", "dataplane")

ISTIOD_XDS = "127.0.0.1:" + os.environ.get("LAB_ISTIOD_SECURE_GRPC_PORT", "15012")
GRPC_PORT = 7070
METRICS_PORT = 15090
# pilot-agent's status server binds :PORT on every address, so each agent gets its own.
STATUS_PORTS = range(31000, 32000)
ADDR_LABEL = "lo:meshops"
POD_CIDR = os.environ.get("LAB_POD_CIDR", "10.244.0.0/16")
MANAGED = {"app.kubernetes.io/managed-by": "meshops-lab-dataplane"}
TRUST_DOMAIN = "cluster.local"
SOCKET_MAX = 107
# kwok's pod stages wait 1 s plus up to 5 s of jitter by default; a data plane wants them now.
KWOK_NOW = {"pod-{0}.stage.kwok.x-k8s.io/{1}".format(stage, what): "0s"
            for stage in ("create", "ready", "delete") for what in ("delay", "jitter-delay")}
TIMEOUT = float(os.environ.get("LAB_DATAPLANE_TIMEOUT", "90"))


class Failure(Exception):
    """A clear message for the user; the command exits 1 with it."""


def log(msg):
    sys.stderr.write("[dataplane] {0}\n".format(msg))
    sys.stderr.flush()


# -- helpers -------------------------------------------------------------------

def kubectl(*args, input=None, check=True):  # pylint: disable=redefined-builtin
    proc = subprocess.run([os.path.join(BIN, "kubectl"), "--kubeconfig", KUBECONFIG] + list(args),
                          input=input, capture_output=True, text=True, check=False, timeout=120)
    if check and proc.returncode != 0:
        raise Failure("kubectl {0} failed: {1}".format(" ".join(args[:3]), proc.stderr.strip()[-2000:]))
    return proc


def kubectl_json(*args):
    return json.loads(kubectl(*(args + ("-o", "json"))).stdout)


def wait(predicate, what, timeout=TIMEOUT):
    """Poll PREDICATE (growing delays, bounded) until it returns a true value."""
    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Failure("timed out after {0:.0f}s waiting for {1}".format(timeout, what))
        time.sleep(delay)
        delay = min(delay * 1.5, 1.0)


def http_get(url, timeout=2.0):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")
    except (OSError, urllib.error.URLError):
        return None, ""


def alive(pid, marker):
    """PID runs and its command line or working directory carries MARKER (no reused pid)."""
    try:
        with open("/proc/{0}/cmdline".format(pid), "rb") as handle:
            cmdline = handle.read().decode(errors="replace")
        cwd = os.readlink("/proc/{0}/cwd".format(pid))
        with open("/proc/{0}/stat".format(pid), encoding="utf-8") as handle:
            state = handle.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z" and (marker in cmdline or cwd.startswith(marker))


def stop_all(procs, grace=5.0):
    """SIGTERM every (pid, marker) still alive, SIGKILL what is left after GRACE seconds; wait until gone."""
    procs = [(pid, marker) for pid, marker in procs if alive(pid, marker)]
    for sig, wait_for in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        for pid, _ in procs:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait_for
        while procs and time.monotonic() < deadline:
            time.sleep(0.05)
            procs = [(pid, marker) for pid, marker in procs if alive(pid, marker)]
        if not procs:
            return
    raise Failure("processes still running after SIGKILL: {0}".format(", ".join(str(p) for p, _ in procs)))


class Lock:
    """One dataplane command at a time changes addresses, ports and state."""

    def __init__(self):
        self.handle = None

    def __enter__(self):
        os.makedirs(DP, exist_ok=True)
        self.handle = open(os.path.join(DP, ".lock"), "w", encoding="utf-8")  # pylint: disable=consider-using-with
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        self.handle.close()


# -- the spec ------------------------------------------------------------------

SPEC_KEYS = {"services", "clients"}
SERVICE_KEYS = {"name", "port", "service_account", "versions"}
VERSION_KEYS = {"name", "replicas", "fail_ratio", "fail_code", "delay_ms"}
CLIENT_KEYS = {"name", "service_account", "version", "load"}
LOAD_KEYS = {"service", "rate", "concurrency", "headers"}
NAME_RE = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def _check_keys(problems, path, value, allowed):
    if not isinstance(value, dict):
        problems.append("{0}: must be a mapping".format(path))
        return False
    for key in sorted(set(value) - allowed):
        problems.append("{0}.{1}: unknown key (allowed: {2})".format(path, key, ", ".join(sorted(allowed))))
    return True


def _check_name(problems, path, value):
    if not isinstance(value, str) or not NAME_RE.match(value) or len(value) > 40:
        problems.append("{0}: {1!r} is not a DNS label of at most 40 characters".format(path, value))


def normalize(spec):
    """Validate SPEC (every problem with its field path, all at once) and fill in defaults."""
    problems = []
    if not _check_keys(problems, "spec", spec, SPEC_KEYS):
        raise Failure("invalid spec: " + "; ".join(problems))
    services, clients = [], []
    names = set()
    for i, svc in enumerate(spec.get("services") or []):
        path = "services[{0}]".format(i)
        if not _check_keys(problems, path, svc, SERVICE_KEYS):
            continue
        _check_name(problems, path + ".name", svc.get("name"))
        port = svc.get("port", GRPC_PORT)
        if not isinstance(port, int) or not 1 <= port <= 65535 or port == METRICS_PORT:
            problems.append("{0}.port: {1!r} must be a port number other than {2}".format(path, port, METRICS_PORT))
        versions = []
        for j, ver in enumerate(svc.get("versions") or [{"name": "v1"}]):
            vpath = "{0}.versions[{1}]".format(path, j)
            if not _check_keys(problems, vpath, ver, VERSION_KEYS):
                continue
            _check_name(problems, vpath + ".name", ver.get("name"))
            replicas = ver.get("replicas", 1)
            if not isinstance(replicas, int) or not 1 <= replicas <= 20:
                problems.append("{0}.replicas: {1!r} must be an integer from 1 to 20".format(vpath, replicas))
            ratio = ver.get("fail_ratio", 0)
            if not isinstance(ratio, (int, float)) or not 0 <= ratio <= 1:
                problems.append("{0}.fail_ratio: {1!r} must be a number from 0 to 1".format(vpath, ratio))
            delay = ver.get("delay_ms", 0)
            if not isinstance(delay, (int, float)) or delay < 0:
                problems.append("{0}.delay_ms: {1!r} must be a number >= 0".format(vpath, delay))
            versions.append({"name": ver.get("name"), "replicas": replicas, "fail_ratio": ratio,
                             "fail_code": str(ver.get("fail_code", "INTERNAL")), "delay_ms": delay})
        services.append({"name": svc.get("name"), "port": port,
                         "service_account": svc.get("service_account", svc.get("name")), "versions": versions})
        names.add(svc.get("name"))
    for i, cli in enumerate(spec.get("clients") or []):
        path = "clients[{0}]".format(i)
        if not _check_keys(problems, path, cli, CLIENT_KEYS):
            continue
        _check_name(problems, path + ".name", cli.get("name"))
        load = cli.get("load")
        if load is not None and _check_keys(problems, path + ".load", load, LOAD_KEYS):
            if load.get("service") not in names:
                problems.append("{0}.load.service: {1!r} is not one of the services ({2})".format(
                    path, load.get("service"), ", ".join(sorted(n for n in names if n)) or "none"))
            rate = load.get("rate", 10)
            if not isinstance(rate, (int, float)) or rate <= 0:
                problems.append("{0}.load.rate: {1!r} must be a number > 0 (calls per second)".format(path, rate))
            conc = load.get("concurrency", 16)
            if not isinstance(conc, int) or isinstance(conc, bool) or not 1 <= conc <= 256:
                problems.append("{0}.load.concurrency: {1!r} must be an integer from 1 to 256".format(path, conc))
            headers = load.get("headers") or {}
            if not isinstance(headers, dict):
                problems.append("{0}.load.headers: must be a mapping of header names to values".format(path))
            load = {"service": load.get("service"), "rate": rate, "concurrency": conc,
                    "headers": headers if isinstance(headers, dict) else {}}
        clients.append({"name": cli.get("name"), "service_account": cli.get("service_account", cli.get("name")),
                        "version": str(cli.get("version", "v1")), "load": load})
    workloads = [s["name"] + "-" + v["name"] for s in services for v in s["versions"]] + [c["name"] for c in clients]
    for name in sorted({w for w in workloads if workloads.count(w) > 1}):
        problems.append("workload name {0!r} is used twice (services' APP-VERSION and clients' names)".format(name))
    if not workloads and not problems:
        problems.append("spec: no services and no clients")
    if problems:
        raise Failure("invalid spec:\n  " + "\n  ".join(problems))
    return {"services": services, "clients": clients}


def load_spec(args):
    if args.spec:
        with open(args.spec, encoding="utf-8") as handle:
            text = handle.read()
        if args.spec.endswith((".yaml", ".yml")):
            try:
                import yaml  # pylint: disable=import-outside-toplevel
            except ImportError:
                raise Failure("{0}: YAML specs need PyYAML (use the project's .venv, or write JSON)".format(args.spec))
            return normalize(yaml.safe_load(text))
        return normalize(json.loads(text))
    versions = [{"name": v} for v in args.versions.split(",") if v]
    clients = [{"name": c} for c in args.clients.split(",") if c]
    return normalize({"services": [{"name": args.service, "versions": versions}], "clients": clients})


def workloads_of(spec):
    """(pod name, workload dict) for every replica."""
    out = []
    for svc in spec["services"]:
        for ver in svc["versions"]:
            for r in range(ver["replicas"]):
                name = "{0}-{1}".format(svc["name"], ver["name"])
                out.append({"pod": "{0}-{1}".format(name, r), "workload": name, "kind": "server",
                            "app": svc["name"], "version": ver["name"], "sa": svc["service_account"],
                            "port": svc["port"], "fault": {k: ver[k] for k in ("fail_ratio", "fail_code", "delay_ms")}})
    for cli in spec["clients"]:
        out.append({"pod": cli["name"] + "-0", "workload": cli["name"], "kind": "client", "app": cli["name"],
                    "version": cli["version"], "sa": cli["service_account"], "port": None, "load": cli["load"]})
    return out


# -- Kubernetes objects ------------------------------------------------------------

def manifests(ns, spec, wls):
    docs = []
    for sa in sorted({w["sa"] for w in wls}):
        docs.append({"apiVersion": "v1", "kind": "ServiceAccount",
                     "metadata": {"name": sa, "namespace": ns, "labels": MANAGED}})
    for svc in spec["services"]:
        docs.append({"apiVersion": "v1", "kind": "Service",
                     "metadata": {"name": svc["name"], "namespace": ns, "labels": dict(MANAGED, app=svc["name"])},
                     "spec": {"selector": {"app": svc["name"]},
                              "ports": [{"name": "grpc", "port": svc["port"], "targetPort": svc["port"],
                                         "appProtocol": "grpc"}]}})
    for w in wls:
        annotations = dict(KWOK_NOW)
        if w["kind"] == "server":
            annotations.update({"dataplane.meshops.dev/fail-ratio": str(w["fault"]["fail_ratio"]),
                                "dataplane.meshops.dev/fail-code": w["fault"]["fail_code"],
                                "dataplane.meshops.dev/delay-ms": str(w["fault"]["delay_ms"])})
        ports = [{"name": "grpc", "containerPort": w["port"]}] if w["port"] else []
        # As Istio's grpc-agent injection template leaves a pod: the app container and the
        # agent as istio-proxy (which here runs as a host process). Not injected by the webhook
        # (sidecar.istio.io/inject=false): the pod is written in its injected form.
        annotations.update({"inject.istio.io/templates": "grpc-agent",
                            "sidecar.istio.io/status": json.dumps({"initContainers": None,
                                                                   "containers": ["istio-proxy"],
                                                                   "volumes": [], "imagePullSecrets": None,
                                                                   "templates": ["grpc-agent"],
                                                                   "revision": "default"})})
        docs.append({"apiVersion": "v1", "kind": "Pod",
                     "metadata": {"name": w["pod"], "namespace": ns, "annotations": annotations,
                                  "labels": dict(MANAGED, **{
                                      "app": w["app"], "version": w["version"],
                                      # proxyless gRPC: mTLS-capable workload, but no sidecar injected
                                      "security.istio.io/tlsMode": "istio",
                                      "sidecar.istio.io/inject": "false",
                                      "service.istio.io/canonical-name": w["app"],
                                      "service.istio.io/canonical-revision": w["version"]})},
                     "spec": {"serviceAccountName": w["sa"], "automountServiceAccountToken": False,
                              "terminationGracePeriodSeconds": 0,
                              "containers": [
                                  {"name": w["app"], "image": "meshops.local/dataplane:lab",
                                   "ports": ports + [{"name": "http-metrics", "containerPort": METRICS_PORT}]},
                                  {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:lab",
                                   "args": ["proxy", "sidecar", "--domain", ns + ".svc.cluster.local"]}]}})
    return {"apiVersion": "v1", "kind": "List", "items": docs}


# -- addresses ---------------------------------------------------------------------

def is_local(ip):
    """IP can be bound on this host (configured on lo or another interface)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((ip, 0))
        return True
    except OSError:
        return False
    finally:
        sock.close()


def can_add_addresses():
    """CAP_NET_ADMIN in the effective set (what `ip addr add` needs)."""
    try:
        with open("/proc/self/status", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> 12 & 1)
    except OSError:
        pass
    return os.geteuid() == 0


# Why there is no fallback to 127.0.0.0/8 addresses: a workload must listen on its pod IP, which
# kwok assigns. kwok would take 127.x pod IPs from a node whose podCIDR is in 127.0.0.0/8 (tried),
# but the API server refuses them in EndpointSlices ("may not be in the loopback range"), so
# istiod would route to no endpoint. Without CAP_NET_ADMIN the pod range must already be local.
NO_ADDRESSES = ("cannot add pod IPs to lo without CAP_NET_ADMIN ({0}). A workload must listen on its pod IP "
                "(kwok's pod CIDR {1}): run the data plane as root, or let root make the pod range local once "
                "(`ip addr add {1} dev lo`). Addresses in 127.0.0.0/8 are no way out: the API server refuses "
                "them as endpoints.")


def add_address(ip):
    """Put IP on lo; returns True when this call added it (so `down` removes it)."""
    proc = subprocess.run(["ip", "addr", "add", ip + "/32", "dev", "lo", "label", ADDR_LABEL],
                          capture_output=True, text=True, check=False)
    if proc.returncode == 0:
        return True
    if "File exists" in proc.stderr:
        return ours(ip)
    if is_local(ip):
        return False
    raise Failure(NO_ADDRESSES.format("{0}: {1}".format(ip, proc.stderr.strip() or proc.returncode),
                                      POD_CIDR))


def ours(ip):
    out = subprocess.run(["ip", "-o", "-4", "addr", "show", "dev", "lo", "label", ADDR_LABEL],
                         capture_output=True, text=True, check=False).stdout
    return (" " + ip + "/32 ") in out


def del_address(ip):
    proc = subprocess.run(["ip", "addr", "del", ip + "/32", "dev", "lo"], capture_output=True, text=True, check=False)
    if proc.returncode != 0 and "Cannot assign" not in proc.stderr:
        log("could not remove {0} from lo: {1}".format(ip, proc.stderr.strip()))


def free_port(taken):
    for port in STATUS_PORTS:
        if port in taken:
            continue
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("0.0.0.0", port))
            return port
        except OSError:
            continue
        finally:
            sock.close()
    raise Failure("no free status port in {0}-{1}".format(STATUS_PORTS.start, STATUS_PORTS.stop - 1))


def ports_in_use():
    taken = set()
    for ns in namespaces():
        for w in read_state(ns).get("workloads", []):
            if w.get("status_port"):
                taken.add(w["status_port"])
    return taken


# -- state -------------------------------------------------------------------------

def state_path(ns):
    return os.path.join(DP, ns, "state.json")


def read_state(ns):
    try:
        with open(state_path(ns), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return {}


def write_state(ns, state):
    os.makedirs(os.path.join(DP, ns), exist_ok=True)
    tmp = state_path(ns) + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(state, handle, indent=2, sort_keys=True)
    os.replace(tmp, state_path(ns))


def namespaces():
    if not os.path.isdir(DP):
        return []
    return sorted(d for d in os.listdir(DP) if os.path.isfile(state_path(d)))


# -- processes ---------------------------------------------------------------------

def workdir(ns, pod):
    return os.path.join(DP, ns, pod)


def pod_env(ns, w):
    wd = workdir(ns, w["pod"])
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": wd,
        "POD_NAME": w["pod"], "POD_NAMESPACE": ns, "INSTANCE_IP": w["ip"], "SERVICE_ACCOUNT": w["sa"],
        "GRPC_XDS_BOOTSTRAP": os.path.join(wd, "etc/istio/proxy/grpc-bootstrap.json"),
        "ISTIO_META_CLUSTER_ID": "Kubernetes", "TRUST_DOMAIN": TRUST_DOMAIN,
    }


def agent_env(ns, w):
    wd = workdir(ns, w["pod"])
    proxy_config = {"discoveryAddress": ISTIOD_XDS, "statusPort": w["status_port"],
                    # absolute: a relative configPath makes the bootstrap point at unix:///./etc/...
                    "configPath": os.path.join(wd, "etc/istio/proxy")}
    ports = [{"containerPort": w["port"], "name": "grpc", "protocol": "TCP"}] if w["port"] else []
    env = pod_env(ns, w)
    env.update({
        # Istio's grpc-agent injection template, as environment of a host process
        "ISTIO_META_GENERATOR": "grpc", "DISABLE_ENVOY": "true", "ISTIO_META_DNS_CAPTURE": "false",
        "OUTPUT_CERTS": os.path.join(wd, "var/lib/istio/data"), "PILOT_CERT_PROVIDER": "istiod",
        "CA_ADDR": ISTIOD_XDS, "JWT_POLICY": "third-party-jwt", "HOST_IP": "127.0.0.1",
        "PROXY_CONFIG": json.dumps(proxy_config), "ISTIO_META_POD_PORTS": json.dumps(ports),
        "ISTIO_META_APP_CONTAINERS": w["app"], "ISTIO_META_NODE_NAME": w.get("node", ""),
        "ISTIO_META_WORKLOAD_NAME": w["workload"], "ISTIO_META_MESH_ID": TRUST_DOMAIN,
    })
    return env


def spawn(ns, w, what, argv, env):
    os.makedirs(os.path.join(LOGS, ns), exist_ok=True)
    logfile = os.path.join(LOGS, ns, "{0}.{1}.log".format(w["pod"], what))
    with open(logfile, "ab") as out:
        proc = subprocess.Popen(argv, cwd=workdir(ns, w["pod"]), env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
    return proc.pid, logfile


def tail(path, lines=15):
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return "".join(handle.readlines()[-lines:])
    except OSError:
        return "(no log)"


def program_argv(ns, w, spec):
    exe = os.path.join(BIN, "meshops-dataplane")
    if w["kind"] == "server":
        f = w["fault"]
        return [exe, "server", "--addr", "{0}:{1}".format(w["ip"], w["port"]),
                "--metrics-addr", "{0}:{1}".format(w["ip"], METRICS_PORT),
                "--app", w["app"], "--version", w["version"], "--workload", w["workload"], "--pod", w["pod"],
                "--namespace", ns, "--service-account", w["sa"],
                "--fail-ratio", str(f["fail_ratio"]), "--fail-code", f["fail_code"], "--delay-ms", str(f["delay_ms"])]
    load = w.get("load")
    if not load:
        return None
    svc = [s for s in spec["services"] if s["name"] == load["service"]][0]
    argv = client_base(ns, w) + ["--target", target(ns, svc["name"], svc["port"]), "--count", "0",
                                 "--rate", str(load["rate"]), "--concurrency", str(load["concurrency"]),
                                 "--stats-addr", "{0}:{1}".format(w["ip"], METRICS_PORT)]
    for key, value in sorted(load["headers"].items()):
        argv += ["--header", "{0}={1}".format(key, value)]
    return argv


def client_base(ns, w):
    return [os.path.join(BIN, "meshops-dataplane"), "client", "--namespace", ns, "--app", w["app"],
            "--version", w["version"], "--workload", w["workload"], "--source-ip", w["ip"]]


def target(ns, service, port):
    return "xds:///{0}.{1}.svc.cluster.local:{2}".format(service, ns, port)


def agent_ready(ns, w):
    wd = workdir(ns, w["pod"])
    files = ["etc/istio/proxy/grpc-bootstrap.json"] + [
        "var/lib/istio/data/" + f for f in ("cert-chain.pem", "key.pem", "root-cert.pem")]
    return all(os.path.isfile(os.path.join(wd, f)) for f in files)


def check_running(ns, w, what):
    pid = w.get(what + "_pid")
    if pid and not alive(pid, workdir(ns, w["pod"])):
        raise Failure("{0} of {1}/{2} exited; last lines of {3}:\n{4}".format(
            what, ns, w["pod"], w[what + "_log"], tail(w[what + "_log"])))


# -- commands ----------------------------------------------------------------------

def prerequisites():
    missing = [b for b in ("kubectl", "pilot-agent", "meshops-dataplane")
               if not os.access(os.path.join(BIN, b), os.X_OK)]
    if missing:
        raise Failure("missing in {0}: {1} (run `make lab-up`, which builds them)".format(BIN, ", ".join(missing)))
    if kubectl("get", "--raw", "/readyz", check=False).returncode != 0:
        raise Failure("the lab's API server is not answering (run `make lab-up`)")
    status, _ = http_get("http://127.0.0.1:{0}/ready".format(os.environ.get("LAB_ISTIOD_HTTP_PORT", "15080")))
    if status != 200:
        raise Failure("the lab's istiod is not ready (run `make lab-up`)")


def cmd_up(args):
    t0 = time.monotonic()
    spec = load_spec(args)
    ns = args.namespace
    with Lock():
        state = read_state(ns)
        if state:
            if state.get("spec") != spec:
                raise Failure("a data plane with another spec is up in {0}; run `lab/lab.sh dataplane down {0}` "
                              "first".format(ns))
            dead = [w["pod"] for w in state["workloads"] for what in ("agent", "app")
                    if w.get(what + "_pid") and not alive(w[what + "_pid"], workdir(ns, w["pod"]))]
            if not dead:
                log("data plane in {0} is already up".format(ns))
                return 0
            raise Failure("data plane in {0} has stopped processes ({1}); run `lab/lab.sh dataplane down {0}` "
                          "and up again".format(ns, ", ".join(sorted(set(dead)))))
        prerequisites()
        if not can_add_addresses() and not is_local(str(ipaddress.ip_network(POD_CIDR)[1])):
            raise Failure(NO_ADDRESSES.format("this process lacks it", POD_CIDR))
        wls = workloads_of(spec)
        for w in wls:
            sock = os.path.join(workdir(ns, w["pod"]), "var/run/secrets/workload-spiffe-uds/socket")
            if len(sock) > SOCKET_MAX:
                raise Failure("namespace/pod names too long for the agent's unix sockets ({0}: {1} bytes, limit "
                              "{2})".format(sock, len(sock), SOCKET_MAX))
        created_ns = kubectl("get", "namespace", ns, check=False).returncode != 0
        state = {"namespace": ns, "created_namespace": created_ns, "spec": spec, "workloads": wls}
        write_state(ns, state)
        try:
            bring_up(ns, spec, state)
        except BaseException:
            log("bringing the data plane up failed; cleaning up (logs stay in {0})".format(os.path.join(LOGS, ns)))
            teardown(ns)
            raise
    log("data plane in {0} up in {1:.1f}s: {2}".format(
        ns, time.monotonic() - t0, ", ".join(w["pod"] + "=" + w["ip"] for w in state["workloads"])))
    return 0


def bring_up(ns, spec, state):
    wls = state["workloads"]
    if state["created_namespace"]:
        kubectl("create", "namespace", ns)
    kubectl("apply", "--server-side", "--field-manager", "meshops-lab-dataplane", "-f", "-",
            input=json.dumps(manifests(ns, spec, wls)))

    def pods_ready():
        items = kubectl_json("get", "pods", "-n", ns, "-l", "app.kubernetes.io/managed-by=" +
                             MANAGED["app.kubernetes.io/managed-by"])["items"]
        ready = {p["metadata"]["name"]: p for p in items
                 if p["status"].get("podIP") and any(c["type"] == "Ready" and c["status"] == "True"
                                                     for c in p["status"].get("conditions", []))}
        return ready if all(w["pod"] in ready for w in wls) else None

    pods = wait(pods_ready, "the pods in {0} to be Ready with pod IPs".format(ns))
    # The namespace's root certificate, as a pod would mount it (istiod publishes it in
    # every namespace): the lab CA, when istiod signs with it (lab.sh istio_up).
    root = wait(lambda: (kubectl("get", "configmap", "istio-ca-root-cert", "-n", ns, "-o",
                                 "jsonpath={.data.root-cert\\.pem}", check=False).stdout or None),
                "istiod to publish istio-ca-root-cert in " + ns)
    with open(os.path.join(LAB, "pki", "ca.crt"), encoding="utf-8") as handle:
        if handle.read().strip() != root.strip():
            raise Failure("istiod does not sign workload certificates with the lab CA (istio-ca-root-cert in {0} "
                          "is another root); restart it with `lab/lab.sh up`".format(ns))
    taken = ports_in_use()
    for w in wls:
        pod = pods[w["pod"]]
        w["ip"], w["node"] = pod["status"]["podIP"], pod["spec"].get("nodeName", "")
        w["address_added"] = add_address(w["ip"])
        w["status_port"] = free_port(taken)
        taken.add(w["status_port"])
        write_state(ns, state)
    tokens = {}
    for sa in sorted({w["sa"] for w in wls}):
        tokens[sa] = kubectl("create", "token", sa, "-n", ns, "--audience", "istio-ca", "--duration", "24h").stdout
    for w in wls:
        wd = workdir(ns, w["pod"])
        for sub, name, content in (("var/run/secrets/tokens", "istio-token", tokens[w["sa"]]),
                                   ("var/run/secrets/istio", "root-cert.pem", root)):
            os.makedirs(os.path.join(wd, sub), exist_ok=True)
            fd = os.open(os.path.join(wd, sub, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(content)
        for sub in ("etc/istio/proxy", "var/lib/istio/data", "var/run/secrets/workload-spiffe-uds"):
            os.makedirs(os.path.join(wd, sub), exist_ok=True)
        w["agent_pid"], w["agent_log"] = spawn(
            ns, w, "agent", [os.path.join(BIN, "pilot-agent"), "proxy", "sidecar", "--domain",
                             ns + ".svc.cluster.local"], agent_env(ns, w))
        write_state(ns, state)

    def agents_ready():
        for w in wls:
            check_running(ns, w, "agent")
        return all(agent_ready(ns, w) for w in wls)

    wait(agents_ready, "the agents' certificates and xDS bootstrap")
    for w in wls:
        argv = program_argv(ns, w, spec)
        if argv:
            w["app_pid"], w["app_log"] = spawn(ns, w, "app", argv, pod_env(ns, w))
            write_state(ns, state)

    def servers_serving():
        for w in wls:
            check_running(ns, w, "app")
        return all(http_get("http://{0}:{1}/healthz".format(w["ip"], METRICS_PORT))[0] == 200
                   for w in wls if w["kind"] == "server")

    wait(servers_serving, "the echo servers to get their xDS listeners")
    write_targets(ns, wls)


def write_targets(ns, wls):
    os.makedirs(TARGETS, exist_ok=True)
    groups = [{"targets": ["{0}:{1}".format(w["ip"], METRICS_PORT)],
               "labels": {"namespace": ns, "pod": w["pod"], "workload": w["workload"]}}
              for w in wls if w["kind"] == "server"]
    tmp = os.path.join(TARGETS, "." + ns + ".json.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(groups, handle, indent=1)
    os.replace(tmp, os.path.join(TARGETS, ns + ".json"))


def teardown(ns):
    """Stop, remove and delete what `up` recorded in the state of NS."""
    state = read_state(ns)
    try:
        os.remove(os.path.join(TARGETS, ns + ".json"))
    except FileNotFoundError:
        pass
    for what in ("app", "agent"):  # the programs first, then their agents
        stop_all([(w[what + "_pid"], workdir(ns, w["pod"])) for w in state.get("workloads", [])
                  if w.get(what + "_pid")])
    for w in state.get("workloads", []):
        if w.get("address_added") and w.get("ip"):
            del_address(w["ip"])
    if state and kubectl("get", "--raw", "/readyz", check=False).returncode != 0:
        log("API server not answering: the objects in {0} are left in place".format(ns))
    elif state:
        # The pods first and at once (nothing runs in them): the namespace controller then finds
        # the namespace empty instead of waiting for pods to terminate.
        selector = "app.kubernetes.io/managed-by=" + MANAGED["app.kubernetes.io/managed-by"]
        kubectl("delete", "pods", "-n", ns, "-l", selector, "--grace-period=0", "--force", "--ignore-not-found",
                "--wait=true", check=False)
        if state.get("created_namespace"):
            kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=120s", check=False)
        else:
            kubectl("delete", "services,serviceaccounts", "-n", ns, "-l", selector, "--ignore-not-found", check=False)
    shutil.rmtree(os.path.join(DP, ns), ignore_errors=True)


def cmd_down(args):
    with Lock():
        targets = namespaces() if args.all else [args.namespace]
        for ns in targets:
            if not read_state(ns):
                log("no data plane in {0}".format(ns))
                continue
            t0 = time.monotonic()
            teardown(ns)
            log("data plane in {0} down in {1:.1f}s".format(ns, time.monotonic() - t0))
    return 0


def cmd_status(args):
    """One line per workload, in lab.sh status's layout; exit 1 if a process died."""
    bad = 0
    found = [args.namespace] if args.namespace else namespaces()
    if not found:
        print("{0:<24} none".format("dataplane"))
    for ns in found:
        state = read_state(ns)
        if not state:
            print("{0:<24} none".format("dataplane/" + ns))
            bad = 1
            continue
        for w in state["workloads"]:
            parts, ok = [], True
            for what in ("agent", "app"):
                pid = w.get(what + "_pid")
                if pid:
                    up = alive(pid, workdir(ns, w["pod"]))
                    ok = ok and up
                    parts.append("{0} {1}{2}".format(what, pid, "" if up else " DEAD"))
            bad |= not ok
            print("{0:<24} {1} ({2}; {3} {4})".format(
                "dataplane/{0}/{1}".format(ns, w["pod"]), "running" if ok and parts else "STOPPED",
                ", ".join(parts) or "not started", w["kind"], w.get("ip", "-")))
    return bad


def find_workload(state, pod):
    for w in state["workloads"]:
        if (pod and w["pod"] == pod) or (not pod and w["kind"] == "client"):
            return w
    raise Failure("no workload {0} in the data plane of {1}".format(pod or "of kind client", state["namespace"]))


def cmd_call(args, rest):
    state = read_state(args.namespace)
    if not state:
        raise Failure("no data plane in {0} (lab/lab.sh dataplane up {0})".format(args.namespace))
    w = find_workload(state, args.source)
    argv = client_base(args.namespace, w)
    if not any(a == "--target" or a.startswith("--target=") for a in rest):
        svc = state["spec"]["services"][0]
        argv += ["--target", target(args.namespace, svc["name"], svc["port"])]
    proc = subprocess.run(argv + rest, env=pod_env(args.namespace, w), cwd=workdir(args.namespace, w["pod"]),
                          check=False)
    return proc.returncode


def cmd_stats(args):
    """The running counts of a client with steady load (its /stats), optionally reset after reading."""
    state = read_state(args.namespace)
    if not state:
        raise Failure("no data plane in {0}".format(args.namespace))
    loaded = [w for w in state["workloads"] if w.get("load") and args.pod in (None, w["pod"])]
    if not loaded:
        raise Failure("no client with steady load{0} in {1} (spec: clients[].load)".format(
            " named " + args.pod if args.pod else "", args.namespace))
    w = loaded[0]
    code, body = http_get("http://{0}:{1}/stats".format(w["ip"], METRICS_PORT))
    if code != 200:
        raise Failure("{0}: /stats answered {1}".format(w["pod"], code))
    sys.stdout.write(body)
    if args.reset:
        req = urllib.request.Request("http://{0}:{1}/reset".format(w["ip"], METRICS_PORT), data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=5) as resp:
            resp.read()
    return 0


def cmd_fault(args):
    state = read_state(args.namespace)
    if not state:
        raise Failure("no data plane in {0}".format(args.namespace))
    pods = [w for w in state["workloads"] if w["kind"] == "server" and args.workload in (w["workload"], w["pod"])]
    if not pods:
        raise Failure("no server workload or pod {0} in {1}".format(args.workload, args.namespace))
    body = json.dumps({"fail_ratio": args.fail_ratio, "fail_code": args.fail_code, "delay_ms": args.delay_ms})
    for w in pods:
        req = urllib.request.Request("http://{0}:{1}/fault".format(w["ip"], METRICS_PORT), data=body.encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                resp.read()
        except urllib.error.HTTPError as err:
            raise Failure("{0}: {1}".format(w["pod"], err.read().decode(errors="replace").strip()))
        kubectl("annotate", "pod", w["pod"], "-n", args.namespace, "--overwrite",
                "dataplane.meshops.dev/fail-ratio={0}".format(args.fail_ratio),
                "dataplane.meshops.dev/fail-code={0}".format(args.fail_code),
                "dataplane.meshops.dev/delay-ms={0}".format(args.delay_ms))
    log("fault of {0} in {1}: {2}".format(args.workload, args.namespace, body))
    return 0


def main(argv):
    parser = argparse.ArgumentParser(prog="lab/lab.sh dataplane", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start a data plane in NAMESPACE (created if missing)")
    up.add_argument("namespace")
    up.add_argument("--spec", help="JSON or YAML file: {services: [{name, port, versions: [{name, replicas, "
                                   "fail_ratio, fail_code, delay_ms}]}], clients: [{name, load}]}")
    up.add_argument("--service", default="echo", help="service name without --spec (default echo)")
    up.add_argument("--versions", default="v1,v2", help="its versions, one pod each (default v1,v2)")
    up.add_argument("--clients", default="client", help="client workloads (default client)")
    down = sub.add_parser("down", help="stop the data plane of NAMESPACE (or --all)")
    down.add_argument("namespace", nargs="?")
    down.add_argument("--all", action="store_true")
    status = sub.add_parser("status", help="processes of each data plane (exit 1 if one died)")
    status.add_argument("namespace", nargs="?")
    call = sub.add_parser("call", help="run the load client once from a client pod; extra flags go to it "
                                       "(--count, --rate, --header NAME=VALUE, --target, ...)")
    call.add_argument("namespace")
    call.add_argument("--from", dest="source", help="pod to call from (default: the first client)")
    stats = sub.add_parser("stats", help="what a client with steady load saw so far (JSON)")
    stats.add_argument("namespace")
    stats.add_argument("pod", nargs="?", help="default: the first client")
    stats.add_argument("--reset", action="store_true", help="start counting afresh after this read")
    fault = sub.add_parser("fault", help="make a server workload fail or slow down at run time")
    fault.add_argument("namespace")
    fault.add_argument("workload")
    fault.add_argument("--fail-ratio", type=float, default=0.0)
    fault.add_argument("--fail-code", default="INTERNAL",
                       help="gRPC code name (default INTERNAL; UNAVAILABLE is retried by Istio's default retry policy)")
    fault.add_argument("--delay-ms", type=float, default=0.0)
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "call":
        parser.error("unrecognized arguments: " + " ".join(rest))
    try:
        if args.command == "up":
            return cmd_up(args)
        if args.command == "down":
            if bool(args.all) == bool(args.namespace):
                parser.error("down needs NAMESPACE or --all")
            return cmd_down(args)
        if args.command == "status":
            return cmd_status(args)
        if args.command == "call":
            return cmd_call(args, rest)
        if args.command == "stats":
            return cmd_stats(args)
        return cmd_fault(args)
    except Failure as err:
        log("FAILED: {0}".format(err))
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
