#!/usr/bin/env bash
# Create the bench user (staff, fixed UUID: peer.json's `me` path names it) + EXTRA_USERS (default
# 1000, sharing one argon2id hash) in the DB of the Latchkey peer on PORT. Safe to repeat.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/common.sh"
need_port "${1:-}"
DB="$(db_path "$1")"
[ -f "$DB" ] || { echo "no DB at $DB: is the peer started on port $1?" >&2; exit 1; }
cd "$ROOT"
exec "$NODE" "$HERE/seed.ts" "$DB" "${EXTRA_USERS:-1000}" "http://127.0.0.1:$1"
