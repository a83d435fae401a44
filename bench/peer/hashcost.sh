#!/usr/bin/env bash
# Print "MS_PER_HASH details..." for Latchkey's password hasher (argon2id, one hash at a time).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/common.sh"
cd "$ROOT"
# @node-rs/argon2 hashes on libuv's thread pool; one thread, and taskset (bench.sh) pins it to one core.
export UV_THREADPOOL_SIZE=1
exec "$NODE" "$HERE/hashcost.ts" "${1:-10}"
