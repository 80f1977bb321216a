#!/usr/bin/env bash
# Start, stop or wipe the loopback test servers under one state root.
#   up-all.sh [start|stop|reset|status] [STATE_ROOT]   manage the servers (default: start)
#   up-all.sh root                                     print the state root
#   up-all.sh pkgs                                     print the Debian packages they need
# SERVERS picks a subset, in order (default "opencmis opencmis10 mediawiki wordpress misago"; opencmis10 is
# InMemory with our CMIS 1.0 type loaded from docker/cmis10, for the CMIS 1.0 mode's tests).
# STATE_ROOT defaults to $REPO/.state/servers, or $SOCIALARCHIVE_STATE/servers when that is set; a repo
# that user postgres cannot enter (e.g. under /root) gets /var/tmp/socialarchive-<hash>/servers instead.
# Ports come from the environment: CMIS_PORT (8090), CMIS10_PORT (8091), MW_PORT (8081), WP_PORT (8082), WP_DB_PORT (3307),
# MISAGO_PORT (8083), MISAGO_PG_PORT (5433). Exit status: 0 ok, 1 a start failed, 3 status: not all running.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib/common.sh"
case "${1:-}" in -h|--help) usage; exit 0 ;; esac
SERVERS=${SERVERS:-opencmis opencmis10 mediawiki wordpress misago}
for s in $SERVERS; do [[ -x $HERE/$s/up.sh ]] || die "unknown server '$s' in SERVERS"; done

CMD=start
case "${1:-}" in start|stop|reset|status|root|pkgs) CMD=$1; shift ;; esac
ROOT=${1:-$(state_root)}
[[ $ROOT == /* ]] || ROOT=$PWD/$ROOT

# chromium: the tests render the HTML report headless (tests/e2e/test_backfill_resume.py)
pkgs() { { for s in $SERVERS; do "$HERE/$s/up.sh" pkgs; done; echo chromium; } | tr ' ' '\n' | sort -u | tr '\n' ' '; }
case $CMD in
  root) echo "$ROOT"; exit 0 ;;
  pkgs) pkgs; echo; exit 0 ;;
  start) ;;
  *) rc=0
     for s in $SERVERS; do "$HERE/$s/up.sh" "$CMD" "$ROOT/$s" | sed "s/^/$s: /" || rc=$?; done
     exit $rc ;;
esac

T_ALL=$(now)
(umask 022; mkdir -p "$ROOT")
# all missing Debian packages in one apt transaction (the scripts then find nothing to install)
T=$(now)
# shellcheck disable=SC2046
got=$(ensure_pkgs "$ROOT/apt.log" $(pkgs))
[[ $got == none ]] || echo "apt: installed $got in $(el "$T") s"
export SA_APT_UPDATED=1
times=()
for s in $SERVERS; do
  T=$(now)
  case $s in
    opencmis)  "$HERE/opencmis/up.sh" start "${CMIS_PORT:-8090}" "$ROOT/opencmis" ;;
    opencmis10) "$HERE/opencmis10/up.sh" start "${CMIS10_PORT:-8091}" "$ROOT/opencmis10" ;;
    mediawiki) "$HERE/mediawiki/up.sh" start "${MW_PORT:-8081}" "$ROOT/mediawiki" ;;
    wordpress) "$HERE/wordpress/up.sh" start "${WP_PORT:-8082}" "${WP_DB_PORT:-3307}" "$ROOT/wordpress" ;;
    misago)    "$HERE/misago/up.sh" start "${MISAGO_PORT:-8083}" "${MISAGO_PG_PORT:-5433}" "$ROOT/misago" ;;
  esac
  times+=("$s $(el "$T")s")
done
echo "up-all: ${times[*]}; total $(el "$T_ALL")s (state $ROOT)"
