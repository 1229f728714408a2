#!/usr/bin/env bash
# Python unit tests, then the ONNX Runtime parity check (random tiny model and the shipped one).
# Uses Debian's interpreter: python3-torch and python3-onnx exist only for /usr/bin/python3.
set -euo pipefail
cd "$(dirname "$0")"
PY=${KOKEX_PYTHON:-/usr/bin/python3}

if ! "$PY" -c 'import torch, onnx, numpy' 2>/dev/null; then
  echo "kronos-py: $PY cannot import torch/onnx/numpy; install the Debian packages: apt-get install -y python3-torch python3-onnx python3-numpy" >&2
  exit 1
fi

# The parity test case inside unittest is skipped here because the block below runs it with
# a clear report (and skip message) of its own.
KOKEX_SKIP_ORT_TEST=1 "$PY" -m unittest discover -s tests -t . "$@"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
parity() { # $1 label, rest: fixture-writer arguments
  local label=$1; shift
  "$PY" -m kronos parity-fixtures --out "$tmp/$label" "$@" >/dev/null
  set +e
  node parity/check.mjs "$tmp/$label" >"$tmp/$label.out" 2>"$tmp/$label.err"
  local rc=$?
  set -e
  if [ $rc -eq 77 ]; then
    echo "kronos-py: SKIPPED ONNX Runtime parity ($label): $(cat "$tmp/$label.out")"
    return 0
  fi
  if [ $rc -ne 0 ]; then
    echo "kronos-py: ONNX Runtime parity FAILED ($label)" >&2
    cat "$tmp/$label.err" "$tmp/$label.out" >&2
    exit 1
  fi
  echo "kronos-py: ONNX Runtime parity OK ($label): $(cat "$tmp/$label.out")"
}
if ! command -v node >/dev/null; then
  echo "kronos-py: SKIPPED ONNX Runtime parity: node is not on PATH"
  exit 0
fi
parity random-tiny
if [ -f shipped/card.json ]; then
  parity shipped --run shipped --onnx shipped
fi
