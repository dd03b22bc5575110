#!/usr/bin/env bash
# Detect the compose engine: detect-engine.sh WANT [DIR...]
#   WANT  auto (docker compose with a reachable daemon, then podman compose, then podman-compose),
#         docker, podman or podman-compose
#   DIR   directories searched for the engine's binary before PATH
# Prints one JSON line, the engine's name and the command that runs it:
#   {"engine": "podman", "command": ["/usr/bin/podman", "compose"]}
# or, when none works, what was tried on stderr and exits 1.
set -u
want=${1:-auto}
shift || true
dirs=("$@")
tried=()

bin() {
  local d
  for d in "${dirs[@]}"; do
    if [[ -n "$d" && -x "$d/$1" ]]; then printf '%s\n' "$d/$1"; return 0; fi
  done
  command -v "$1"
}

found() { printf '{"engine": "%s", "command": [%s]}\n' "$1" "$2"; exit 0; }

try_docker() {
  local docker
  docker=$(bin docker) || { tried+=("docker compose: no docker"); return 1; }
  timeout 30 "$docker" compose version >/dev/null 2>&1 || { tried+=("docker compose: $docker has no compose plugin"); return 1; }
  timeout 30 "$docker" info >/dev/null 2>&1 || { tried+=("docker compose: no Docker daemon answers"); return 1; }
  found docker "\"$docker\", \"compose\""
}

try_podman() {
  local podman
  podman=$(bin podman) || { tried+=("podman compose: no podman"); return 1; }
  timeout 30 "$podman" compose version >/dev/null 2>&1 || { tried+=("podman compose: $podman has no compose command or provider"); return 1; }
  found podman "\"$podman\", \"compose\""
}

try_podman_compose() {
  local pc
  pc=$(bin podman-compose) || { tried+=("podman-compose: not found in ${dirs[*]} or PATH"); return 1; }
  timeout 30 "$pc" version >/dev/null 2>&1 || { tried+=("podman-compose: '$pc version' fails"); return 1; }
  found podman-compose "\"$pc\""
}

case $want in
  auto) try_docker || try_podman || try_podman_compose ;;
  docker) try_docker ;;
  podman) try_podman ;;
  podman-compose) try_podman_compose ;;
  *) tried+=("unknown engine $want") ;;
esac
printf 'no compose engine (%s): %s\n' "$want" "$(IFS=';'; echo "${tried[*]}")" >&2
exit 1
