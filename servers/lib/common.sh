# Shared shell functions for the loopback test-server scripts (sourced, not executed).
# Everything binds to 127.0.0.1 only. Processes are tracked by pid files in the state dir and
# are only signalled after checking that their command line mentions that state dir.

SA_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

now() { date +%s.%N; }
el() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.2f", b-a}'; }
die() { echo "error: $*" >&2; exit 1; }
log_time() { echo "$1=$2" | tee -a "$STATE/timing.txt"; }

# world_searchable DIR : true if every existing directory on the way to DIR can be entered by
# "others" (PostgreSQL runs as the Debian user postgres and must reach its data directory).
world_searchable() {
  local d=$1
  while [[ ! -d $d ]]; do d=$(dirname "$d"); done
  while :; do
    [[ $(stat -c %A "$d") == *[xt] ]] || return 1
    [[ $d == / ]] && return 0
    d=$(dirname "$d")
  done
}

# state_root : the folder that holds <server>/ state directories.
#   $SOCIALARCHIVE_STATE/servers if SOCIALARCHIVE_STATE is set, else $REPO/.state/servers, unless the
#   repository sits where user postgres cannot enter (e.g. under /root) or its path is too long for
#   MariaDB's unix socket; then /var/tmp/socialarchive-<hash of the repo path>/servers.
state_root() {
  local base
  if [[ -n ${SOCIALARCHIVE_STATE:-} ]]; then
    base=$SOCIALARCHIVE_STATE; [[ $base == /* ]] || base=$PWD/$base
  elif world_searchable "$SA_REPO" && ((${#SA_REPO} <= 56)); then
    base=$SA_REPO/.state
  else
    base=/var/tmp/socialarchive-$(printf %s "$SA_REPO" | sha1sum | cut -c1-10)
  fi
  echo "$base/servers"
}

# cache_dir : downloads and the Misago venv, shared by all clones (never committed).
cache_dir() { echo "${SOCIALARCHIVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/socialarchive}"; }

# ensure_pkgs LOGFILE PKG... : install missing Debian packages, non-interactively; prints what it
# installed ("none" if nothing). apt-get update runs once per process tree: set SA_APT_UPDATED=1
# to skip it when the caller already ran it. A temporary policy-rc.d keeps apt from starting system
# services (apache2, mariadb, postgresql).
ensure_pkgs() {
  local log=$1; shift
  local missing=() p rc=0 made_policy=
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]} == 0)); then echo "none"; return 0; fi
  [[ $EUID -eq 0 ]] || die "root needed to install Debian packages: ${missing[*]}"
  mkdir -p "$(dirname "$log")"
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1
  fi
  {
    if [[ -z ${SA_APT_UPDATED:-} ]]; then apt-get update -q; fi &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
  } >>"$log" 2>&1 || rc=$?
  [[ -n $made_policy ]] && rm -f /usr/sbin/policy-rc.d
  ((rc == 0)) || { tail -n 20 "$log" >&2; die "apt-get install ${missing[*]} failed (see $log)"; }
  export SA_APT_UPDATED=1
  echo "${missing[*]}"
}

# owned PIDFILE PATTERN : true if the pid in PIDFILE is alive and its command line contains PATTERN
owned() {
  local pid
  [[ -f $1 ]] || return 1
  pid=$(cat "$1"); [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$2"
}

# stop_group PIDFILE PATTERN : SIGTERM the process group led by the pid (started with setsid), wait, remove pidfile
stop_group() {
  local pid
  if owned "$1" "$2"; then
    pid=$(cat "$1")
    kill -- "-$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; }
  fi
  rm -f "$1"
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for CMD... : retry a command for up to WAIT_S seconds (default 30)
wait_for() {
  local end=$((SECONDS + ${WAIT_S:-30}))
  while ((SECONDS < end)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
  "$@" >/dev/null 2>&1
}

check_port_arg() { [[ $1 =~ ^[0-9]+$ ]] && (($1 > 0 && $1 < 65536)) || die "not a port: $1"; }

# usage : print the comment block at the top of the calling script
usage() { sed -n '2,/^set -e/{/^#/s/^# \{0,1\}//p}' "$0"; }
