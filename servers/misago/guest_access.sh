#!/usr/bin/env bash
# Open or close a category to signed-out visitors, the way an administrator narrows a category's
# permissions in Misago: the Guest role gets "Read only" (on) or no access (off). The category is
# made first if it does not exist (members start and reply, moderators moderate, like
# "Engineering"). Prints the category id. Tests use it to change who may read a category without
# touching any thread.
#
#   guest_access.sh NAME on|off [STATE_DIR]      (STATE_DIR: as up.sh; env MISAGO_STATE, MISAGO_VENV)
set -euo pipefail
export PYTHONDONTWRITEBYTECODE=1
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../lib/common.sh"
[[ $# -ge 2 && ($2 == on || $2 == off) ]] || die "usage: guest_access.sh NAME on|off [STATE_DIR]"
STATE=${3:-${MISAGO_STATE:-$(state_root)/misago}}
VERSION=$(sed -n 's/^MISAGO_VERSION=//p' "$HERE/up.sh")
VENV=${MISAGO_VENV:-$(cache_dir)/misago-venv-$VERSION}
[[ -f $STATE/misago_local_settings.py ]] || die "no Misago state in $STATE (run up.sh first)"
CATEGORY_NAME=$1 GUEST_ACCESS=$2 PYTHONPATH=$STATE DJANGO_SETTINGS_MODULE=misago_local_settings \
  "$VENV/bin/python" -m django shell -c "exec(open('$HERE/guest_access.py').read())"
