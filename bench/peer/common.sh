# Shared by start.sh, seed.sh and hashcost.sh. Source it; do not execute it.
# The project is two levels up from this directory; Node 24 is the project's own (node_modules/.bin),
# which runs the TypeScript sources directly.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NODE="$ROOT/node_modules/.bin/node"
[ -x "$NODE" ] || { echo "$NODE is missing: run npm install in $ROOT first" >&2; exit 1; }

need_port() {
  case "${1:-}" in
    ''|*[!0-9]*) echo "usage: $0 PORT" >&2; exit 2 ;;
  esac
}

# db_path PORT : the SQLite file of the server on PORT, under $PEERS_DATA_DIR (set by bench.sh to a
# throw-away directory) or, by hand, under the system's temporary directory.
db_path() {
  local d="${PEERS_DATA_DIR:-${TMPDIR:-/tmp}/latchkey-peer-data}/latchkey"
  mkdir -p "$d" && echo "$d/db-$1.sqlite3"
}
