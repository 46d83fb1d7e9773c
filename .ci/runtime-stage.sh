#!/usr/bin/env bash
# Proves what the Dockerfile's runtime stage holds works without a Docker engine: the built output plus
# production dependencies only (npm ci --omit=dev) starts, passes check-config, and serves a request in local mode.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
stage=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$stage"; }
trap cleanup EXIT

[ -f "$root/dist/src/main.js" ] || (cd "$root" && npm run build)
# the files the Dockerfile's runtime stage copies, nothing else
mkdir -p "$stage/dist" "$stage/docker"
cp -r "$root/dist/src" "$stage/dist/src"
cp -r "$root/config" "$root/package.json" "$root/package-lock.json" "$stage/"
cp "$root/docker/healthcheck.js" "$stage/docker/"
cd "$stage"
# the runtime stage's own environment: node must accept the image's NODE_OPTIONS and start with it
export NODE_ENV=production NODE_OPTIONS="$(sed -n 's/^ENV NODE_OPTIONS=//p' "$root/Dockerfile")"
[ -n "$NODE_OPTIONS" ] || { echo "the Dockerfile sets no NODE_OPTIONS"; exit 1; }
echo "node $(node -v), NODE_OPTIONS=$NODE_OPTIONS"
npm ci --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null
[ ! -d node_modules/typescript ] && [ ! -d node_modules/vitest ] || { echo "dev dependencies leaked into the runtime stage"; exit 1; }

node dist/src/main.js --version
node dist/src/main.js check-config --config config/local.yaml >/dev/null

node -e 'require("node:http").createServer((q, s) => s.end("runtime-ok " + (q.headers["x-forwarded-user"] ?? "no-identity"))).listen(0, "127.0.0.1", function () { console.log(this.address().port) })' > upstream.port &
pids+=($!)
for _ in $(seq 1 50); do [ -s upstream.port ] && break; sleep 0.1; done
cat > runtime.yaml <<YAML
mode: local
listen: { host: 127.0.0.1, port: 0 }
ops: { host: 127.0.0.1, port: 0 }
upstream: { url: "http://127.0.0.1:$(cat upstream.port)" }
YAML
node dist/src/main.js start --config runtime.yaml > gatehouse.log 2>&1 &
pids+=($!)
url=""
for _ in $(seq 1 100); do
  url=$(node -e 'for (const l of require("fs").readFileSync("gatehouse.log","utf8").split("\n")) { try { const j = JSON.parse(l); if (j.msg === "gatehouse listening") { console.log(j.url); break } } catch {} }')
  [ -n "$url" ] && break; sleep 0.1
done
[ -n "$url" ] || { cat gatehouse.log; exit 1; }
body=$(node -e 'fetch(process.argv[1] + "/", { headers: { "x-forwarded-user": "mallory" } }).then(r => r.text()).then(t => console.log(t))' "$url")
echo "response: $body"
[ "$body" = "runtime-ok no-identity" ] || { echo "unexpected response"; exit 1; }
ops_port=$(node -e 'for (const l of require("fs").readFileSync("gatehouse.log","utf8").split("\n")) { try { const j = JSON.parse(l); if (j.msg === "gatehouse listening") { console.log(new URL(j.ops).port); break } } catch {} }')
GATEHOUSE_OPS_PORT="$ops_port" node docker/healthcheck.js || { echo "the image's HEALTHCHECK script failed"; exit 1; }
echo "healthcheck: ok"
echo "runtime stage: ok"
