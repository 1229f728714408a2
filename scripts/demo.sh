#!/usr/bin/env bash
# The main job on embedded defaults: a local nats-server, the demo plan, every actor in one process.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node core/bin/kokex.mjs up plans/demo.yaml "$@"
