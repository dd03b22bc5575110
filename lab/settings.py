#!/usr/bin/env python3
"""Settings of a new lab beside the others on this host: free ports and a pod range of its own.

    python3 lab/settings.py            # `: "${LAB_..._PORT:=N}"` lines, the format of a lab's settings.env

lab/lab.sh writes them into the settings.env of a named lab (``make lab-up LAB_NAME=b``) the first
time it starts; tests/integration/labs.py (ExtraLab) imports ``free_ports`` and ``free_pod_cidr``.
Python standard library only.
"""

import glob
import os
import random
import re
import socket
import subprocess
import sys

# The variables lab/lab.sh reads its ports from.
PORT_VARIABLES = (
    "LAB_ETCD_PORT", "LAB_ETCD_PEER_PORT", "LAB_APISERVER_PORT", "LAB_CONTROLLER_MANAGER_PORT",
    "LAB_SCHEDULER_PORT", "LAB_KWOK_PORT", "LAB_ISTIOD_WEBHOOK_PORT", "LAB_ISTIOD_GRPC_PORT",
    "LAB_ISTIOD_SECURE_GRPC_PORT", "LAB_ISTIOD_MONITORING_PORT", "LAB_ISTIOD_HTTP_PORT",
    "LAB_ISTIOD_CTRLZ_PORT", "LAB_PROMETHEUS_PORT",
)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Pod ranges handed out here: 10.160.0.0/16 to 10.239.0.0/16 (the default lab has 10.244.0.0/16, the
# helpers' labs 10.245 and up, the service range is 10.96.0.0/16).
POD_SECONDS = range(160, 240)


def free_ports(count, low=21000, high=32000):
    """``count`` distinct TCP ports free on 127.0.0.1 right now, below the kernel's ephemeral range
    (32768-60999): a port in that range may be taken by any outgoing connection before the lab binds it."""
    ports = []
    candidates = list(range(low, high))
    random.shuffle(candidates)
    for port in candidates:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            sock.close()
        ports.append(port)
        if len(ports) == count:
            return ports
    raise RuntimeError("fewer than {0} free ports between {1} and {2}".format(count, low, high))


def used_pod_cidrs(root=ROOT):
    """/16 pod ranges in use: recorded by the labs of this checkout (.lab*/settings.env, and the extra labs'
    under /tmp), or with an address on lo (a running data plane of any lab on this host)."""
    used = set()
    files = glob.glob(os.path.join(root, ".lab*", "settings.env")) + glob.glob("/tmp/meshops-lab-*/lab/settings.env")
    for path in files:
        try:
            with open(path) as handle:
                used.update(re.findall(r"LAB_POD_CIDR:=(10\.\d+)\.", handle.read()))
        except (IOError, OSError):
            continue
    try:
        out = subprocess.run(["ip", "-o", "-4", "addr", "show", "dev", "lo"], capture_output=True, text=True,
                             check=False).stdout
        used.update(re.findall(r"inet (10\.\d+)\.", out))
    except OSError:
        pass
    return used


def free_pod_cidr(root=ROOT):
    """A 10.N.0.0/16 pod range no other lab here uses."""
    used = used_pod_cidrs(root)
    candidates = ["10.{0}".format(n) for n in POD_SECONDS if "10.{0}".format(n) not in used]
    if not candidates:
        raise RuntimeError("no free pod range left in 10.{0}-{1}.0.0/16".format(POD_SECONDS[0], POD_SECONDS[-1]))
    return random.choice(candidates) + ".0.0/16"


def settings():
    """The settings of a new lab, as lab.sh's settings.env lines."""
    values = list(zip(PORT_VARIABLES, free_ports(len(PORT_VARIABLES))))
    values.append(("LAB_POD_CIDR", free_pod_cidr()))
    return "".join(': "${{{0}:={1}}}"\n'.format(k, v) for k, v in values)


if __name__ == "__main__":
    sys.stdout.write(settings())
