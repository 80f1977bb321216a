#!/usr/bin/env bash
# WordPress 6.1 (Debian package "wordpress") with a private MariaDB, served by `php -S` + router.php.
#
#   up.sh [start] [PORT] [DBPORT] [STATE_DIR]  start (defaults 8082, 3307, <state root>/wordpress)
#   up.sh stop|reset|status [STATE_DIR]        stop php -S and mariadbd | stop and wipe STATE_DIR | show state
#   up.sh pkgs                                 print the Debian packages it needs
#
# Idempotent; only what is not already running from this STATE_DIR is (re)started. Nothing outside
# STATE_DIR is written except Debian packages: the packaged code is reached through a symlink farm
# (STATE_DIR/www) that has its own wp-config.php, so Debian's /etc/wordpress dispatch is not used.
# Env: WP_PORT, WP_DB_PORT, WP_STATE. <state root> is $REPO/.state/servers unless SOCIALARCHIVE_STATE
# is set (see lib/common.sh).
# Accounts: admin / AdminPass-12345 (application password in STATE_DIR/app_password),
#           editor, author1 (app password in STATE_DIR/app_password_author1), contrib1, subscriber1
#           with password "<login>-Pass-123". Site timezone Europe/Berlin on purpose (local-time pitfalls).
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/common.sh"
# the wordpress package ships no theme; twentytwentythree is the 6.1 default
PKGS=(wordpress wordpress-theme-twentytwentythree mariadb-server mariadb-client php-cli php-mysql php-gd curl python3)

case "${1:-}" in -h|--help) usage; exit 0 ;; pkgs) echo "${PKGS[*]}"; exit 0 ;; esac
CMD=start
case "${1:-}" in start|stop|reset|status) CMD=$1; shift ;; esac
if [[ $CMD == start ]]; then
  PORT=${1:-${WP_PORT:-8082}}; [[ $# -gt 0 ]] && shift
  DBPORT=${1:-${WP_DB_PORT:-3307}}; [[ $# -gt 0 ]] && shift
fi
STATE=${1:-${WP_STATE:-$(state_root)/wordpress}}
[[ $STATE == /* ]] || STATE=$PWD/$STATE
WP=/usr/share/wordpress
SOCK=$STATE/mysqld.sock
WEB_PID=$STATE/server.pid DB_PID=$STATE/mysqld.pid

stop_all() {
  stop_group "$WEB_PID" "$STATE/www"
  if owned "$DB_PID" "$STATE/mysql"; then
    pid=$(cat "$DB_PID"); kill "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -f "$DB_PID"
}
case $CMD in
  stop)   stop_all; echo "wordpress stopped ($STATE)"; exit 0 ;;
  reset)  stop_all; rm -rf "$STATE"; echo "wordpress state wiped ($STATE)"; exit 0 ;;
  status) rc=0
          owned "$WEB_PID" "$STATE/www" && echo "php -S running on port $(cat "$STATE/port")" || { echo "php -S not running"; rc=3; }
          owned "$DB_PID" "$STATE/mysql" && echo "mariadbd running on port $(cat "$STATE/dbport")" || { echo "mariadbd not running"; rc=3; }
          exit $rc ;;
esac

check_port_arg "$PORT"; check_port_arg "$DBPORT"
if ! { owned "$WEB_PID" "$STATE/www" && [[ $(cat "$STATE/port" 2>/dev/null) == "$PORT" ]]; } && port_busy "$PORT"; then
  die "127.0.0.1:$PORT is already in use by another process"
fi
if ! { owned "$DB_PID" "$STATE/mysql" && [[ $(cat "$STATE/dbport" 2>/dev/null) == "$DBPORT" ]]; } && port_busy "$DBPORT"; then
  die "127.0.0.1:$DBPORT is already in use by another process"
fi
mkdir -p "$STATE"
(( ${#SOCK} < 100 )) || die "state dir path too long for a unix socket: $SOCK"
echo "== start $(date -Is) port=$PORT dbport=$DBPORT" >>"$STATE/timing.txt"
T_ALL=$(now)

# 1. Debian packages
T=$(now)
got=$(ensure_pkgs "$STATE/apt.log" "${PKGS[@]}")
log_time apt_install_s "$(el "$T") (installed: $got)"

# 2. private MariaDB: own datadir and socket, TCP on 127.0.0.1:DBPORT only
T=$(now)
if [[ ! -d $STATE/mysql/mysql ]]; then
  rm -rf "$STATE/mysql"
  mariadb-install-db --no-defaults --datadir="$STATE/mysql" --user="$(id -un)" \
    --auth-root-authentication-method=socket --skip-test-db >"$STATE/mysql-install.log" 2>&1 \
    || die "mariadb-install-db failed (see $STATE/mysql-install.log)"
  log_time mariadb_initdb_s "$(el "$T")"
fi
T=$(now)
dbq() { mariadb --no-defaults -uroot -S "$SOCK" "$@"; }
if ! { owned "$DB_PID" "$STATE/mysql" && [[ $(cat "$STATE/dbport" 2>/dev/null) == "$DBPORT" ]] && dbq -e 'select 1' >/dev/null 2>&1; }; then
  if owned "$DB_PID" "$STATE/mysql"; then kill "$(cat "$DB_PID")"; wait_for eval '! owned "$DB_PID" "$STATE/mysql"'; fi
  port_busy "$DBPORT" && die "127.0.0.1:$DBPORT is already in use by another process"
  setsid nohup mariadbd --no-defaults --datadir="$STATE/mysql" --socket="$SOCK" --port="$DBPORT" \
    --bind-address=127.0.0.1 --user="$(id -un)" --pid-file="$DB_PID" --log-error="$STATE/mysqld.err" \
    --skip-name-resolve --innodb-buffer-pool-size=64M >/dev/null 2>&1 </dev/null &
  echo "$DBPORT" >"$STATE/dbport"
  wait_for dbq -e 'select 1' || { tail "$STATE/mysqld.err"; die "mariadbd did not come up"; }
fi
dbq -e "CREATE DATABASE IF NOT EXISTS wordpress CHARACTER SET utf8mb4;
  CREATE USER IF NOT EXISTS 'wordpress'@'127.0.0.1' IDENTIFIED BY 'wp-db-pass';
  GRANT ALL ON wordpress.* TO 'wordpress'@'127.0.0.1';"
log_time mariadb_start_s "$(el "$T")"

# 3. code farm + config + content dir
mkdir -p "$STATE/www" "$STATE/wp-content/uploads" "$STATE/wp-content/plugins" "$STATE/wp-content/mu-plugins"
for f in "$WP"/*; do
  b=$(basename "$f"); [[ $b == wp-config.php || $b == wp-content ]] && continue
  ln -sfn "$f" "$STATE/www/$b"
done
ln -sfn "$WP/wp-content/themes" "$STATE/wp-content/themes"
install -m 644 "$HERE/loopback-mu-plugin.php" "$STATE/wp-content/mu-plugins/loopback.php"
if [[ ! -f $STATE/salts.php ]]; then
  { echo "<?php"; for k in AUTH_KEY SECURE_AUTH_KEY LOGGED_IN_KEY NONCE_KEY AUTH_SALT SECURE_AUTH_SALT LOGGED_IN_SALT NONCE_SALT; do
      echo "define('$k', '$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')');"; done; } >"$STATE/salts.php"
fi
cat >"$STATE/www/wp-config.php" <<PHP
<?php
// Written by up.sh. ABSPATH is this directory (router.php and wp-install.php define it before wp-load.php).
define('DB_NAME', 'wordpress');
define('DB_USER', 'wordpress');
define('DB_PASSWORD', 'wp-db-pass');
define('DB_HOST', '127.0.0.1:$DBPORT');
define('DB_CHARSET', 'utf8mb4');
\$table_prefix = 'wp_';
require '$STATE/salts.php';
\$__port = (isset(\$_SERVER['HTTP_HOST']) && preg_match('/^127\.0\.0\.1:(\d+)\$/', \$_SERVER['HTTP_HOST'], \$m)) ? \$m[1] : '$PORT';
define('WP_HOME', 'http://127.0.0.1:' . \$__port);
define('WP_SITEURL', 'http://127.0.0.1:' . \$__port);
define('WP_CONTENT_DIR', '$STATE/wp-content');
define('WP_CONTENT_URL', 'http://127.0.0.1:' . \$__port . '/wp-content');
define('WP_ENVIRONMENT_TYPE', 'local');   // Application Passwords over plain http need 'local' (or https)
define('WP_HTTP_BLOCK_EXTERNAL', true);   // no outbound calls (update checks etc.)
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_DEBUG', false);
require_once ABSPATH . 'wp-settings.php';
PHP

# 4. WordPress install (once): wp_install() from PHP CLI, users, application passwords
T=$(now)
if [[ ! -f $STATE/.installed ]]; then
  php "$HERE/wp-install.php" "$PORT" "$STATE" | tee "$STATE/install.log"
  [[ -s $STATE/app_password ]] || die "WordPress install failed (see $STATE/install.log)"
  touch "$STATE/.installed"
  log_time wp_install_s "$(el "$T")"
fi

# 5. php -S with router.php (pretty permalinks, /wp-content from STATE_DIR)
T=$(now)
BASE="http://127.0.0.1:$PORT"
up() { curl -fsS -m 5 "$BASE/wp-json/" | grep -q '"namespaces"'; }
if owned "$WEB_PID" "$STATE/www" && [[ $(cat "$STATE/port" 2>/dev/null) == "$PORT" ]] && up; then
  :
else
  stop_group "$WEB_PID" "$STATE/www"
  port_busy "$PORT" && die "127.0.0.1:$PORT is already in use by another process"
  PHP_CLI_SERVER_WORKERS=4 setsid nohup php -d upload_max_filesize=20M -d post_max_size=25M \
    -S "127.0.0.1:$PORT" -t "$STATE/www" "$HERE/router.php" >"$STATE/server.log" 2>&1 </dev/null &
  echo $! >"$WEB_PID"; echo "$PORT" >"$STATE/port"
  wait_for up || { tail "$STATE/server.log"; die "WordPress did not come up"; }
fi
log_time start_s "$(el "$T")"

# 6. minimal seed through the REST API (once)
T=$(now)
if [[ ! -f $STATE/.seeded ]]; then
  python3 "$HERE/seed.py" "$BASE" admin "$(cat "$STATE/app_password")" | tee "$STATE/seed.log"
  touch "$STATE/.seeded"
  log_time seed_s "$(el "$T")"
fi
log_time total_s "$(el "$T_ALL")"
echo "WordPress up: $BASE/wp-json/  (admin / AdminPass-12345; app password $(cat "$STATE/app_password"); DB 127.0.0.1:$DBPORT; state $STATE)"
