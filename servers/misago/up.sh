#!/usr/bin/env bash
# Misago 0.39.6 (Django forum with a JSON API, from PyPI) on a private PostgreSQL cluster (Debian).
#
#   up.sh [start] [PORT] [PGPORT] [STATE_DIR]  start (defaults 8083, 5433, <state root>/misago)
#   up.sh stop|reset|status [STATE_DIR]        stop Django + PostgreSQL | stop and wipe STATE_DIR
#                                              (a venv in STATE_DIR/venv is kept) | show state
#   up.sh pkgs                                 print the Debian packages it needs
#
# Idempotent. Celery tasks run eagerly in-process (no broker). The virtualenv is shared by all state
# dirs and clones: <cache>/misago-venv-VERSION (<cache> = $SOCIALARCHIVE_CACHE or ~/.cache/socialarchive),
# unless MISAGO_VENV points elsewhere; so the 25 s pip install happens once per machine.
# As root, PostgreSQL runs as the Debian user "postgres", which must be able to enter STATE_DIR.
# Env: MISAGO_PORT, MISAGO_PG_PORT, MISAGO_STATE, MISAGO_VENV. <state root> is $REPO/.state/servers
# unless SOCIALARCHIVE_STATE is set, or /var/tmp/socialarchive-<hash> when the repo is under /root.
# Accounts: admin / AdminPass-12345 (superuser), alice (member), mod1 (Moderator role), "<name>-Pass-123".
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/common.sh"
MISAGO_VERSION=0.39.6
PKGS=(postgresql python3-venv curl)

case "${1:-}" in -h|--help) usage; exit 0 ;; pkgs) echo "${PKGS[*]}"; exit 0 ;; esac
CMD=start
case "${1:-}" in start|stop|reset|status) CMD=$1; shift ;; esac
if [[ $CMD == start ]]; then
  PORT=${1:-${MISAGO_PORT:-8083}}; [[ $# -gt 0 ]] && shift
  PGPORT=${1:-${MISAGO_PG_PORT:-5433}}; [[ $# -gt 0 ]] && shift
fi
STATE=${1:-${MISAGO_STATE:-$(state_root)/misago}}
[[ $STATE == /* ]] || STATE=$PWD/$STATE
VENV=${MISAGO_VENV:-$(cache_dir)/misago-venv-$MISAGO_VERSION}
PGDATA=$STATE/pg
WEB_PID=$STATE/server.pid
pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
as_pg() { if [[ $EUID -eq 0 ]]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }   # cd: cwd may be closed to postgres
pg_running() { [[ -f $PGDATA/postmaster.pid ]] && as_pg "$(pgbin)/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

stop_all() {
  stop_group "$WEB_PID" "--pythonpath $STATE"
  if pg_running; then as_pg "$(pgbin)/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null; fi
}
case $CMD in
  stop)   stop_all; echo "misago stopped ($STATE)"; exit 0 ;;
  reset)  stop_all
          if [[ -d $STATE ]]; then find "$STATE" -mindepth 1 -maxdepth 1 ! -path "$STATE/venv" -exec rm -rf {} +; fi
          echo "misago state wiped ($STATE; a venv in it is kept)"; exit 0 ;;
  status) rc=0
          owned "$WEB_PID" "--pythonpath $STATE" && echo "django running on port $(cat "$STATE/port")" || { echo "django not running"; rc=3; }
          pg_running && echo "postgresql running on port $(sed -n 4p "$PGDATA/postmaster.pid")" || { echo "postgresql not running"; rc=3; }
          exit $rc ;;
esac

check_port_arg "$PORT"; check_port_arg "$PGPORT"
if ! { owned "$WEB_PID" "--pythonpath $STATE" && [[ $(cat "$STATE/port" 2>/dev/null) == "$PORT" ]]; } && port_busy "$PORT"; then
  die "127.0.0.1:$PORT is already in use by another process"
fi
if ! { pg_running && [[ $(sed -n 4p "$PGDATA/postmaster.pid") == "$PGPORT" ]]; } && port_busy "$PGPORT"; then
  die "127.0.0.1:$PGPORT is already in use by another process"
fi
(umask 022; mkdir -p "$STATE")   # user postgres must be able to enter it
echo "== start $(date -Is) port=$PORT pgport=$PGPORT" >>"$STATE/timing.txt"
T_ALL=$(now)

# 1. Debian packages, then the venv from PyPI
T=$(now)
got=$(ensure_pkgs "$STATE/apt.log" "${PKGS[@]}")
log_time apt_install_s "$(el "$T") (installed: $got)"
if [[ $EUID -eq 0 ]] && ! runuser -u postgres -- test -x "$STATE"; then
  die "user postgres cannot enter $STATE (PostgreSQL refuses to run as root); use a state dir outside private home directories"
fi
T=$(now)
if [[ ! -f $VENV/.complete ]]; then
  mkdir -p "$(dirname "$VENV")"
  (   # one installer at a time for a shared venv
    flock 9
    if [[ ! -f $VENV/.complete ]]; then
      rm -rf "$VENV"
      /usr/bin/python3 -m venv "$VENV" && "$VENV/bin/pip" install -q "misago==$MISAGO_VERSION" >"$STATE/pip.log" 2>&1 \
        || { tail -n 20 "$STATE/pip.log" >&2; exit 1; }
      touch "$VENV/.complete"
    fi
  ) 9>"$VENV.lock" || die "venv or pip install failed (see $STATE/pip.log)"
  log_time pip_install_s "$(el "$T") ($VENV)"
fi

# 2. private PostgreSQL cluster: trust auth, TCP on 127.0.0.1:PGPORT only, no unix socket
T=$(now)
PGBIN=$(pgbin); [[ -n $PGBIN ]] || die "PostgreSQL binaries not found"
if [[ ! -f $PGDATA/PG_VERSION ]]; then
  rm -rf "$PGDATA"
  if [[ $EUID -eq 0 ]]; then install -d -o postgres -g postgres -m 700 "$PGDATA"; else install -d -m 700 "$PGDATA"; fi
  as_pg "$PGBIN/initdb" -D "$PGDATA" -A trust -U postgres -E UTF8 >"$STATE/initdb.log" 2>&1 || die "initdb failed (see $STATE/initdb.log)"
  log_time pg_initdb_s "$(el "$T")"
fi
T=$(now)
if pg_running && [[ $(sed -n 4p "$PGDATA/postmaster.pid") != "$PGPORT" ]]; then
  as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null
fi
if ! pg_running; then
  port_busy "$PGPORT" && die "127.0.0.1:$PGPORT is already in use by another process"
  as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -w -l "$PGDATA/server.log" \
    -o "-p $PGPORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" start >/dev/null \
    || { tail "$PGDATA/server.log"; die "PostgreSQL did not start"; }
fi
PSQL=(psql -h 127.0.0.1 -p "$PGPORT" -U postgres -tAq)
"${PSQL[@]}" -c "select 1 from pg_roles where rolname='misago'" | grep -q 1 || "${PSQL[@]}" -c "create role misago login password 'misago'"
"${PSQL[@]}" -c "select 1 from pg_database where datname='misago'" | grep -q 1 || "${PSQL[@]}" -c "create database misago owner misago encoding 'UTF8'"
log_time pg_start_s "$(el "$T")"

# 3. Django settings: the devproject shipped in the wheel + local overrides
mkdir -p "$STATE/media" "$STATE/static"
cat >"$STATE/misago_local_settings.py" <<PY
from devproject.settings import *  # noqa: F401,F403
DATABASES["default"].update(NAME="misago", USER="misago", PASSWORD="misago", HOST="127.0.0.1", PORT=$PGPORT)
MEDIA_ROOT = "$STATE/media"
STATIC_ROOT = "$STATE/static"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = "memory://"
MIDDLEWARE = [m for m in MIDDLEWARE if "debug_toolbar" not in m]
INSTALLED_APPS = [a for a in INSTALLED_APPS if a != "debug_toolbar"]
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
CSRF_TRUSTED_ORIGINS = ["http://127.0.0.1:$PORT"]
EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
PY
export PYTHONPATH=$STATE DJANGO_SETTINGS_MODULE=misago_local_settings
DJ=("$VENV/bin/python" -m django)

# 4. migrate + superuser (once)
T=$(now)
if [[ ! -f $STATE/.installed ]]; then
  "${DJ[@]}" migrate --noinput >"$STATE/migrate.log" 2>&1 || die "migrate failed (see $STATE/migrate.log)"
  "${DJ[@]}" createsuperuser --username admin --email admin@example.com --password AdminPass-12345 --noinput \
    >>"$STATE/migrate.log" 2>&1 || die "createsuperuser failed (see $STATE/migrate.log)"
  touch "$STATE/.installed"
  log_time misago_migrate_s "$(el "$T")"
fi

# 5. Django development server (threaded, static files served in DEBUG)
T=$(now)
BASE="http://127.0.0.1:$PORT"
up() { curl -fsS -m 5 "$BASE/api/threads/" >/dev/null; }
if owned "$WEB_PID" "--pythonpath $STATE" && [[ $(cat "$STATE/port" 2>/dev/null) == "$PORT" ]] && up; then
  :
else
  stop_group "$WEB_PID" "--pythonpath $STATE"
  port_busy "$PORT" && die "127.0.0.1:$PORT is already in use by another process"
  setsid nohup "$VENV/bin/python" -m django runserver --noreload --pythonpath "$STATE" --settings=misago_local_settings \
    "127.0.0.1:$PORT" >"$STATE/server.log" 2>&1 </dev/null &
  echo $! >"$WEB_PID"; echo "$PORT" >"$STATE/port"
  wait_for up || { tail "$STATE/server.log"; die "Misago did not come up"; }
fi
log_time start_s "$(el "$T")"

# 6. categories, per-category ACL and users (Django shell), then a minimal seed through the API (once)
T=$(now)
if [[ ! -f $STATE/.seeded ]]; then
  STATE_DIR=$STATE "${DJ[@]}" shell -c "exec(open('$HERE/setup_acl.py').read())" | tee "$STATE/seed.log"
  python3 "$HERE/seed.py" "$BASE" "$STATE" | tee -a "$STATE/seed.log"
  touch "$STATE/.seeded"
  log_time seed_s "$(el "$T")"
fi
log_time total_s "$(el "$T_ALL")"
echo "Misago up: $BASE/api/  (admin / AdminPass-12345; PostgreSQL 127.0.0.1:$PGPORT; state $STATE)"
