#!/usr/bin/env bash
# Performs deploy/docker/Dockerfile's steps without a Docker engine, so a broken step is caught:
#  1. copies the repository into a clean temporary directory the way .dockerignore allows
#     (tar --exclude-from reads the same **/ patterns), and checks that dependencies, stores and
#     secrets stayed out;
#  2. runs the Dockerfile's own `RUN npm install …` line there (read from the Dockerfile, with the
#     build stage's ENV), then checks no dev dependency was installed;
#  3. starts a nats-server with JetStream, runs the image's ENTRYPOINT (read from the Dockerfile)
#     with `--actors clock` and the runtime's metrics port, and waits for /healthz and /readyz;
#  4. checks /metrics, stops the host with SIGTERM (as `docker stop` does) and expects a clean exit.
# Usage: deploy/docker/check.sh [--keep]   (--keep leaves the temporary directory for a look)
# Needs: node 20, npm, nats-server, curl, tar. Prints "check.sh: ok" at the end.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
dockerfile="$root/deploy/docker/Dockerfile"
keep=0
[ "${1:-}" = "--keep" ] && keep=1

tmp="$(mktemp -d "${TMPDIR:-/tmp}/kokex-image-XXXXXX")"
nats_pid=""
host_pid=""
cleanup() {
  [ -n "$host_pid" ] && kill "$host_pid" 2>/dev/null || true
  [ -n "$nats_pid" ] && kill "$nats_pid" 2>/dev/null || true
  if [ "$keep" -eq 1 ]; then echo "check.sh: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
fail() {
  echo "check.sh: FAILED: $*" >&2
  [ -f "$tmp/host.log" ] && { echo "--- host output" >&2; tail -n 40 "$tmp/host.log" >&2; }
  exit 1
}
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

# 1. The build context.
app="$tmp/app"
mkdir -p "$app"
tar -C "$root" --exclude-from="$root/.dockerignore" -cf - . | tar -xf - -C "$app"
for banned in node_modules .git .kokex deploy/nats .env; do
  [ -e "$app/$banned" ] && fail ".dockerignore let $banned into the build context"
done
if find "$app" -name node_modules -o -name '*.tsbuildinfo' | grep -q .; then fail "node_modules or build info in the build context"; fi
echo "check.sh: build context $(du -sh "$app" | cut -f1) (copied as .dockerignore allows)"

# 2. The build stage: its ENV lines and its npm install, as written in the Dockerfile.
install_line="$(grep -m1 -E '^RUN npm install' "$dockerfile" | sed -E 's/^RUN //')"
[ -n "$install_line" ] || fail "no 'RUN npm install' line in the Dockerfile"
build_env="$(awk '/^FROM .* AS build/{b=1;next} /^FROM /{b=0} b && /^ENV /{sub(/^ENV /,""); print}' "$dockerfile")"
echo "check.sh: build: $build_env $install_line"
# A warm npm cache makes this fast; it installs the same tree.
(cd "$app" && env $build_env npm_config_prefer_offline=true bash -c "$install_line") >"$tmp/install.log" 2>&1 ||
  { tail -n 30 "$tmp/install.log" >&2; fail "npm install failed"; }
for dev in vitest typescript @biomejs/biome turbo kubernetes-models; do
  [ -e "$app/node_modules/$dev" ] && fail "dev dependency $dev installed in the production image"
done
echo "check.sh: production dependencies installed ($(du -sh "$app/node_modules" | cut -f1))"

# 3. The runtime stage: its entrypoint, against a real nats-server.
entrypoint="$(grep -m1 -E '^ENTRYPOINT ' "$dockerfile" | sed -E 's/^ENTRYPOINT //')"
mapfile -t entry < <(node -e 'for (const a of JSON.parse(process.argv[1])) console.log(a)' "$entrypoint")
[ "${#entry[@]}" -gt 0 ] || fail "ENTRYPOINT is not an exec-form JSON array"
nats_port="$(free_port)"
nats-server -a 127.0.0.1 -p "$nats_port" -js -sd "$tmp/js" >"$tmp/nats.log" 2>&1 &
nats_pid=$!
metrics_port="$(free_port)"
for _ in $(seq 1 50); do (echo >/dev/tcp/127.0.0.1/"$nats_port") 2>/dev/null && break; sleep 0.1; done
# The plans Job's command (deploy/k8s/base/plans.yaml, compose `plans`): provision as admin, apply.
run_env=(env -i PATH="$PATH" HOME="$tmp" NODE_ENV=production KOKEX_HOME="$tmp/home" NATS_URL="nats://127.0.0.1:$nats_port")
(cd "$app" && "${run_env[@]}" node deploy/bin/provision.mjs && "${run_env[@]}" node core/bin/kokex.mjs plan apply plans/demo.yaml) >"$tmp/plans.log" 2>&1 ||
  { cat "$tmp/plans.log" >&2; fail "provision + plan apply failed"; }
echo "check.sh: plans job: $(tr '\n' ' ' <"$tmp/plans.log")"
echo "check.sh: run: ${entry[*]} --actors clock --quiet (nats 127.0.0.1:$nats_port, metrics 127.0.0.1:$metrics_port)"
(
  cd "$app" &&
    exec "${run_env[@]}" KOKEX_LOG_FORMAT=json LOG_LEVEL=info KOKEX_METRICS_PORT="$metrics_port" KOKEX_METRICS_BIND=127.0.0.1 \
      "${entry[@]}" --actors clock --quiet
) >"$tmp/host.log" 2>&1 &
host_pid=$!

base="http://127.0.0.1:$metrics_port"
ready=0
for _ in $(seq 1 120); do
  kill -0 "$host_pid" 2>/dev/null || fail "the host exited before it was ready"
  if curl -sf "$base/readyz" >"$tmp/readyz.json" 2>/dev/null; then ready=1; break; fi
  sleep 0.5
done
[ "$ready" -eq 1 ] || fail "/readyz never answered 200"
curl -sf "$base/healthz" >"$tmp/healthz.json" || fail "/healthz did not answer 200"
grep -q '"ok":true' "$tmp/healthz.json" || fail "/healthz: $(cat "$tmp/healthz.json")"
echo "check.sh: /healthz $(cat "$tmp/healthz.json")"
curl -sf "$base/metrics" >"$tmp/metrics.txt" || fail "/metrics did not answer"
grep -q '^kokex_actor_instances{kind="clock",state="running"} 1$' "$tmp/metrics.txt" || fail "/metrics lacks the running clock"
grep -q '^kokex_process_resident_memory_bytes ' "$tmp/metrics.txt" || fail "/metrics lacks process metrics"
echo "check.sh: /metrics $(grep -c '^# TYPE ' "$tmp/metrics.txt") families, rss $(awk '/^kokex_process_resident_memory_bytes /{printf "%.0f MiB", $2/1048576}' "$tmp/metrics.txt")"

# 4. docker stop sends SIGTERM: the host drains and exits 0.
kill -TERM "$host_pid"
code=0
wait "$host_pid" || code=$?
host_pid=""
[ "$code" -eq 0 ] || fail "the host exited $code after SIGTERM"
echo "check.sh: ok"
