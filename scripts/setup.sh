#!/usr/bin/env bash
# Installs what KOKEX needs on a fresh Debian or Ubuntu machine: npm packages, nats-server, and
# (with --python) Debian's PyTorch and ONNX for the Kronos training tests. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

want_python=0
for arg in "$@"; do
  case "$arg" in
    --python) want_python=1 ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "KOKEX needs Node.js 20.19 or newer (found: $(node -v 2>/dev/null || echo none))." >&2
  exit 1
fi

apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "Missing $*; install it with your package manager (this script knows apt only)." >&2
    echo "nats-server: https://github.com/nats-io/nats-server/releases" >&2
    exit 1
  fi
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "installing $* with apt-get…"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

if ! command -v nats-server >/dev/null 2>&1; then
  apt_install nats-server
fi

if [ "$want_python" -eq 1 ] && ! /usr/bin/python3 -c 'import torch, onnx, numpy' >/dev/null 2>&1; then
  apt_install python3-torch python3-onnx python3-numpy
fi

# The test suite also drives Debian's Chromium (dashboard tests, never a downloaded browser) and
# renders the Kubernetes overlays with `kubectl kustomize` from Debian's kubernetes-client.
if [ "$want_python" -eq 1 ]; then
  missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
  if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
fi

# onnxruntime-node's post-install would try to download CUDA binaries and roll the install back.
export ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip
# `npm ci` refuses turbo's lock file on this registry (see docs/operations.md); install keeps it.
npm install --no-audit --no-fund --loglevel=error
