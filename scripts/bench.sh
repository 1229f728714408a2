#!/usr/bin/env bash
# Benchmarks (figures, not pass/fail): runtime throughput vs the raw client, hot-reload pause, idle RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# `npm run bench -- NAME [args]` runs scripts/bench/NAME.ts alone with its arguments.
if [ $# -gt 0 ]; then
  name=$1
  shift
  exec node --import tsx --conditions=kokex-source "scripts/bench/$name.ts" "$@"
fi
for b in scripts/bench/*.ts; do
  node --import tsx --conditions=kokex-source "$b"
done
