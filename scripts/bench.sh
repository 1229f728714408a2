#!/usr/bin/env bash
# Benchmarks (figures, not pass/fail): runtime throughput vs the raw client, hot-reload pause, idle RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
for b in scripts/bench/*.ts; do
  node --import tsx --conditions=kokex-source "$b"
done
