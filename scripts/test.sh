#!/usr/bin/env bash
# Every test: typecheck, lint, the TypeScript suites (each integration suite on its own real
# nats-server), and the Python Kronos suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --python
echo "== typecheck"
npx tsc -b
echo "== lint"
npx biome lint .
echo "== vitest"
npx vitest run
if [ -f models/kronos/test.sh ]; then
  echo "== kronos (python)"
  bash models/kronos/test.sh
fi
