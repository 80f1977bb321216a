#!/usr/bin/env bash
# Apache Chemistry OpenCMIS InMemory server 1.1.0 (WAR from Maven) under jetty-runner 9.4 on 127.0.0.1:PORT.
#
#   up.sh [start] [PORT] [STATE_DIR]    start (default PORT 8090, STATE_DIR <state root>/opencmis)
#   up.sh stop|reset|status [STATE_DIR] stop the server | stop and wipe STATE_DIR | show state
#   up.sh pkgs                          print the Debian packages it needs
#
# Idempotent: installs missing Debian packages, downloads the WAR and jetty-runner once with Maven into
# <cache>/opencmis (<cache> = $SOCIALARCHIVE_CACHE or ~/.cache/socialarchive), unpacks and patches the
# WAR once into STATE_DIR/war (patch_war.py: repository filler off, SOAP servlets removed, which fail on
# Java 17), and only (re)starts Java when it is not already serving from this STATE_DIR on PORT.
# The repository lives in memory: every restart empties it. Repository id A1.
# Browser binding: http://127.0.0.1:PORT/inmemory/browser (AtomPub: .../inmemory/atom11).
# Any Basic-auth user/password is accepted (e.g. admin / admin); without a Basic header it answers 401.
# CMIS_TYPES=FILE: the server loads the type definitions in FILE at start (InMemoryServer.TypeDefinitionsFile;
# copied to STATE_DIR/types.xml; a changed file re-patches and restarts), and start fails unless every type id in
# FILE is then served: the CMIS 1.0 mode's test server (FILE from `socialarchive docs cmis10-type`, shipped as
# docker/cmis10/socialarchive-types.xml). Use a state dir of its own for it.
# Env: CMIS_PORT, CMIS_STATE, CMIS_HEAP (JVM -Xmx, default 1g; InMemory keeps every content stream in
# the heap, so a 1 GiB document needs about 4g: bench/memory.py starts its own server with that). <state root> is $REPO/.state/servers unless SOCIALARCHIVE_STATE is set.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/common.sh"
PKGS=(openjdk-17-jre-headless maven curl python3)
WAR_GAV=org.apache.chemistry.opencmis:chemistry-opencmis-server-inmemory:1.1.0:war
WAR_FILE=chemistry-opencmis-server-inmemory-1.1.0.war
PATCH_ID="$WAR_FILE patch 2"   # bump when patch_war.py changes: existing state dirs are re-patched
JETTY_GAV=org.eclipse.jetty:jetty-runner:9.4.57.v20241219
JETTY_FILE=jetty-runner-9.4.57.v20241219.jar
CTX=/inmemory

case "${1:-}" in -h|--help) usage; exit 0 ;; pkgs) echo "${PKGS[*]}"; exit 0 ;; esac
CMD=start
case "${1:-}" in start|stop|reset|status) CMD=$1; shift ;; esac
if [[ $CMD == start ]]; then PORT=${1:-${CMIS_PORT:-8090}}; [[ $# -gt 0 ]] && shift; fi
STATE=${1:-${CMIS_STATE:-$(state_root)/opencmis}}
[[ $STATE == /* ]] || STATE=$PWD/$STATE
PIDF=$STATE/server.pid
OWN=$STATE/war            # the java command line names this directory
TYPES=${CMIS_TYPES:-}
if [[ $CMD == start && -n $TYPES ]]; then
  [[ -f $TYPES ]] || die "CMIS_TYPES=$TYPES: no such file"
  PATCH_ID="$PATCH_ID types $(sha256sum <"$TYPES" | cut -c1-64)"
fi

case $CMD in
  stop)   stop_group "$PIDF" "$OWN"; echo "opencmis stopped ($STATE)"; exit 0 ;;
  reset)  stop_group "$PIDF" "$OWN"; rm -rf "$STATE"; echo "opencmis state wiped ($STATE)"; exit 0 ;;
  status) if owned "$PIDF" "$OWN"; then echo "opencmis running on port $(cat "$STATE/port")"; else echo "opencmis not running"; exit 3; fi; exit 0 ;;
esac

check_port_arg "$PORT"
if ! { owned "$PIDF" "$OWN" && [[ $(cat "$STATE/port" 2>/dev/null) == "$PORT" ]]; } && port_busy "$PORT"; then
  die "127.0.0.1:$PORT is already in use by another process"
fi
mkdir -p "$STATE/tmp"
echo "== start $(date -Is) port=$PORT" >>"$STATE/timing.txt"
T_ALL=$(now)

# 1. Debian packages
T=$(now)
got=$(ensure_pkgs "$STATE/apt.log" "${PKGS[@]}")
log_time apt_install_s "$(el "$T") (installed: $got)"

# 2. WAR and jetty-runner from Maven, once per machine (cached outside the repository)
T=$(now)
DL=$(cache_dir)/opencmis
if [[ ! -s $DL/$WAR_FILE || ! -s $DL/$JETTY_FILE ]]; then
  mkdir -p "$DL"
  (   # one downloader at a time; files appear only when complete
    flock 9
    for pair in "$WAR_GAV $WAR_FILE" "$JETTY_GAV $JETTY_FILE"; do
      read -r gav file <<<"$pair"
      [[ -s $DL/$file ]] && continue
      tmp=$(mktemp -d "$DL/dl.XXXXXX")
      mvn -q -B dependency:copy -Dartifact="$gav" -DoutputDirectory="$tmp" >>"$STATE/mvn.log" 2>&1 \
        && [[ -s $tmp/$file ]] && mv "$tmp/$file" "$DL/$file" || { rm -rf "$tmp"; tail -n 20 "$STATE/mvn.log" >&2; exit 1; }
      rm -rf "$tmp"
    done
  ) 9>"$DL/.lock" || die "Maven download failed (see $STATE/mvn.log)"
  log_time maven_fetch_s "$(el "$T")"
fi

# 3. unpacked, patched web application (once per state dir)
T=$(now)
if [[ $(cat "$STATE/war/.patched" 2>/dev/null) != "$PATCH_ID" ]]; then
  stop_group "$PIDF" "$OWN"
  rm -rf "$STATE/war" "$STATE/war.new"
  python3 -m zipfile -e "$DL/$WAR_FILE" "$STATE/war.new" || die "cannot unpack $DL/$WAR_FILE"
  TYPE_ARGS=()
  if [[ -n $TYPES ]]; then cp "$TYPES" "$STATE/types.xml"; TYPE_ARGS=(--types "$STATE/types.xml"); fi
  python3 "$HERE/patch_war.py" "$STATE/war.new" "${TYPE_ARGS[@]}" >>"$STATE/install.log" || die "patching the WAR failed"
  echo "$PATCH_ID" >"$STATE/war.new/.patched"
  mv "$STATE/war.new" "$STATE/war"
  log_time war_unpack_s "$(el "$T")"
fi

# 4. jetty-runner (own process group, so that stop ends it with everything it started)
T=$(now)
BASE="http://127.0.0.1:$PORT$CTX"
up() { curl -fsS -m 5 -u admin:admin "$BASE/browser" | grep -q '"A1"'; }
if owned "$PIDF" "$OWN" && [[ $(cat "$STATE/port" 2>/dev/null) == "$PORT" ]] && up; then
  :
else
  stop_group "$PIDF" "$OWN"
  port_busy "$PORT" && die "127.0.0.1:$PORT is already in use by another process"
  setsid nohup java -Xmx"${CMIS_HEAP:-1g}" -Djava.io.tmpdir="$STATE/tmp" -jar "$DL/$JETTY_FILE" \
    --host 127.0.0.1 --port "$PORT" --path "$CTX" "$STATE/war" >"$STATE/server.log" 2>&1 </dev/null &
  echo $! >"$PIDF"; echo "$PORT" >"$STATE/port"
  WAIT_S=120 wait_for up || { tail -n 30 "$STATE/server.log"; die "OpenCMIS did not come up"; }
fi
if [[ -n $TYPES ]]; then   # InMemory only logs a type file it could not load: ask for every type in it
  for type_id in $(python3 -c 'import re,sys; print(" ".join(re.findall(r"<(?:cmisra:)?type\b[^>]*>\s*<id>([^<]+)</id>", open(sys.argv[1]).read())))' "$STATE/types.xml"); do
    curl -fsS -m 5 -u admin:admin -o /dev/null -G "$BASE/browser/A1" --data-urlencode cmisselector=typeDefinition \
      --data-urlencode "typeId=$type_id" || { grep -i "type definitions" "$STATE/server.log" | tail -n 3 >&2
                                               die "type $type_id from $TYPES is not served (see $STATE/server.log)"; }
  done
fi
log_time start_s "$(el "$T")"
log_time total_s "$(el "$T_ALL")"
echo "OpenCMIS up: $BASE/browser  (repository A1;${TYPES:+ types from $TYPES;} any Basic-auth user, e.g. admin/admin; in memory, empty after each restart; state $STATE)"
