#!/usr/bin/env bash
# MediaWiki 1.39 (Debian package "mediawiki") on SQLite, served by `php -S` on 127.0.0.1:PORT.
#
#   up.sh [start] [PORT] [STATE_DIR]    start (default PORT 8081, STATE_DIR <state root>/mediawiki)
#   up.sh stop|reset|status [STATE_DIR] stop the server | stop and wipe STATE_DIR | show state
#   up.sh pkgs                          print the Debian packages it needs
#
# Idempotent: installs missing Debian packages, installs the wiki once, seeds once, and only
# (re)starts php -S when it is not already serving from this STATE_DIR on PORT.
# Nothing outside STATE_DIR is written except Debian packages. Env: MW_PORT, MW_STATE.
# <state root> is $REPO/.state/servers unless SOCIALARCHIVE_STATE is set (see lib/common.sh).
# Accounts: Admin / AdminPass-12345; bot password "Admin@connector" / contents of STATE_DIR/botpassword.
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/common.sh"
PKGS=(mediawiki php-cli php-sqlite3 php-intl php-mbstring php-xml php-curl curl python3)

case "${1:-}" in -h|--help) usage; exit 0 ;; pkgs) echo "${PKGS[*]}"; exit 0 ;; esac
CMD=start
case "${1:-}" in start|stop|reset|status) CMD=$1; shift ;; esac
if [[ $CMD == start ]]; then PORT=${1:-${MW_PORT:-8081}}; [[ $# -gt 0 ]] && shift; fi
STATE=${1:-${MW_STATE:-$(state_root)/mediawiki}}
[[ $STATE == /* ]] || STATE=$PWD/$STATE
MW=/usr/share/mediawiki
ADMIN=Admin ADMIN_PASS=AdminPass-12345
PIDF=$STATE/server.pid

case $CMD in
  stop)   stop_group "$PIDF" "$STATE/www"; echo "mediawiki stopped ($STATE)"; exit 0 ;;
  reset)  stop_group "$PIDF" "$STATE/www"; rm -rf "$STATE"; echo "mediawiki state wiped ($STATE)"; exit 0 ;;
  status) if owned "$PIDF" "$STATE/www"; then echo "mediawiki running on port $(cat "$STATE/port")"; else echo "mediawiki not running"; exit 3; fi; exit 0 ;;
esac

check_port_arg "$PORT"
if ! { owned "$PIDF" "$STATE/www" && [[ $(cat "$STATE/port" 2>/dev/null) == "$PORT" ]]; } && port_busy "$PORT"; then
  die "127.0.0.1:$PORT is already in use by another process"
fi
mkdir -p "$STATE"
echo "== start $(date -Is) port=$PORT" >>"$STATE/timing.txt"
T_ALL=$(now)

# 1. Debian packages
T=$(now)
got=$(ensure_pkgs "$STATE/apt.log" "${PKGS[@]}")
log_time apt_install_s "$(el "$T") (installed: $got)"

# 2. web root: a symlink farm onto the packaged code, with its own images/ and no LocalSettings.php;
#    MediaWiki finds STATE/LocalSettings.php through the MW_CONFIG_FILE environment variable.
mkdir -p "$STATE/www/images" "$STATE/data"
for f in "$MW"/*; do
  b=$(basename "$f"); [[ $b == images || $b == LocalSettings.php ]] && continue
  ln -sfn "$f" "$STATE/www/$b"
done
export MW_CONFIG_FILE=$STATE/LocalSettings.php

# 3. non-interactive install (once)
T=$(now)
if [[ ! -f $STATE/LocalSettings.php ]]; then
  rm -f "$STATE"/data/*.sqlite
  php "$MW/maintenance/install.php" --dbtype=sqlite --dbpath="$STATE/data" --dbname=testwiki \
      --server="http://127.0.0.1:$PORT" --scriptpath="" --confpath="$STATE" --lang=en \
      --pass="$ADMIN_PASS" --skins=Vector "Test Wiki" "$ADMIN" >"$STATE/install.log" 2>&1 \
    || { rm -f "$STATE/LocalSettings.php"; die "install.php failed (see $STATE/install.log)"; }
  cat >>"$STATE/LocalSettings.php" <<'PHP'

# ---- appended by up.sh ----
require __DIR__ . '/Server.php';                 # $wgServer, rewritten on every start
$wgUploadDirectory = __DIR__ . '/www/images';
$wgUploadPath = '/images';
$wgEnableUploads = true;
$wgFileExtensions = array_merge( $wgFileExtensions, [ 'pdf', 'txt', 'svg' ] );
$wgShowExceptionDetails = true;
$wgMainCacheType = CACHE_NONE;                   # php -S workers share no object cache
$wgEnableBotPasswords = true;
$wgGroupPermissions['sysop']['deleterevision'] = true;   # not granted to sysop by default in 1.39
$wgReadOnlyFile = __DIR__ . '/READONLY';         # a non-empty file (the reason) makes the wiki read-only
if ( is_file( __DIR__ . '/Extra.php' ) ) { require __DIR__ . '/Extra.php'; }   # per-test overrides
PHP
  log_time mw_install_s "$(el "$T")"
fi
echo "<?php \$wgServer = 'http://127.0.0.1:$PORT';" >"$STATE/Server.php"

# 4. php -S (4 workers, own process group so that stop can end the workers too)
T=$(now)
API="http://127.0.0.1:$PORT/api.php"
up() { curl -fsS -m 3 "$API?action=query&meta=siteinfo&format=json" | grep -q '"generator":"MediaWiki'; }
if owned "$PIDF" "$STATE/www" && [[ $(cat "$STATE/port" 2>/dev/null) == "$PORT" ]] && up; then
  :
else
  stop_group "$PIDF" "$STATE/www"
  port_busy "$PORT" && die "127.0.0.1:$PORT is already in use by another process"
  PHP_CLI_SERVER_WORKERS=4 setsid nohup php -d upload_max_filesize=20M -d post_max_size=25M \
    -S "127.0.0.1:$PORT" -t "$STATE/www" >"$STATE/server.log" 2>&1 </dev/null &
  echo $! >"$PIDF"; echo "$PORT" >"$STATE/port"
  wait_for up || { tail "$STATE/server.log"; die "MediaWiki did not come up"; }
fi
log_time start_s "$(el "$T")"

# 5. bot password (once) and a minimal seed through the Action API (once)
T=$(now)
if [[ ! -f $STATE/botpassword ]]; then
  BP=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  php "$MW/maintenance/createBotPassword.php" --appid=connector \
    --grants=basic,highvolume,editpage,editprotected,createeditmovepage,uploadfile,uploadeditmovefile,delete,protect,viewdeleted,viewrestrictedlogs \
    "$ADMIN" "$BP" >>"$STATE/install.log" 2>&1 || die "createBotPassword failed (see $STATE/install.log)"
  echo "$BP" >"$STATE/botpassword"
fi
if [[ ! -f $STATE/.seeded ]]; then
  python3 "$HERE/seed.py" "$API" "$ADMIN@connector" "$(cat "$STATE/botpassword")" | tee "$STATE/seed.log"
  touch "$STATE/.seeded"
  log_time seed_s "$(el "$T")"
fi
log_time total_s "$(el "$T_ALL")"
echo "MediaWiki up: $API  (Admin / $ADMIN_PASS; bot Admin@connector / $(cat "$STATE/botpassword"); state $STATE)"
