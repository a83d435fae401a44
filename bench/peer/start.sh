#!/usr/bin/env bash
# Latchkey as a peer of the shared load harness (peers/README.md): `latchkey serve`, one Node process,
# SQLite (WAL) through better-sqlite3, argon2id (OWASP parameters) on libuv's thread pool.
# Usage: start.sh PORT   (foreground; binds 127.0.0.1:PORT; starts from a fresh DB for that port)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/common.sh"
need_port "${1:-}"
PORT="$1"
DB="$(db_path "$PORT")"
rm -f "$DB" "$DB-journal" "$DB-wal" "$DB-shm"
cd "$ROOT"
export HOST=127.0.0.1 PORT DATABASE_URL="sqlite:$DB" PUBLIC_URL="http://127.0.0.1:$PORT" LOG_LEVEL="${LOG_LEVEL:-warn}"
# bin/latchkey.js as users start it (npm start): its first line gives node its options.
export PATH="$ROOT/node_modules/.bin:$PATH"
exec "$ROOT/bin/latchkey.js" serve
