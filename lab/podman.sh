#!/usr/bin/env bash
# podman for the compose step and the lab's container checks.
#
#   lab/podman.sh setup        install podman + runc from Debian and configure them for this host
#   lab/podman.sh base-image   setup, then build (once) the local base image; prints its name
#   lab/podman.sh check        exit 0 when podman can start a container on a named network
#                              (what the compose step needs); otherwise say what is missing
#
# No registry can be pulled from here, so images start from a base made locally:
# busybox-static from Debian's packages, imported with `podman import`.
set -euo pipefail

BASE_IMAGE=localhost/meshops-base:busybox
log() { printf '[lab-podman] %s\n' "$*" >&2; }

setup() {
  local missing=()
  command -v podman >/dev/null || missing+=(podman)
  command -v runc >/dev/null || missing+=(runc)
  [[ -x /bin/busybox ]] || missing+=(busybox-static)
  command -v slirp4netns >/dev/null || missing+=(slirp4netns)
  dpkg -s uidmap >/dev/null 2>&1 || missing+=(uidmap)
  # netavark + aardvark-dns: networks whose containers resolve each other by name (only
  # recommended by podman, and this script installs without recommends); netavark runs
  # iptables to set a network up, and a machine installing without recommends lacks it.
  local pkg
  for pkg in netavark aardvark-dns catatonit iptables; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  # debootstrap makes root filesystems for images no registry can provide (the shop's Postgres).
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # crun fails on this host's hybrid cgroups; runc with cgroupfs works. Explicit
  # ulimits within this host's hard limits: the defaults ask for more than runc may set.
  local conf=/etc/containers/containers.conf nofile nproc want
  nofile=$(ulimit -Hn); [[ "$nofile" == unlimited || "$nofile" -gt 65536 ]] && nofile=65536
  nproc=$(ulimit -Hu); [[ "$nproc" == unlimited || "$nproc" -gt 4096 ]] && nproc=4096
  want="# written by meshops-lab (lab/podman.sh)
[containers]
default_ulimits = [\"nofile=$nofile:$nofile\", \"nproc=$nproc:$nproc\"]
[network]
network_backend = \"netavark\"
[engine]
runtime = \"runc\"
cgroup_manager = \"cgroupfs\"
events_logger = \"file\""
  if [[ "$(cat "$conf" 2>/dev/null)" != "$want" ]]; then
    [[ -f "$conf" ]] && ! grep -q meshops-lab "$conf" && cp "$conf" "$conf.before-meshops-lab"
    log "configuring $conf (runc, cgroupfs, ulimits nofile=$nofile nproc=$nproc)"
    mkdir -p /etc/containers
    printf '%s\n' "$want" >"$conf"
  fi
}

base_image() {
  setup
  if ! podman image exists "$BASE_IMAGE"; then
    log "building $BASE_IMAGE from busybox-static"
    local root
    root="$(mktemp -d)"
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,var/www}
    cp /bin/busybox "$root/bin/busybox"
    local applet
    for applet in $("$root/bin/busybox" --list); do
      [[ -e "$root/bin/$applet" ]] || ln -s busybox "$root/bin/$applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
    printf 'root:x:0:\nnobody:x:65534:\n' >"$root/etc/group"
    chmod 1777 "$root/tmp"
    tar -C "$root" -c . | podman import --change 'CMD ["/bin/sh"]' --change 'ENV PATH=/bin:/sbin:/usr/bin:/usr/sbin' - "$BASE_IMAGE" >/dev/null
    rm -rf "$root"
  fi
  echo "$BASE_IMAGE"
}

# What the compose step needs, checked without side effects: the binaries and the
# configuration setup() writes. (A container run is left to the lab's tests.)
check() {
  local missing=() tool
  for tool in podman runc netavark iptables aardvark-dns; do
    command -v "$tool" >/dev/null || [[ -x "/usr/lib/podman/$tool" ]] || missing+=("$tool")
  done
  grep -q meshops-lab /etc/containers/containers.conf 2>/dev/null || missing+=("/etc/containers/containers.conf")
  if ((${#missing[@]})); then
    echo "missing: ${missing[*]} (lab/podman.sh setup installs them)"
    return 1
  fi
  podman --version
}

case "${1:-}" in
  setup) setup ;;
  base-image) base_image ;;
  check) check ;;
  *) echo "usage: $0 setup|base-image|check" >&2; exit 2 ;;
esac
