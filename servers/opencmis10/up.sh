#!/usr/bin/env bash
# OpenCMIS InMemory with our CMIS 1.0 type loaded at start: the test server of the CMIS 1.0 mode
# (profile opencmis-inmemory-cmis10; tests/e2e/test_cmis10_mode.py via SA_TEST_CMIS10_URL).
# It is servers/opencmis/up.sh with CMIS_TYPES=docker/cmis10/socialarchive-types.xml (the file
# `socialarchive docs cmis10-type` writes), port $CMIS10_PORT (default 8091) and state dir
# <state root>/opencmis10, so it never touches the 1.1 server's state. Same commands:
#   up.sh [start] [PORT] [STATE_DIR] | stop|reset|status [STATE_DIR] | pkgs
# Browser binding .../inmemory/browser; CMIS 1.0 AtomPub .../inmemory/atom.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/common.sh"
case "${1:-}" in -h|--help) usage; exit 0 ;; esac
export CMIS_TYPES=${CMIS_TYPES:-$(cd "$HERE/../.." && pwd)/docker/cmis10/socialarchive-types.xml}
export CMIS_PORT=${CMIS10_PORT:-8091}
CMIS_STATE=$(state_root)/opencmis10
export CMIS_STATE
exec "$HERE/../opencmis/up.sh" "$@"
