#!/usr/bin/env bash
# The local lab: a real Kubernetes control plane and a real istiod as processes on
# 127.0.0.1, with kwok simulating the nodes so pods run (no containers).
#
#   lab/lab.sh up       build what is missing, start what is not running (idempotent)
#   lab/lab.sh down     stop every process the lab started, by pid
#   lab/lab.sh reset    down, then wipe the lab's data, certificates and logs
#   lab/lab.sh status   health of each component (exit 1 if any is unhealthy)
#   lab/lab.sh dataplane up|down|status|call|stats|fault ...
#                       proxyless gRPC workloads with Istio's agent (lab/dataplane.py)
#
# Everything lives under .lab/ at the repository root: bin/ (links to the cached
# builds), pki/, data/, logs/, run/ (pids), kubeconfig and env.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
lab="${MESHOPS_LAB_DIR:-$root/.lab}"
# A named lab (LAB_NAME=b: `make lab-up LAB_NAME=b`) is another cluster beside the default one, in
# .lab-NAME/, with free ports and a pod range of its own chosen when it is first started (lab/settings.py)
# and recorded in its settings.env, which alone decides them: the environment's LAB_* belong to the default lab.
if [[ -n "${LAB_NAME:-}" && -z "${MESHOPS_LAB_DIR:-}" ]]; then
  [[ "$LAB_NAME" =~ ^[a-z0-9][a-z0-9-]{0,30}$ ]] || { echo "LAB_NAME must be lower-case letters, digits and '-': $LAB_NAME" >&2; exit 2; }
  lab="$root/.lab-$LAB_NAME"
  while IFS= read -r var; do unset "$var"; done < <(compgen -v LAB_ | grep -Ev '^LAB_(NAME|START_TIMEOUT)$')
  if [[ ! -f "$lab/settings.env" ]]; then
    mkdir -p "$lab"
    python3 "$here/settings.py" >"$lab/settings.env.new" && mv "$lab/settings.env.new" "$lab/settings.env"
  fi
fi
bin="$lab/bin" pki="$lab/pki" logs="$lab/logs" run="$lab/run" data="$lab/data"

# Ports: all on 127.0.0.1, away from the usual ones; override through the environment. `up` records
# them in $lab/settings.env, so later commands on the same lab use them without the environment
# (which still wins over what was recorded).
# shellcheck disable=SC1091
[[ -f "$lab/settings.env" ]] && . "$lab/settings.env"
: "${LAB_ETCD_PORT:=23790}" "${LAB_ETCD_PEER_PORT:=23800}"
: "${LAB_APISERVER_PORT:=16443}"
: "${LAB_CONTROLLER_MANAGER_PORT:=20257}" "${LAB_SCHEDULER_PORT:=20259}"
: "${LAB_KWOK_PORT:=20247}"
: "${LAB_ISTIOD_WEBHOOK_PORT:=15017}" "${LAB_ISTIOD_GRPC_PORT:=15010}" "${LAB_ISTIOD_SECURE_GRPC_PORT:=15012}"
: "${LAB_ISTIOD_MONITORING_PORT:=15014}" "${LAB_ISTIOD_HTTP_PORT:=15080}" "${LAB_ISTIOD_CTRLZ_PORT:=9876}"
: "${LAB_PROMETHEUS_PORT:=19090}"
: "${LAB_NODES:=3}"
SERVICE_CIDR=10.96.0.0/16
# Pod IPs (kwok assigns them; the data plane puts them on lo): labs that share a host and run data
# planes need ranges of their own.
: "${LAB_POD_CIDR:=10.244.0.0/16}"
POD_CIDR=$LAB_POD_CIDR
SETTINGS=(LAB_ETCD_PORT LAB_ETCD_PEER_PORT LAB_APISERVER_PORT LAB_CONTROLLER_MANAGER_PORT LAB_SCHEDULER_PORT
  LAB_KWOK_PORT LAB_ISTIOD_WEBHOOK_PORT LAB_ISTIOD_GRPC_PORT LAB_ISTIOD_SECURE_GRPC_PORT LAB_ISTIOD_MONITORING_PORT
  LAB_ISTIOD_HTTP_PORT LAB_ISTIOD_CTRLZ_PORT LAB_PROMETHEUS_PORT LAB_NODES LAB_POD_CIDR)
START_TIMEOUT=${LAB_START_TIMEOUT:-90}

export PATH="$bin:$PATH"
kubeconfig="$lab/kubeconfig"

log() { printf '[lab] %s\n' "$*" >&2; }

die_component() { # NAME MESSAGE: name the component and show its log tail
  log "FAILED: $1: $2"
  if [[ -f "$logs/$1.log" ]]; then
    log "last lines of $logs/$1.log:"
    tail -n 25 "$logs/$1.log" >&2
  fi
  exit 1
}

running() { # NAME -> pid file exists and the process is alive
  local pidf="$run/$1.pid" pid
  [[ -f "$pidf" ]] || return 1
  pid="$(cat "$pidf")"
  # A killed process stays a zombie until its parent (init here) reaps it: kill -0 still
  # succeeds, so without the state check `up` right after a kill -9 skipped the start.
  kill -0 "$pid" 2>/dev/null && [[ "$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$pid/status" 2>/dev/null)" != Z ]]
}

start() { # NAME CMD...: start in the background, logging, unless already running
  local name=$1; shift
  if running "$name"; then return 0; fi
  log "starting $name"
  # 8>&-: the lock of this script must not be inherited by the long-running processes.
  nohup "$@" >>"$logs/$name.log" 2>&1 </dev/null 8>&- &
  echo $! >"$run/$name.pid"
}

wait_for() { # NAME CHECK-CMD...: poll until CHECK succeeds or the component dies or times out
  local name=$1; shift
  local deadline=$((SECONDS + START_TIMEOUT)) delay=0.1
  until "$@" >/dev/null 2>&1; do
    running "$name" || die_component "$name" "process exited"
    ((SECONDS < deadline)) || die_component "$name" "not healthy after ${START_TIMEOUT}s"
    sleep "$delay"
    delay=$(awk -v d="$delay" 'BEGIN { d *= 1.5; if (d > 1) d = 1; print d }')
  done
}

https_ok() { # URL [CERT KEY]: GET over TLS with the lab CA
  curl -sf --max-time 3 --cacert "$pki/ca.crt" ${2:+--cert "$2" --key "$3"} "$1"
}

kc() { kubectl --kubeconfig "$kubeconfig" "$@"; }

# -- certificates -------------------------------------------------------------

cert() { # NAME CN [O] [SANS]: a key and a CA-signed certificate, once
  local name=$1 cn=$2 org=${3:-} sans=${4:-}
  [[ -f "$pki/$name.crt" ]] && return 0
  local subj="/CN=$cn${org:+/O=$org}" ext
  ext="$(mktemp)"
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [[ -n "$sans" ]]; then
      echo "extendedKeyUsage=serverAuth,clientAuth"
      echo "subjectAltName=$sans"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
  } >"$ext"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$pki/$name.key" -subj "$subj" \
    -out "$pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$ext" -out "$pki/$name.crt" 2>/dev/null
  rm -f "$ext" "$pki/$name.csr"
}

kubeconfig_for() { # NAME CERT: a kubeconfig authenticating with pki/CERT.{crt,key}
  local file="$lab/$1.kubeconfig"
  [[ "$1" == admin ]] && file="$kubeconfig"
  [[ -f "$file" ]] && return 0
  cat >"$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: lab
  cluster:
    server: https://127.0.0.1:$LAB_APISERVER_PORT
    certificate-authority: $pki/ca.crt
users:
- name: $1
  user:
    client-certificate: $pki/$2.crt
    client-key: $pki/$2.key
contexts:
- name: lab
  context: {cluster: lab, user: $1}
current-context: lab
EOF
}

pki_up() {
  mkdir -p "$pki"
  if [[ ! -f "$pki/ca.crt" ]]; then
    log "creating certificates"
    openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$pki/ca.key" -days 3650 -sha256 \
      -subj "/CN=meshops-lab-ca" -out "$pki/ca.crt" 2>/dev/null
  fi
  cert apiserver kube-apiserver "" \
    "IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert admin lab-admin system:masters
  cert controller-manager system:kube-controller-manager
  cert scheduler system:kube-scheduler
  cert istiod istiod "" "IP:127.0.0.1,DNS:localhost,DNS:istiod.istio-system.svc,DNS:istiod.istio-system.svc.cluster.local"
  if [[ ! -f "$pki/sa.key" ]]; then
    openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
    openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  fi
  kubeconfig_for admin admin
  kubeconfig_for controller-manager controller-manager
  kubeconfig_for scheduler scheduler
}

# -- components ---------------------------------------------------------------

etcd_up() {
  mkdir -p "$data/etcd"
  start etcd etcd --name lab --data-dir "$data/etcd" \
    --listen-client-urls "http://127.0.0.1:$LAB_ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$LAB_ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$LAB_ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$LAB_ETCD_PEER_PORT" \
    --initial-cluster "lab=http://127.0.0.1:$LAB_ETCD_PEER_PORT" \
    --unsafe-no-fsync --quota-backend-bytes=4294967296 --log-level=warn
  wait_for etcd curl -sf "http://127.0.0.1:$LAB_ETCD_PORT/health"
}

apiserver_up() {
  start kube-apiserver kube-apiserver \
    --etcd-servers "http://127.0.0.1:$LAB_ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$LAB_APISERVER_PORT" \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --authorization-mode RBAC --allow-privileged=true \
    --requestheader-client-ca-file "$pki/ca.crt" --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --profiling=false --endpoint-reconciler-type=none
  wait_for kube-apiserver https_ok "https://127.0.0.1:$LAB_APISERVER_PORT/readyz" "$pki/admin.crt" "$pki/admin.key"
}

controller_manager_up() {
  local kcf="$lab/controller-manager.kubeconfig"
  start kube-controller-manager kube-controller-manager \
    --kubeconfig "$kcf" --authentication-kubeconfig "$kcf" --authorization-kubeconfig "$kcf" \
    --bind-address 127.0.0.1 --secure-port "$LAB_CONTROLLER_MANAGER_PORT" \
    --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file "$pki/sa.key" --root-ca-file "$pki/ca.crt" \
    --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --service-cluster-ip-range "$SERVICE_CIDR" --allocate-node-cidrs=false \
    --node-monitor-grace-period 1h --node-startup-grace-period 1h \
    --controllers '*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller'
  wait_for kube-controller-manager https_ok_insecure "https://127.0.0.1:$LAB_CONTROLLER_MANAGER_PORT/healthz"
}

scheduler_up() {
  local kcf="$lab/scheduler.kubeconfig"
  start kube-scheduler kube-scheduler \
    --kubeconfig "$kcf" --authentication-kubeconfig "$kcf" --authorization-kubeconfig "$kcf" \
    --bind-address 127.0.0.1 --secure-port "$LAB_SCHEDULER_PORT" --leader-elect=false
  wait_for kube-scheduler https_ok_insecure "https://127.0.0.1:$LAB_SCHEDULER_PORT/healthz"
}

# The controller-manager and scheduler serve /healthz with self-signed certificates.
https_ok_insecure() { curl -skf --max-time 3 "$1"; }

nodes_yaml() {
  local i
  for ((i = 1; i <= LAB_NODES; i++)); do
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: lab-node-$i
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: lab-node-$i
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    type: kwok
    topology.kubernetes.io/zone: lab-zone-$(( (i - 1) % 3 + 1 ))
status:
  allocatable: {cpu: "32", memory: 128Gi, pods: "250"}
  capacity: {cpu: "32", memory: 128Gi, pods: "250"}
EOF
  done
}

kwok_up() {
  start kwok kwok --kubeconfig "$kubeconfig" --manage-all-nodes=false \
    --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --cidr "$POD_CIDR" --node-ip 127.0.0.1 --server-address "127.0.0.1:$LAB_KWOK_PORT"
  wait_for kwok curl -sf "http://127.0.0.1:$LAB_KWOK_PORT/healthz"
  local want
  want=$(nodes_yaml | grep -c '^kind: Node')
  if ! nodes_ready "$want" 2>/dev/null; then
    nodes_yaml | kc apply --server-side --field-manager meshops-lab -f - >/dev/null
    wait_for kwok nodes_ready "$want"
  fi
}

# Ready, and without the not-ready taint the node-lifecycle controller lifts once it sees them Ready.
nodes_ready() {
  [[ "$(kc get nodes -l type=kwok --no-headers | grep -cw Ready)" == "$1" ]] &&
    [[ -z "$(kc get nodes -l type=kwok -o jsonpath='{.items[*].spec.taints}')" ]]
}

# The Istio control plane runs on this host; the cluster gets the CRDs and webhooks of
# Istio's external-control-plane ("remote") profile pointing at it.
istio_up() {
  # istiod reads the mesh config (ConfigMap istio) and the injection templates (ConfigMap
  # istio-sidecar-injector) from the cluster, as an in-cluster istiod does: its working
  # directory has no local copies, so what istio_install applies is what istiod uses.
  local dir="$lab/istiod"
  mkdir -p "$dir"
  local stamp="$dir/cluster-config.sha"
  local want_sha
  # Contents only (no paths), so another checkout of the same lab does not re-apply.
  want_sha="$(cat "$here/istio/cluster.sh" "$here/versions.env" "$pki/ca.crt" | sha256sum | cut -c1-16)"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want_sha" ]] || ! istio_cluster_config_present; then
    log "applying Istio CRDs, webhooks and istiod configuration"
    LAB_DIR="$lab" KUBECONFIG="$kubeconfig" WEBHOOK_PORT="$LAB_ISTIOD_WEBHOOK_PORT" bash "$here/istio/cluster.sh" \
      || die_component istiod "could not apply the Istio cluster configuration"
    echo "$want_sha" >"$stamp"
  fi
  istiod_plug_lab_ca
  (
    cd "$dir"
    export POD_NAMESPACE=istio-system POD_NAME=istiod-lab REVISION=default \
      KUBECONFIG="$kubeconfig" ISTIOD_CUSTOM_HOST=istiod.istio-system.svc \
      PILOT_ENABLE_ANALYSIS=false INJECTION_WEBHOOK_CONFIG_NAME=istio-sidecar-injector \
      VALIDATION_WEBHOOK_CONFIG_NAME=istio-validator-istio-system CLUSTER_ID=Kubernetes \
      ENABLE_CA_SERVER=true JWT_POLICY=third-party-jwt
    start istiod pilot-discovery discovery --kubeconfig "$kubeconfig" \
      --httpsAddr "127.0.0.1:$LAB_ISTIOD_WEBHOOK_PORT" --grpcAddr "127.0.0.1:$LAB_ISTIOD_GRPC_PORT" \
      --secureGRPCAddr "127.0.0.1:$LAB_ISTIOD_SECURE_GRPC_PORT" \
      --monitoringAddr "127.0.0.1:$LAB_ISTIOD_MONITORING_PORT" --httpAddr "127.0.0.1:$LAB_ISTIOD_HTTP_PORT" \
      --tlsCertFile "$pki/istiod.crt" --tlsKeyFile "$pki/istiod.key" --caCertFile "$pki/ca.crt" \
      --meshConfig "$dir/no-local-mesh-config" --domain cluster.local --keepaliveMaxServerConnectionAge 30m \
      --ctrlz_port "$LAB_ISTIOD_CTRLZ_PORT" --ctrlz_address 127.0.0.1 \
      --log_output_level default:info
  )
  wait_for istiod curl -sf "http://127.0.0.1:$LAB_ISTIOD_HTTP_PORT/ready"
  wait_for istiod https_ok "https://127.0.0.1:$LAB_ISTIOD_WEBHOOK_PORT/ready"
}

# One root of trust: istiod signs workload certificates with the lab CA (Istio's
# plugged-in CA, read from ./etc/cacerts in its working directory), the CA that
# already signs its serving certificate on 15012 and the webhooks. The lab CA is a
# self-signed root with CA:TRUE, so it is its own chain. A running istiod that
# started before the files were there is restarted once.
istiod_plug_lab_ca() {
  local dir="$lab/istiod/etc/cacerts" stamp="$lab/istiod/cacerts.sha" want
  want="$(cat "$pki/ca.crt" "$pki/ca.key" | sha256sum | cut -c1-16)"
  [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -f "$dir/ca-key.pem" ]] && return 0
  mkdir -p "$dir"
  chmod 700 "$dir"
  install -m 600 "$pki/ca.key" "$dir/ca-key.pem"
  install -m 644 "$pki/ca.crt" "$dir/ca-cert.pem"
  install -m 644 "$pki/ca.crt" "$dir/root-cert.pem"
  install -m 644 "$pki/ca.crt" "$dir/cert-chain.pem"
  if running istiod; then
    local pid
    pid="$(cat "$run/istiod.pid")"
    log "restarting istiod ($pid): it now signs workload certificates with the lab CA"
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$run/istiod.pid"
  fi
  echo "$want" >"$stamp"
}

istio_cluster_config_present() {
  kc get crd virtualservices.networking.istio.io >/dev/null 2>&1 &&
    kc get mutatingwebhookconfiguration istio-sidecar-injector >/dev/null 2>&1 &&
    kc -n istio-system get configmap istio istio-sidecar-injector >/dev/null 2>&1
}

prometheus_up() {
  mkdir -p "$data/prometheus" "$lab/dataplane/targets"
  # dataplane: the workloads of lab/dataplane.py, found through the targets files it
  # writes (no reload when workloads come and go), scraped every second.
  local conf="$lab/prometheus.yml" targets
  targets="$(cd "$lab" && pwd -P)/dataplane/targets"
  cat >"$conf.new" <<EOF
global: {scrape_interval: 5s, evaluation_interval: 5s}
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ["127.0.0.1:$LAB_PROMETHEUS_PORT"]}]
  - job_name: istiod
    static_configs: [{targets: ["127.0.0.1:$LAB_ISTIOD_MONITORING_PORT"]}]
  - job_name: dataplane
    scrape_interval: 1s
    scrape_timeout: 1s
    file_sd_configs: [{files: ["$targets/*.json"], refresh_interval: 5s}]
EOF
  if cmp -s "$conf.new" "$conf"; then
    rm -f "$conf.new"
  else
    mv "$conf.new" "$conf"
    if running prometheus; then
      log "reloading prometheus (configuration changed)"
      curl -sf -X POST "http://127.0.0.1:$LAB_PROMETHEUS_PORT/-/reload" >/dev/null ||
        die_component prometheus "reload of $conf failed"
    fi
  fi
  local prom
  prom="$(command -v prometheus || echo /usr/bin/prometheus)"
  start prometheus "$prom" --config.file "$lab/prometheus.yml" --storage.tsdb.path "$data/prometheus" \
    --web.listen-address "127.0.0.1:$LAB_PROMETHEUS_PORT" --web.enable-lifecycle --web.enable-admin-api
  wait_for prometheus curl -sf "http://127.0.0.1:$LAB_PROMETHEUS_PORT/-/ready"
}

write_env() {
  # The values that keep an Istio installed into the lab pointing its webhooks at the
  # lab's istiod (Istio's external-control-plane settings); the lab inventory and the
  # integration tests pass them to istio_install.
  local ca_b64
  ca_b64="$(base64 -w0 <"$pki/ca.crt")"
  cat >"$lab/istio-values.yaml" <<EOF
istiodRemote:
  injectionURL: https://127.0.0.1:$LAB_ISTIOD_WEBHOOK_PORT/inject
  injectionCABundle: $ca_b64
base:
  validationURL: https://127.0.0.1:$LAB_ISTIOD_WEBHOOK_PORT/validate
  validationCABundle: $ca_b64
EOF
  local var
  # Lines such as `: "${LAB_ETCD_PORT:=23790}"` (the environment still wins when this is sourced).
  # shellcheck disable=SC2016
  for var in "${SETTINGS[@]}"; do printf ': "${%s:=%s}"\n' "$var" "${!var}"; done >"$lab/settings.env"
  cat >"$lab/env" <<EOF
export KUBECONFIG="$kubeconfig"
export K8S_AUTH_KUBECONFIG="$kubeconfig"
export PATH="$bin:\$PATH"
export LAB_PROMETHEUS_URL="http://127.0.0.1:$LAB_PROMETHEUS_PORT"
export LAB_ISTIOD_URL="https://127.0.0.1:$LAB_ISTIOD_WEBHOOK_PORT"
export LAB_DIR="$lab"
export LAB_ISTIO_VALUES="$lab/istio-values.yaml"
export LAB_ISTIO_ASSETS="$lab/istio-assets"
export LAB_DEMO_JWT_DIR="$lab/demo-jwt"
export LAB_POD_CIDR="$POD_CIDR"
EOF
}

# The demo's JWT issuer (inventories/lab: RequestAuthentication on the shop's api-gateway): an RSA
# signing key and its JSON Web Key Set, made once, so no JWKS URL has to be reachable.
demo_jwt() {
  local dir="$lab/demo-jwt" python="$root/.venv/bin/python"
  [[ -f "$dir/jwks.json" ]] && return 0
  [[ -x "$python" ]] || python=python3
  mkdir -p "$dir"
  openssl genrsa -out "$dir/signing.key" 2048 2>/dev/null
  openssl rsa -in "$dir/signing.key" -noout -modulus | "$python" -c '
import base64, json, sys
modulus = bytes.fromhex(sys.stdin.read().strip().split("=", 1)[1])
b64 = lambda raw: base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
key = {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": "meshops-lab", "n": b64(modulus), "e": b64((65537).to_bytes(3, "big"))}
json.dump({"keys": [key]}, open(sys.argv[1], "w"))
' "$dir/jwks.json"
}

ensure_host_packages() {
  local missing=()
  command -v openssl >/dev/null || missing+=(openssl)
  command -v curl >/dev/null || missing+=(curl)
  command -v ip >/dev/null || missing+=(iproute2)      # the data plane puts pod IPs on lo
  command -v setpriv >/dev/null || missing+=(util-linux)
  [[ -x /usr/bin/prometheus ]] || missing+=(prometheus)
  if ((${#missing[@]})); then
    log "installing Debian packages: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # Debian's prometheus package starts a system service on port 9090 that the lab does not use.
  systemctl disable --now prometheus >/dev/null 2>&1 || true
}

cmd_up() {
  local t0=$SECONDS
  mkdir -p "$logs" "$run" "$data"
  ensure_host_packages
  # podman (+ runc, netavark, iptables) for the compose step: installed and configured here so
  # that `make test` and `make demo` work on a machine where nobody installed it by hand.
  "$here/podman.sh" setup
  "$here/build.sh"
  # Another lab's binaries and Istio assets are the default lab's (build.sh links them there).
  if [[ "$lab" != "$root/.lab" ]]; then
    [[ -e "$bin" ]] || ln -sfn "$root/.lab/bin" "$bin"
    [[ -e "$lab/istio-assets" ]] || ln -sfn "$root/.lab/istio-assets" "$lab/istio-assets"
  fi
  pki_up
  etcd_up
  apiserver_up
  controller_manager_up
  scheduler_up
  kwok_up
  istio_up
  prometheus_up
  demo_jwt
  write_env
  log "lab up in $((SECONDS - t0))s; source $lab/env"
}

COMPONENTS=(prometheus istiod kwok kube-scheduler kube-controller-manager kube-apiserver etcd)

cmd_down() {
  local c pid
  dataplane down --all || true # its processes and addresses (and its namespaces while the API server runs)
  for c in "${COMPONENTS[@]}"; do
    [[ -f "$run/$c.pid" ]] || continue
    pid="$(cat "$run/$c.pid")"
    if kill -0 "$pid" 2>/dev/null; then
      log "stopping $c ($pid)"
      kill "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f "$run/$c.pid"
  done
}

cmd_reset() {
  cmd_down
  log "wiping $lab (keeping bin/)"
  rm -rf "$data" "$pki" "$logs" "$run" "$lab/istiod" "$lab"/*.kubeconfig "$kubeconfig" "$lab/env" "$lab/prometheus.yml" \
    "$lab/demo-jwt" "$lab/dataplane"
}

cmd_status() {
  local bad=0
  check() { # NAME CMD...
    local name=$1; shift
    if running "$name" && "$@" >/dev/null 2>&1; then
      printf '%-24s healthy (pid %s)\n' "$name" "$(cat "$run/$name.pid")"
    elif running "$name"; then
      printf '%-24s UNHEALTHY (pid %s, see %s)\n' "$name" "$(cat "$run/$name.pid")" "$logs/$name.log"; bad=1
    else
      printf '%-24s stopped\n' "$name"; bad=1
    fi
  }
  check etcd curl -sf "http://127.0.0.1:$LAB_ETCD_PORT/health"
  check kube-apiserver https_ok "https://127.0.0.1:$LAB_APISERVER_PORT/readyz" "$pki/admin.crt" "$pki/admin.key"
  check kube-controller-manager https_ok_insecure "https://127.0.0.1:$LAB_CONTROLLER_MANAGER_PORT/healthz"
  check kube-scheduler https_ok_insecure "https://127.0.0.1:$LAB_SCHEDULER_PORT/healthz"
  check kwok curl -sf "http://127.0.0.1:$LAB_KWOK_PORT/healthz"
  check istiod curl -sf "http://127.0.0.1:$LAB_ISTIOD_HTTP_PORT/ready"
  check prometheus curl -sf "http://127.0.0.1:$LAB_PROMETHEUS_PORT/-/ready"
  local podman
  if podman="$("$here/podman.sh" check 2>&1)"; then
    printf '%-24s installed (%s)\n' podman "$podman"
  else
    printf '%-24s NOT READY: %s\n' podman "$podman"; bad=1
  fi
  dataplane status || bad=1
  return $bad
}

# The data plane's commands live in lab/dataplane.py (Python standard library only).
dataplane() {
  MESHOPS_LAB_DIR="$lab" LAB_ISTIOD_SECURE_GRPC_PORT="$LAB_ISTIOD_SECURE_GRPC_PORT" \
    LAB_ISTIOD_HTTP_PORT="$LAB_ISTIOD_HTTP_PORT" LAB_POD_CIDR="$POD_CIDR" python3 "$here/dataplane.py" "$@"
}

mkdir -p "$lab"
case "${1:-}" in up | down | reset)
  # One lifecycle command at a time; a concurrent `up` waits and then finds the lab running.
  exec 8>"$lab/lab.lock"
  flock 8
  ;;
esac

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  reset) cmd_reset ;;
  status) cmd_status ;;
  dataplane) shift; dataplane "$@" ;;
  _step) shift; mkdir -p "$logs" "$run" "$data"; for f in "$@"; do "$f"; done ;; # debugging: run single steps
  *) echo "usage: $0 up|down|reset|status|dataplane" >&2; exit 2 ;;
esac
