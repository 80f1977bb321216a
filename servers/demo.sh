#!/usr/bin/env bash
# The main job on the embedded default: a local OpenCMIS InMemory repository and a seeded local
# MediaWiki, a real `socialarchive sync`, a listing of what was archived, and a search.
#   servers/demo.sh            (run by `make demo`, after `make venv`)
# Everything listens on 127.0.0.1 only; state lives under `servers/up-all.sh root`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(servers/up-all.sh root)
SA=.venv/bin/socialarchive
CMIS_PORT=${CMIS_PORT:-8090} MW_PORT=${MW_PORT:-8081}

SERVERS="opencmis mediawiki" servers/up-all.sh start "$ROOT"
API="http://127.0.0.1:$MW_PORT/api.php"
BOTPASS_FILE="$ROOT/mediawiki/botpassword"
echo "== seeding the demo wiki"
.venv/bin/python servers/mediawiki/seed_demo.py "$API" "Admin@connector" "$(cat "$BOTPASS_FILE")"

DEMO="$ROOT/demo"
# A fresh ledger each time: the InMemory repository forgets everything when it restarts, and a
# ledger that remembers a forgotten archive would file nothing. Documents that the repository
# still holds are found by key and recorded ("recovered"), never filed twice.
rm -rf "$DEMO/state"
mkdir -p "$DEMO"
echo admin >"$DEMO/cmis-password"
cat >"$DEMO/socialarchive.toml" <<EOF
# Written by servers/demo.sh. Secrets are files next to this one, never values in it.
[repository]
url = "http://127.0.0.1:$CMIS_PORT/inmemory/browser"
repository_id = "A1"
profile = "opencmis-inmemory"
username = "admin"
password_file = "cmis-password"
base_path = "/socialarchive"

[permissions]
archive_admins = ["admin"]
restricted_readers = ["GROUP_records"]
[permissions.principals]
"group:sysop" = "GROUP_wiki_admins"

[state]
ledger = "state/ledger.sqlite"

[sources.wiki]
type = "mediawiki"
api_url = "$API"
username = "Admin@connector"
password_file = "$BOTPASS_FILE"
EOF
export SOCIALARCHIVE_CONFIG="$DEMO/socialarchive.toml"

echo "== socialarchive check"
$SA check
echo "== socialarchive sync"
rc=0; $SA sync || rc=$?
((rc == 0 || rc == 3)) || { echo "sync failed with exit code $rc" >&2; exit "$rc"; }
echo "== a second sync files nothing"
$SA sync
echo "== what was archived (title, source URL, repository path, object id, version)"
$SA search --source wiki --limit 100
echo "== socialarchive search 'archive'"
$SA search archive
echo
echo "Config: $SOCIALARCHIVE_CONFIG   Repository: http://127.0.0.1:$CMIS_PORT/inmemory/browser/A1/root"
