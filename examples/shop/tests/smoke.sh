#!/usr/bin/env bash
# Smoke test of the demo shop on podman-compose: build, up, wait for the
# gateway's /health, create a user, place an order through the gateway, check
# that the order was charged (payment id) and that the payment exists, then
# always tear down (down -v). Exits non-zero on any failure.
#
# Env:
#   PODMAN_COMPOSE  the podman-compose command (default: podman-compose on PATH)
#   SHOP_PROJECT    compose project name (default: meshops-shop-smoke, so a
#                   stack you run yourself is not touched by `down -v`)
#   SMOKE_TIMEOUT   seconds to wait for the gateway to be healthy (default: 90)
#   SKIP_BUILD=1    skip build.sh and `podman-compose build`
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
compose_file=$here/docker-compose.yml
project=${SHOP_PROJECT:-meshops-shop-smoke}
timeout=${SMOKE_TIMEOUT:-90}
gateway=http://127.0.0.1:8080
frontend=http://127.0.0.1:3000
read -r -a PC <<<"${PODMAN_COMPOSE:-podman-compose}"

t0=$SECONDS
log() { printf '[smoke %3ds] %s\n' "$((SECONDS - t0))" "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }
pc() { "${PC[@]}" -p "$project" -f "$compose_file" "$@"; }

command -v "${PC[0]}" >/dev/null || fail "podman-compose not found; install it, e.g.
  python3 -m venv /tmp/pc-venv && /tmp/pc-venv/bin/pip install podman-compose
  PODMAN_COMPOSE=/tmp/pc-venv/bin/podman-compose $0"
command -v curl >/dev/null || fail "curl not found"
command -v python3 >/dev/null || fail "python3 not found (used to read JSON)"

up=0
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if ((up)); then
    if ((rc != 0)); then
      log "logs (last 20 lines per service):"
      for svc in postgres users orders payments api-gateway frontend; do
        pc logs --no-color --no-log-prefix --tail 20 "$svc" 2>&1 | sed "s/^/  $svc| /" >&2 || true
      done
    fi
    log "tearing down (down -v)"
    pc down -v -t 5 >/dev/null 2>&1 || log "WARNING: down -v failed"
  fi
  if ((rc == 0)); then log "PASS (total $((SECONDS - t0))s)"; else log "exit $rc"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# JSON field from stdin: json_get key [key...]
json_get() {
  python3 -c 'import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1:]:
    v = v[int(k)] if isinstance(v, list) else v.get(k)
print("" if v is None else v)' "$@"
}

# req METHOD URL [JSON]: sets STATUS and BODY; sends a fixed request id.
rid="smoke-$$-$RANDOM"
req() {
  local out
  out=$(curl -sS --max-time 10 -X "$1" -H "x-request-id: $rid" \
    -H 'Content-Type: application/json' ${3:+--data "$3"} -w '\n%{http_code}' "$2") ||
    fail "$1 $2: curl failed"
  STATUS=${out##*$'\n'}
  BODY=${out%$'\n'*}
  BODY=${BODY%$'\n'}
  log "$1 ${2#http://127.0.0.1} -> $STATUS $BODY"
}
expect() { [[ "$STATUS" == "$1" ]] || fail "expected HTTP $1, got $STATUS"; }

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  log "build.sh"
  "$here/build.sh"
  log "podman-compose build"
  pc build >/dev/null
fi
t_build=$((SECONDS - t0))

pc down -v -t 5 >/dev/null 2>&1 || true # leftovers of an interrupted run
for url in "$gateway" "$frontend"; do
  if curl -s -o /dev/null --max-time 2 "$url/"; then
    fail "something already listens on ${url#http://} (a running shop? podman-compose -f $compose_file down)"
  fi
done

log "podman-compose up -d (project $project)"
up=1
pc up -d >/dev/null 2>&1 || fail "podman-compose up -d failed"

log "waiting (up to ${timeout}s) for $gateway/health = 200"
t_up=$SECONDS
deadline=$((SECONDS + timeout))
while :; do
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$gateway/health" || true)
  [[ "$code" == 200 ]] && break
  ((SECONDS < deadline)) || { curl -s --max-time 3 "$gateway/health" >&2 || true; fail "gateway not healthy after ${timeout}s (last status $code)"; }
  sleep 0.5
done
t_healthy=$((SECONDS - t_up))
log "gateway healthy after ${t_healthy}s"
req GET "$gateway/health"
[[ "$(json_get backends payments status <<<"$BODY")" == ok ]] || fail "health body lacks payments=ok"

email="smoke-$$-$RANDOM@example.com"
req POST "$gateway/api/users" "{\"name\":\"Smoke Test\",\"email\":\"$email\"}"
expect 201
user_id=$(json_get id <<<"$BODY")
[[ "$user_id" =~ ^[0-9]+$ ]] || fail "no user id"

req GET "$gateway/api/users/$user_id"
expect 200
[[ "$(json_get email <<<"$BODY")" == "$email" ]] || fail "user $user_id has the wrong email"

req POST "$gateway/api/orders" "{\"user_id\":$user_id,\"product\":\"mesh-mug\",\"quantity\":2,\"amount_cents\":2598}"
expect 201
order_id=$(json_get id <<<"$BODY")
payment_id=$(json_get payment_id <<<"$BODY")
[[ "$order_id" =~ ^[0-9]+$ ]] || fail "no order id"
[[ "$payment_id" =~ ^[0-9]+$ ]] || fail "order $order_id has no payment id"
[[ "$(json_get status <<<"$BODY")" == paid ]] || fail "order $order_id is not paid"

req GET "$gateway/api/orders/$order_id"
expect 200
[[ "$(json_get payment_id <<<"$BODY")" == "$payment_id" ]] || fail "stored order lacks payment id $payment_id"

req GET "$gateway/api/payments/$payment_id"
expect 200
[[ "$(json_get order_id <<<"$BODY")" == "$order_id" ]] || fail "payment $payment_id is not for order $order_id"
[[ "$(json_get amount_cents <<<"$BODY")" == 2598 ]] || fail "payment $payment_id has the wrong amount"

req GET "$gateway/api/payments/999999"
expect 404

# The frontend serves its page and proxies /api to the gateway.
req GET "$frontend/health"
expect 200
req GET "$frontend/api/orders/$order_id"
expect 200
[[ "$(json_get payment_id <<<"$BODY")" == "$payment_id" ]] || fail "frontend proxy returned another order"
curl -fsS --max-time 5 "$frontend/" | grep -q '<title>meshops demo shop</title>' || fail "frontend page"

# The request id sent to the gateway reached payments through orders.
if ! pc logs --no-color --no-log-prefix payments 2>/dev/null | grep -q "path=\"/api/payments\" status=201 .*request_id=$rid"; then
  fail "payments did not log the request id $rid forwarded by orders"
fi
log "x-request-id $rid propagated gateway -> orders -> payments"

log "timings: build ${t_build}s, up->healthy ${t_healthy}s"
