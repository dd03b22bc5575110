#!/bin/bash
# Entry point of localhost/meshops-shop-postgres:15, a stand-in for the
# postgres:15 image (which cannot be pulled here), with the same basic env:
#
#   POSTGRES_USER        superuser created by initdb (default: app)
#   POSTGRES_PASSWORD    its password (required, or POSTGRES_PASSWORD_FILE,
#                        unless POSTGRES_HOST_AUTH_METHOD=trust)
#   POSTGRES_DB          database created for it (default: $POSTGRES_USER)
#   POSTGRES_DATABASES   more databases, owned by POSTGRES_USER
#                        (default: "users orders payments", one per service)
#   PGDATA               data directory (default: /var/lib/postgresql/data)
#
# On first start (empty PGDATA) it runs initdb, creates the role and the
# databases, runs /docker-entrypoint-initdb.d/*.sql|*.sh, and configures
# Postgres to listen on 0.0.0.0 with password (scram-sha-256) auth. Then it
# execs postgres as the postgres user, so postgres is PID 1 and gets the
# stop signal (SIGINT: fast shutdown) directly.
set -Eeuo pipefail

export PGDATA=${PGDATA:-/var/lib/postgresql/data}
log() { printf '%s [entrypoint] %s\n' "$(date -u +'%Y-%m-%d %H:%M:%S UTC')" "$*" >&2; }

if [[ $# -eq 0 || "$1" == -* ]]; then
  set -- postgres "$@"
fi
if [[ "$1" != postgres ]]; then
  exec "$@" # e.g. `podman run -it ... bash`
fi

# As root: prepare the directories, then run this script again as postgres.
if [[ "$(id -u)" == 0 ]]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  chmod 2775 /var/run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
fi

init_cluster() {
  local user=${POSTGRES_USER:-app} auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
  local password=${POSTGRES_PASSWORD:-}
  if [[ -n "${POSTGRES_PASSWORD_FILE:-}" ]]; then
    password=$(<"$POSTGRES_PASSWORD_FILE")
  fi
  if [[ -z "$password" && "$auth" != trust ]]; then
    log "error: database is uninitialized and POSTGRES_PASSWORD is not set"
    log "set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE), or POSTGRES_HOST_AUTH_METHOD=trust"
    exit 1
  fi
  local dbs=() name
  for name in "${POSTGRES_DB:-$user}" ${POSTGRES_DATABASES-users orders payments}; do
    [[ " ${dbs[*]} " == *" $name "* ]] || dbs+=("$name")
  done

  log "initializing $PGDATA (superuser $user, databases: ${dbs[*]})"
  local pwfile
  pwfile=$(mktemp)
  printf '%s\n' "${password:-unused}" >"$pwfile"
  initdb -D "$PGDATA" --username="$user" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host="$auth" >/dev/null
  rm -f "$pwfile"
  {
    echo
    echo "# meshops-shop: clients come from the container network"
    echo "host all all all $auth"
  } >>"$PGDATA/pg_hba.conf"
  {
    echo
    echo "# meshops-shop"
    echo "listen_addresses = '*'"
    echo "unix_socket_directories = '/var/run/postgresql'"
  } >>"$PGDATA/postgresql.conf"

  # A private server on the unix socket only, for the setup.
  pg_ctl -s -D "$PGDATA" -o "-c listen_addresses=''" -w -t 60 start
  local psql=(psql -X -q -v ON_ERROR_STOP=1 --username="$user" --dbname=postgres)
  for name in "${dbs[@]}"; do
    if [[ "$("${psql[@]}" -tA -v db="$name" <<<"SELECT 1 FROM pg_database WHERE datname = :'db'")" != 1 ]]; then
      "${psql[@]}" -v db="$name" -v owner="$user" <<<'CREATE DATABASE :"db" OWNER :"owner";'
      log "created database $name"
    fi
  done
  local f
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sql) log "running $f"; "${psql[@]}" -f "$f" ;;
      *.sh) log "running $f"; bash "$f" ;;
      *) ;;
    esac
  done
  pg_ctl -s -D "$PGDATA" -m fast -w stop
  log "initialization done"
}

shopt -s nullglob
if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  init_cluster
else
  log "using existing database in $PGDATA"
fi
exec "$@" -D "$PGDATA"
